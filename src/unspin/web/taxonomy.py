"""The technique taxonomy as the pages and the API show it.

Everything comes from `unspin.techniques.taxonomy`, the one source of labels, names, colours and
explanations; this module only gives each technique the shape the web uses (`label` is the PTC label
spelling that spans carry, `why` the "why it persuades" text).
"""

from __future__ import annotations

from typing import Any

from unspin.techniques.taxonomy import BY_LABEL, TECHNIQUES, UNKNOWN_COLOUR, Technique


def _entry(t: Technique) -> dict[str, Any]:
    return {
        "label": t.ptc_label,
        "name": t.name,
        "colour": t.colour,
        "definition": t.definition,
        "why": t.why_it_persuades,
        "example": t.example,
    }


def techniques() -> list[dict[str, Any]]:
    """All techniques: label, name, colour, definition, why, example."""
    return [_entry(t) for t in TECHNIQUES]


def describe(label: str) -> dict[str, Any]:
    """The entry for one label; an unknown label gets a readable name and a neutral colour."""
    known = BY_LABEL.get(label)
    if known is not None:
        return _entry(known)
    return {
        "label": label,
        "name": label.replace("_", " "),
        "colour": UNKNOWN_COLOUR,
        "definition": None,
        "why": None,
        "example": None,
    }
