"""The SemEval-2025 Task 10 label sets: entity roles (subtask 1) and the narrative tree (subtask 2).

Labels are spelled exactly as in the task's files, so what unspin writes can be scored by any scorer of the task.

* Roles: three main roles, each with its fine roles; a mention carries one main role and one or more fine roles
  of that main role.
* Narratives: two domains, Ukraine–Russia war (``URW: ...``) and climate change (``CC: ...``). A subnarrative is
  spelled ``<narrative>: <name>``; most narratives have a catch-all ``<narrative>: Other``. The label ``Other``
  stands for an article that serves none of the narratives, at both levels (it is in both taxonomy files).
"""

from __future__ import annotations

# --------------------------------------------------------------------------------------------- roles

#: main role -> its fine roles, in the order the task's guidelines list them
ROLE_TREE: dict[str, tuple[str, ...]] = {
    "Protagonist": ("Guardian", "Martyr", "Peacemaker", "Rebel", "Underdog", "Virtuous"),
    "Antagonist": (
        "Instigator",
        "Conspirator",
        "Tyrant",
        "Foreign Adversary",
        "Traitor",
        "Spy",
        "Saboteur",
        "Corrupt",
        "Incompetent",
        "Terrorist",
        "Deceiver",
        "Bigot",
    ),
    "Innocent": ("Forgotten", "Exploited", "Victim", "Scapegoat"),
}

MAIN_ROLES: tuple[str, ...] = tuple(ROLE_TREE)
FINE_ROLES: tuple[str, ...] = tuple(fine for fines in ROLE_TREE.values() for fine in fines)
_MAIN_OF_FINE: dict[str, str] = {fine: main for main, fines in ROLE_TREE.items() for fine in fines}


def main_role_of(fine: str) -> str:
    """The main role a fine role belongs to (``"Victim"`` -> ``"Innocent"``); KeyError for an unknown one."""
    try:
        return _MAIN_OF_FINE[fine]
    except KeyError:
        raise KeyError(f"{fine!r} is not a fine role of the SemEval-2025 taxonomy") from None


# --------------------------------------------------------------------------------------------- narratives

OTHER = "Other"

#: narrative -> the names of its subnarratives (the part after "<narrative>: ")
NARRATIVE_TREE: dict[str, tuple[str, ...]] = {
    "CC: Amplifying Climate Fears": (
        "Amplifying existing fears of global warming",
        "Doomsday scenarios for humans",
        "Earth will be uninhabitable soon",
        OTHER,
        "Whatever we do it is already too late",
    ),
    "CC: Climate change is beneficial": ("CO2 is beneficial",),
    "CC: Controversy about green technologies": (
        OTHER,
        "Renewable energy is costly",
        "Renewable energy is dangerous",
        "Renewable energy is unreliable",
    ),
    "CC: Criticism of climate movement": (
        "Ad hominem attacks on key activists",
        "Climate movement is alarmist",
        "Climate movement is corrupt",
        OTHER,
    ),
    "CC: Criticism of climate policies": (
        "Climate policies are ineffective",
        "Climate policies are only for profit",
        "Climate policies have negative impact on the economy",
        OTHER,
    ),
    "CC: Criticism of institutions and authorities": (
        "Criticism of international entities",
        "Criticism of national governments",
        "Criticism of political organizations and figures",
        "Criticism of the EU",
        OTHER,
    ),
    "CC: Downplaying climate change": (
        "CO2 concentrations are too small to have an impact",
        "Climate cycles are natural",
        "Human activities do not impact climate change",
        "Humans and nature will adapt to the changes",
        "Ice is not melting",
        OTHER,
        "Temperature increase does not have significant impact",
        "Weather suggests the trend is global cooling",
    ),
    "CC: Green policies are geopolitical instruments": ("Green activities are a form of neo-colonialism", OTHER),
    "CC: Hidden plots by secret schemes of powerful groups": (
        "Blaming global elites",
        "Climate agenda has hidden motives",
        OTHER,
    ),
    "CC: Questioning the measurements and science": (
        "Data shows no temperature increase",
        "Greenhouse effect/carbon dioxide do not drive climate change",
        "Methodologies/metrics used are unreliable/faulty",
        OTHER,
        "Scientific community is unreliable",
    ),
    OTHER: (),
    "URW: Amplifying war-related fears": (
        "By continuing the war we risk WWIII",
        "NATO should/will directly intervene",
        OTHER,
        "Russia will also attack other countries",
        "There is a real possibility that nuclear weapons will be employed",
    ),
    "URW: Blaming the war on others rather than the invader": (
        OTHER,
        "The West are the aggressors",
        "Ukraine is the aggressor",
    ),
    "URW: Discrediting Ukraine": (
        "Discrediting Ukrainian government and officials and policies",
        "Discrediting Ukrainian military",
        "Discrediting Ukrainian nation and society",
        OTHER,
        "Rewriting Ukraine\u2019s history",  # a typographic apostrophe, as in the task's files
        "Situation in Ukraine is hopeless",
        "Ukraine is a hub for criminal activities",
        "Ukraine is a puppet of the West",
        "Ukraine is associated with nazism",
    ),
    "URW: Discrediting the West, Diplomacy": (
        "Diplomacy does/will not work",
        OTHER,
        "The EU is divided",
        "The West does not care about Ukraine, only about its interests",
        "The West is overreacting",
        "The West is weak",
        "West is tired of Ukraine",
    ),
    "URW: Distrust towards Media": (
        OTHER,
        "Ukrainian media cannot be trusted",
        "Western media is an instrument of propaganda",
    ),
    "URW: Hidden plots by secret schemes of powerful groups": (OTHER,),
    "URW: Negative Consequences for the West": (
        OTHER,
        "Sanctions imposed by Western countries will backfire",
        "The conflict will increase the Ukrainian refugee flows to Europe",
    ),
    "URW: Overpraising the West": (
        "NATO will destroy Russia",
        OTHER,
        "The West belongs in the right side of history",
        "The West has the strongest international support",
    ),
    "URW: Praise of Russia": (
        OTHER,
        "Praise of Russian President Vladimir Putin",
        "Praise of Russian military might",
        "Russia has international support from a number of countries and people",
        "Russia is a guarantor of peace and prosperity",
        "Russian invasion has strong national support",
    ),
    "URW: Russia is the Victim": (
        OTHER,
        "Russia actions in Ukraine are only self-defence",
        "The West is russophobic",
        "UA is anti-RU extremists",
    ),
    "URW: Speculating war outcomes": (
        OTHER,
        "Russian army is collapsing",
        "Russian army will lose all the occupied territories",
        "Ukrainian army is collapsing",
    ),
}

#: the 21 narratives of the two domains and ``Other`` (22 labels, sorted as in the task's file)
NARRATIVES: tuple[str, ...] = tuple(NARRATIVE_TREE)

_PARENT: dict[str, str] = {OTHER: OTHER}
for _narrative, _names in NARRATIVE_TREE.items():
    for _name in _names:
        _PARENT[f"{_narrative}: {_name}"] = _narrative

#: the 90 subnarratives and ``Other`` (91 labels, sorted as in the task's file)
SUBNARRATIVES: tuple[str, ...] = tuple(sorted(_PARENT))

DOMAINS: tuple[str, ...] = ("URW", "CC")


def parent_of(subnarrative: str) -> str:
    """The narrative a subnarrative belongs to (``Other`` -> ``Other``); KeyError for an unknown label."""
    try:
        return _PARENT[subnarrative]
    except KeyError:
        raise KeyError(f"{subnarrative!r} is not a subnarrative of the SemEval-2025 taxonomy") from None


def domain_of(label: str) -> str | None:
    """``"URW"`` or ``"CC"`` for a narrative or subnarrative of that domain; None for ``Other`` or any other text."""
    domain, sep, _ = label.partition(": ")
    return domain if sep and domain in DOMAINS and (label in _PARENT or label in NARRATIVE_TREE) else None


def subnarratives_of(narrative: str) -> tuple[str, ...]:
    """The subnarratives of a narrative (empty for ``Other``); KeyError for an unknown narrative."""
    try:
        return tuple(f"{narrative}: {name}" for name in NARRATIVE_TREE[narrative])
    except KeyError:
        raise KeyError(f"{narrative!r} is not a narrative of the SemEval-2025 taxonomy") from None
