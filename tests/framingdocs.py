"""A made-up article with its cast and narratives filled by hand, as the framing stage will fill them.

`with_framing` is an analyser for the web tests: the technique spans of `webdocs.with_known_spans` (plus one
span over two mentions and an evidence sentence, so the layers overlap), then `entities` and `narratives` found
by phrase in the analysed text, so the offsets are right for text and HTML input alike.
"""

from __future__ import annotations

import re
from typing import Any

from webdocs import with_known_spans

from unspin.document import Document, Span

FRAMED = (
    "Harbour talks collapse as Northland walks away\n\n"
    "The corrupt elites in Northland have once again betrayed every family on the coast, said Mara Quill, "
    "the Westmark envoy who spent a year on the harbour talks. "
    "Northland's ministry accused Westmark of sabotage and refused to sign. "
    "Quill said Westmark still wants a fair deal for both shores.\n\n"
    "Fishermen in Port Avel say they are the ones paying for the quarrel: no boat has left the quay since March. "
    "Our glorious nation will never bow, a Northland minister replied. "
    "The West only cares about its own interests, one trader in Port Avel said.\n\n"
    "\U0001f6a2 Talks may resume in the spring, said an official in Westmark."
)

# The same article as a web page: entities and a tag inside a sentence, so the analysed text and the HTML differ.
FRAMED_HTML = (
    "<!doctype html><html><head><title>Harbour talks collapse as Northland walks away</title></head><body>"
    "<article><h1>Harbour talks collapse as Northland walks away</h1>"
    + "".join(
        f"<p>{paragraph.replace('Mara Quill', '<b>Mara</b> Quill')}</p>" for paragraph in FRAMED.split("\n\n")[1:]
    )
    + "</article></body></html>"
)

OVERLAPPING_SPAN = ("Northland's ministry accused Westmark of sabotage", "Loaded_Language", 0.6)
EVIDENCE_WEST = "The West only cares about its own interests, one trader in Port Avel said."
EVIDENCE_SABOTAGE = "Northland's ministry accused Westmark of sabotage and refused to sign."
EVIDENCE_FAIR_DEAL = "Quill said Westmark still wants a fair deal for both shores."
DIPLOMACY = "URW: Discrediting the West, Diplomacy"
NOT_CARING = DIPLOMACY + ": The West does not care about Ukraine, only about its interests"


def occurrences(text: str, phrase: str) -> list[dict[str, int]]:
    """Every whole-word occurrence of `phrase` in `text`, as `{start, end}`."""
    return [{"start": m.start(), "end": m.end()} for m in re.finditer(rf"\b{re.escape(phrase)}\b", text)]


def one(text: str, phrase: str) -> dict[str, int]:
    start = text.index(phrase)
    return {"start": start, "end": start + len(phrase)}


def framing_of(text: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The hand-made cast and narratives of FRAMED, at the offsets where `text` holds them."""
    quill = [one(text, "Mara Quill"), one(text, EVIDENCE_FAIR_DEAL)]
    quill[1] = {"start": quill[1]["start"], "end": quill[1]["start"] + len("Quill")}
    entities = [
        {
            "name": "Westmark",
            "main_role": None,
            "roles": [],
            "score": 0.2,
            "mentions": occurrences(text, "Westmark"),
        },
        {
            "name": "Mara Quill",
            "main_role": "Protagonist",
            "roles": [{"role": "Guardian", "score": 0.31}, {"role": "Peacemaker", "score": 0.66}],
            "score": 0.77,
            "mentions": quill,
        },
        {
            "name": "Northland",
            "main_role": "Antagonist",
            "roles": [{"role": "Instigator", "score": 0.72}, {"role": "Deceiver", "score": 0.35}],
            "score": 0.84,
            "mentions": occurrences(text, "Northland"),
        },
        {
            "name": "Fishermen in Port Avel",
            "main_role": "Innocent",
            "roles": [{"role": "Victim", "score": 0.74}, {"role": "Exploited", "score": 0.28}],
            "score": 0.81,
            "mentions": [one(text, "Fishermen in Port Avel")],
        },
    ]
    narratives = [
        {"narrative": "Other", "subnarrative": None, "score": 0.22, "evidence": []},
        {"narrative": DIPLOMACY, "subnarrative": NOT_CARING, "score": 0.64, "evidence": [one(text, EVIDENCE_WEST)]},
        {
            "narrative": DIPLOMACY,
            "subnarrative": None,
            "score": 0.58,
            "evidence": [one(text, EVIDENCE_SABOTAGE), one(text, EVIDENCE_FAIR_DEAL)],
        },
    ]
    return entities, narratives


def with_framing(content: str, kind: str, source: str) -> Document:
    """Known technique spans, then the hand-made cast and narratives wherever the text has the article."""
    doc = with_known_spans(content, kind, source)
    if "Mara Quill" not in doc.text:
        return doc
    phrase, technique, score = OVERLAPPING_SPAN
    start = doc.text.index(phrase)
    doc.spans.append(Span(start, start + len(phrase), technique, score))
    doc.entities, doc.narratives = framing_of(doc.text)
    doc.stages.append("framing")
    return doc
