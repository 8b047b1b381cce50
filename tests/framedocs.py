"""A small corpus of hand-made articles whose framing (entities with roles, narratives) is filled in by
hand, as the framing stage fills `Document.entities` and `Document.narratives`. Synthetic text only.

    doc  outlet          published    narratives (score)                 entities (main role, fine role, mentions)
    d1   north.example   2024-01-05   BLAME 0.8 and 0.6 (two subnarr.)   Ministry of Ports (Antagonist, Incompetent, 2)
                                                                           Harbour Board (Protagonist, Guardian, 1)
                                                                           dock workers (Innocent, Victim, 1)
    d2   north.example   2024-01-20   BLAME 0.4, CRITICS 0.5             the Ministry of Ports (Antagonist, Corrupt, 3)
                                                                           Harbour Board (Antagonist, Incompetent, 1)
    d3   south.example   2024-01-11   Other 0.9                          ministry of ports (Protagonist, Guardian, 1)
                                                                           a reporter (no role, 1)
    d4   south.example   2024-02-02   CRITICS 0.7                        none found (an empty list)
    d5   south.example   2024-02-14   not analysed for framing
    d6   north.example   2024-02-28   not analysed for framing
"""

from __future__ import annotations

from typing import Any

from unspin.document import Document

BLAME = "URW: Blaming the war on others rather than the invader"
BLAME_SUB = BLAME + ": Ukraine is the aggressor"
BLAME_OTHER = BLAME + ": Other"
CRITICS = "CC: Criticism of institutions and authorities"
CRITICS_SUB = CRITICS + ": Criticism of national governments"

TEXTS = {
    "d1": "The Harbour Board said the Ministry of Ports let the quay crumble for years. "
    "The Ministry of Ports denied any neglect. Dock workers lost a month of wages while the quay was shut.",
    "d2": "Records show the Ministry of Ports paid twice for the same crane. The Ministry of Ports spent "
    "the money elsewhere, auditors say, and the Ministry of Ports has not answered. The Harbour Board "
    "signed the papers without reading them.",
    "d3": "The ministry of ports reopened the quay on Thursday, a reporter at the scene said.",
    "d4": "Ferry timetables change next week; the winter crossing leaves at seven in the morning.",
    "d5": "The fish market will stay open late on Fridays through the spring, the stallholders agreed.",
    "d6": "A new lighthouse keeper starts work on the north pier at the beginning of March.",
}
PLACES = {
    "d1": ("north.example", "2024-01-05"),
    "d2": ("north.example", "2024-01-20"),
    "d3": ("south.example", "2024-01-11"),
    "d4": ("south.example", "2024-02-02"),
    "d5": ("south.example", "2024-02-14"),
    "d6": ("north.example", "2024-02-28"),
}


def _mentions(text: str, name: str) -> list[dict[str, int]]:
    out, at = [], text.find(name)
    while at >= 0:
        out.append({"start": at, "end": at + len(name)})
        at = text.find(name, at + 1)
    return out


def entity(text: str, name: str, main_role: str | None, roles: dict[str, float], score: float,
           spelled: str | None = None) -> dict[str, Any]:  # fmt: skip
    """An entity as the framing stage gives it: every mention of `spelled` (default: the name) in text."""
    mentions = _mentions(text, spelled or name)
    assert mentions, name
    return {"name": name, "main_role": main_role, "roles": [{"role": r, "score": s} for r, s in roles.items()],
            "score": score, "mentions": mentions}  # fmt: skip


def narrative(text: str, label: str, sub: str | None, score: float, sentence: str) -> dict[str, Any]:
    start = text.index(sentence)
    return {"narrative": label, "subnarrative": sub, "score": score,
            "evidence": [{"start": start, "end": start + len(sentence)}]}  # fmt: skip


def framing(key: str) -> tuple[list[dict[str, Any]] | None, list[dict[str, Any]] | None]:
    t = TEXTS[key]
    if key == "d1":
        return [
            entity(t, "Ministry of Ports", "Antagonist", {"Incompetent": 0.7, "Corrupt": 0.2}, 0.82),
            entity(t, "Harbour Board", "Protagonist", {"Guardian": 0.6}, 0.55),
            entity(t, "dock workers", "Innocent", {"Victim": 0.8, "Exploited": 0.3}, 0.7, spelled="Dock workers"),
        ], [
            narrative(t, BLAME, BLAME_SUB, 0.8, "The Harbour Board said"),
            narrative(t, BLAME, BLAME_OTHER, 0.6, "The Ministry of Ports denied any neglect."),
        ]
    if key == "d2":
        return [
            entity(t, "the Ministry of Ports", "Antagonist", {"Corrupt": 0.9, "Incompetent": 0.4}, 0.9,
                   spelled="Ministry of Ports"),
            entity(t, "Harbour Board", "Antagonist", {"Incompetent": 0.5}, 0.5),
        ], [
            narrative(t, BLAME, BLAME_SUB, 0.4, "Records show"),
            narrative(t, CRITICS, CRITICS_SUB, 0.5, "auditors say"),
        ]  # fmt: skip
    if key == "d3":
        return [
            entity(t, "ministry of ports", "Protagonist", {"Guardian": 0.65}, 0.6),
            entity(t, "a reporter", None, {}, 0.1),
        ], [narrative(t, "Other", "Other", 0.9, t)]
    if key == "d4":
        return [], [narrative(t, CRITICS, None, 0.7, "Ferry timetables change next week")]
    return None, None


def framed_corpus() -> list[Document]:
    docs = []
    for key, text in TEXTS.items():
        outlet, published = PLACES[key]
        entities, narratives = framing(key)
        docs.append(Document(text=text, id=key, source=f"{key}.txt", title=f"Article {key}", outlet=outlet,
                             published=published, entities=entities, narratives=narratives))  # fmt: skip
    return docs
