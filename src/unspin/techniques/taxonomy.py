"""The 14 persuasion techniques of the Propaganda Techniques Corpus, explained in unspin's own words.

Each technique has a stable id (used in our JSON and the web app), the label spelling of the PTC/SemEval
files, a display name, a highlight colour, and three short texts for readers: what it is, why it works on
people, and an invented example sentence.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Technique:
    id: str
    ptc_label: str
    name: str
    colour: str
    definition: str
    why_it_persuades: str
    example: str

    def explanation(self) -> str:
        return f"{self.name}: {self.definition} {self.why_it_persuades}"


TECHNIQUES: tuple[Technique, ...] = (
    Technique(
        id="appeal_to_authority",
        ptc_label="Appeal_to_Authority",
        name="Appeal to authority",
        colour="#1f77b4",
        definition=(
            "A claim is presented as true mainly because some important person, expert or institution "
            "said it, not because of evidence shown to the reader."
        ),
        why_it_persuades=(
            "Most readers cannot check every claim, so they lean on trusted names; borrowing that trust "
            "lets a claim skip the need for proof."
        ),
        example="As one leading professor told us, the new tax will obviously ruin every small shop in town.",
    ),
    Technique(
        id="appeal_to_fear",
        ptc_label="Appeal_to_fear-prejudice",
        name="Appeal to fear or prejudice",
        colour="#d62728",
        definition=(
            "The text tries to win support by making readers afraid of something, or by playing on "
            "dislike of a group, instead of arguing the case."
        ),
        why_it_persuades=(
            "Fear narrows attention and pushes people to act fast and side with whoever promises "
            "safety; existing prejudice makes a threat feel believable without evidence."
        ),
        example="If we open the border even a little, our streets will never be safe for our children again.",
    ),
    Technique(
        id="bandwagon_hitler",
        ptc_label="Bandwagon,Reductio_ad_hitlerum",
        name="Bandwagon / guilt by association",
        colour="#8c564b",
        definition=(
            "Either an idea is pushed because 'everyone' already backs it, or an idea is rejected because "
            "a hated person or group is said to back it."
        ),
        why_it_persuades=(
            "People like to belong to the majority and to keep away from villains, so who holds a view "
            "starts to matter more than whether the view is right."
        ),
        example="Millions of sensible families have already switched, so why are you still waiting?",
    ),
    Technique(
        id="black_and_white",
        ptc_label="Black-and-White_Fallacy",
        name="False dilemma",
        colour="#7f7f7f",
        definition=(
            "Only two options are offered, as if nothing else were possible, often one obviously bad and "
            "the one the writer wants."
        ),
        why_it_persuades=(
            "Hiding the middle ground makes the preferred option look unavoidable and turns doubters into "
            "supporters of the bad alternative."
        ),
        example="Either you back this plan in full, or you want the city to go bankrupt.",
    ),
    Technique(
        id="causal_oversimplification",
        ptc_label="Causal_Oversimplification",
        name="Causal oversimplification",
        colour="#bcbd22",
        definition=(
            "A complicated event is blamed on one single cause, leaving out the other factors that played a part."
        ),
        why_it_persuades=(
            "A single cause is easy to remember and gives a clear target for anger or a simple fix, which "
            "feels more satisfying than a tangled explanation."
        ),
        example="Prices went up last winter for one reason only: the mayor's new bike lanes.",
    ),
    Technique(
        id="doubt",
        ptc_label="Doubt",
        name="Casting doubt",
        colour="#9467bd",
        definition=(
            "The text questions whether a person, group or source can be trusted, without showing a real "
            "reason to distrust them."
        ),
        why_it_persuades=(
            "A question or hint is hard to disprove and sticks in the mind; once trust is shaken, the "
            "target's later statements are heard with suspicion."
        ),
        example="Can we really believe a minister who suddenly remembers the facts only after the election?",
    ),
    Technique(
        id="exaggeration_minimisation",
        ptc_label="Exaggeration,Minimisation",
        name="Exaggeration or minimisation",
        colour="#ff7f0e",
        definition=(
            "Something is made to look much bigger, worse or better than it is, or a serious matter is "
            "played down as trivial."
        ),
        why_it_persuades=(
            "Readers anchor on the size they are told; blowing a thing up or shrinking it changes how "
            "much they care before they weigh any facts."
        ),
        example="The protest was just a handful of bored students; nobody in the country cares about it.",
    ),
    Technique(
        id="flag_waving",
        ptc_label="Flag-Waving",
        name="Flag-waving",
        colour="#17becf",
        definition=(
            "Support is sought by appealing to national pride or to the identity of a group, as if backing "
            "the idea were what a loyal member does."
        ),
        why_it_persuades=(
            "Group loyalty is a strong feeling; tying an idea to it makes disagreement feel like betrayal "
            "of one's own people."
        ),
        example="Every true patriot who loves this great nation will stand behind our brave decision.",
    ),
    Technique(
        id="loaded_language",
        ptc_label="Loaded_Language",
        name="Loaded language",
        colour="#e377c2",
        definition=(
            "Words or phrases with strong emotional charge are used to colour how the reader feels about "
            "something, where neutral words would say the same thing."
        ),
        why_it_persuades=(
            "Emotional words trigger a feeling before any thinking happens, and the feeling then shapes "
            "how the facts are read."
        ),
        example="The council's reckless scheme will devastate our quiet, peaceful neighbourhood.",
    ),
    Technique(
        id="name_calling",
        ptc_label="Name_Calling,Labeling",
        name="Name calling / labelling",
        colour="#2ca02c",
        definition=(
            "A person or group is given a label, insulting or flattering, that tells the reader what to "
            "think of them instead of describing what they did."
        ),
        why_it_persuades=(
            "A short label is easy to repeat and replaces judgement: once someone is 'a traitor' or "
            "'a hero', their actions are read through that word."
        ),
        example="The usual gang of globalist puppets is once again lecturing ordinary workers.",
    ),
    Technique(
        id="repetition",
        ptc_label="Repetition",
        name="Repetition",
        colour="#aec7e8",
        definition=("The same word, phrase or message is said again and again in the text so that it sticks."),
        why_it_persuades=(
            "Things heard many times feel familiar, and familiar things feel true; repetition also keeps "
            "the reader's attention on the writer's chosen frame."
        ),
        example="This is a betrayal. A betrayal of our workers, a betrayal of our towns, a betrayal of all.",
    ),
    Technique(
        id="slogans",
        ptc_label="Slogans",
        name="Slogan",
        colour="#ffbb78",
        definition=(
            "A short, catchy phrase stands in for an argument, often as a rallying cry or a label for a whole position."
        ),
        why_it_persuades=(
            "Slogans are easy to remember and chant, they carry emotion, and they make a complicated "
            "position sound simple and settled."
        ),
        example="Our town, our rules, our future!",
    ),
    Technique(
        id="thought_terminating_cliche",
        ptc_label="Thought-terminating_Cliches",
        name="Thought-stopping cliché",
        colour="#c5b0d5",
        definition=(
            "A stock phrase is used to close a discussion and discourage further thought, as if it settled "
            "the question."
        ),
        why_it_persuades=(
            "The phrase sounds like common sense, so questioning it feels pointless; it ends the argument "
            "before the reader looks at the details."
        ),
        example="Rules are rules, and that is all there is to say about the evictions.",
    ),
    Technique(
        id="whataboutism_strawman_red_herring",
        ptc_label="Whataboutism,Straw_Men,Red_Herring",
        name="Whataboutism, straw man or red herring",
        colour="#98df8a",
        definition=(
            "Instead of answering a criticism, the text points at someone else's faults, attacks a twisted "
            "version of the opposing view, or changes the subject."
        ),
        why_it_persuades=(
            "It moves attention away from the weak point; an opponent's distorted or unrelated failings "
            "are easier to attack than the actual argument."
        ),
        example="Critics complain about our hospital queues, but what about the queues in their own city?",
    ),
)

# The colour of a label outside the taxonomy (a span from another model or an older record).
UNKNOWN_COLOUR = "#8c8c8c"

BY_ID: dict[str, Technique] = {t.id: t for t in TECHNIQUES}
BY_LABEL: dict[str, Technique] = {t.ptc_label: t for t in TECHNIQUES}


def technique(key: str) -> Technique:
    """Look a technique up by its id or its PTC label."""
    if key in BY_ID:
        return BY_ID[key]
    if key in BY_LABEL:
        return BY_LABEL[key]
    raise KeyError(f"unknown technique {key!r}")
