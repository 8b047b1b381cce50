"""The one place the web layer reads the technique taxonomy from.

`unspin.techniques.taxonomy` holds the definitions written for the models; until it is
importable, a built-in list of the 14 PTC labels with names and colours stands in (no explanations).
"""

from __future__ import annotations

import importlib
import re
from functools import lru_cache
from typing import Any

TAXONOMY_MODULE = "unspin.techniques.taxonomy"
UNKNOWN_COLOUR = "#8c8c8c"
_HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")

# label (PTC spelling), display name, colour (Tableau-style palette, distinct on white).
_BUILTIN: list[tuple[str, str, str]] = [
    ("Loaded_Language", "Loaded Language", "#f28e2b"),
    ("Name_Calling,Labeling", "Name Calling / Labeling", "#e15759"),
    ("Repetition", "Repetition", "#b07aa1"),
    ("Exaggeration,Minimisation", "Exaggeration / Minimisation", "#edc948"),
    ("Doubt", "Doubt", "#76b7b2"),
    ("Appeal_to_fear-prejudice", "Appeal to Fear / Prejudice", "#9c755f"),
    ("Flag-Waving", "Flag-Waving", "#4e79a7"),
    ("Causal_Oversimplification", "Causal Oversimplification", "#59a14f"),
    ("Slogans", "Slogans", "#ff9da7"),
    ("Appeal_to_Authority", "Appeal to Authority", "#499894"),
    ("Black-and-White_Fallacy", "Black-and-White Fallacy", "#79706e"),
    ("Thought-terminating_Cliches", "Thought-terminating Clichés", "#d37295"),
    ("Whataboutism,Straw_Men,Red_Herring", "Whataboutism / Straw Man / Red Herring", "#a0cbe8"),
    ("Bandwagon,Reductio_ad_hitlerum", "Bandwagon / Reductio ad Hitlerum", "#8cd17d"),
]

_FIELDS: dict[str, tuple[str, ...]] = {
    "label": ("label", "ptc_label", "key", "id", "code"),
    "name": ("name", "display_name", "display", "title"),
    "colour": ("colour", "color", "hex", "colour_hex"),
    "definition": ("definition", "description", "what"),
    "why": ("why", "why_it_persuades", "why_persuades", "persuades", "rationale", "effect"),
    "example": ("example", "examples"),
}


def _field(item: Any, names: tuple[str, ...]) -> Any:
    for name in names:
        value = item.get(name) if isinstance(item, dict) else getattr(item, name, None)
        if value is not None:
            return value
    return None


def _entries(module: Any) -> list[Any] | None:
    """The technique entries of the taxonomy module, whatever it calls them."""
    for name in ("techniques", "all_techniques", "load_taxonomy", "taxonomy"):
        fn = getattr(module, name, None)
        if callable(fn):
            try:
                found = fn()
            except TypeError:
                continue
            entries = _as_list(found)
            if entries:
                return entries
    for name in ("TECHNIQUES", "TAXONOMY", "TECHNIQUE_INFO"):
        entries = _as_list(getattr(module, name, None))
        if entries:
            return entries
    return None


def _as_list(value: Any) -> list[Any] | None:
    if isinstance(value, dict):
        out = []
        for key, item in value.items():
            if isinstance(item, dict):
                out.append({"label": key, **item})
            else:
                out.append(item if _field(item, _FIELDS["label"]) else {"label": key, "name": str(item)})
        return out
    if isinstance(value, (list, tuple)):
        return list(value)
    return None


def _normalise(item: Any, fallback: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    label = _field(item, _FIELDS["label"]) or _field(item, ("name",))
    if not isinstance(label, str):
        return None
    base = fallback.get(label, {})
    example = _field(item, _FIELDS["example"])
    if isinstance(example, (list, tuple)):
        example = example[0] if example else None
    return {
        "label": label,
        "name": _field(item, _FIELDS["name"]) or base.get("name") or label.replace("_", " "),
        "colour": _colour(_field(item, _FIELDS["colour"])) or base.get("colour") or UNKNOWN_COLOUR,
        "definition": _field(item, _FIELDS["definition"]),
        "why": _field(item, _FIELDS["why"]),
        "example": example,
    }


def _colour(value: Any) -> str | None:
    # Colours end up in style attributes and CSS: accept only #rrggbb.
    if isinstance(value, str) and _HEX_COLOUR.fullmatch(value.strip()):
        return value.strip().lower()
    return None


def builtin_techniques() -> list[dict[str, Any]]:
    return [
        {"label": label, "name": name, "colour": colour, "definition": None, "why": None, "example": None}
        for label, name, colour in _BUILTIN
    ]


@lru_cache(maxsize=1)
def _cached() -> tuple[dict[str, Any], ...]:
    builtin = builtin_techniques()
    try:
        module = importlib.import_module(TAXONOMY_MODULE)
    except ImportError:
        return tuple(builtin)
    entries = _entries(module) or []
    fallback = {t["label"]: t for t in builtin}
    found = [t for t in (_normalise(e, fallback) for e in entries) if t is not None]
    # A label the module does not (yet) describe keeps its built-in name and colour.
    labels = {t["label"] for t in found}
    return tuple(found + [t for t in builtin if t["label"] not in labels])


def techniques() -> list[dict[str, Any]]:
    """All techniques: label, name, colour, definition, why, example (the last three may be None)."""
    return [dict(t) for t in _cached()]


def technique_index() -> dict[str, dict[str, Any]]:
    return {t["label"]: t for t in techniques()}


def describe(label: str) -> dict[str, Any]:
    """The entry for one label; an unknown label gets a readable name and a neutral colour."""
    known = technique_index().get(label)
    if known is not None:
        return known
    return {
        "label": label,
        "name": label.replace("_", " "),
        "colour": UNKNOWN_COLOUR,
        "definition": None,
        "why": None,
        "example": None,
    }
