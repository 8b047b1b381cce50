"""The cast and the narratives as the article page and the report show them.

The framing stage writes `Document.entities` and `Document.narratives` (offsets into `text`); this module only
checks them against the text, orders them for reading, and names the marks that let the page light up an
entity's mentions or a narrative's evidence. A field that is None means the stage did not run; an empty list
means it ran and found nothing, and the page says which.
"""

from __future__ import annotations

import math
from typing import Any

# The three main roles of the SemEval-2025 entity framing taxonomy, each with the CSS class the page colours
# it by and a reader's gloss. The colour is never the only sign: every chip also says the role in words.
MAIN_ROLES: dict[str, dict[str, str]] = {
    "Protagonist": {"css": "protagonist", "gloss": "cast as a hero or a defender"},
    "Antagonist": {"css": "antagonist", "gloss": "cast as a villain or a threat"},
    "Innocent": {"css": "innocent", "gloss": "cast as a victim"},
}
NO_ROLE = {"css": "unframed", "gloss": "named, but not cast in a role"}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _offsets(text: str, items: Any) -> list[tuple[int, int]]:
    """`[{start, end}]` clamped to the text, empty or malformed ones dropped, in text order."""
    out = set()
    n = len(text)
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        start, end = item.get("start"), item.get("end")
        if isinstance(start, bool) or isinstance(end, bool) or not isinstance(start, int) or not isinstance(end, int):
            continue
        start, end = max(0, start), min(n, end)
        if end > start:
            out.add((start, end))
    return sorted(out)


def pct(score: float | None) -> str:
    return "" if score is None else f"{100 * score:.0f}%"


def _main_role(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    for role in MAIN_ROLES:
        if value.strip().lower() == role.lower():
            return role
    return None


def _fine_roles(roles: Any) -> list[dict[str, Any]]:
    out = []
    for item in roles if isinstance(roles, list) else []:
        if isinstance(item, dict) and isinstance(item.get("role"), str) and item["role"].strip():
            out.append({"role": item["role"].strip(), "score": _number(item.get("score"))})
        elif isinstance(item, str) and item.strip():
            out.append({"role": item.strip(), "score": None})
    out.sort(key=lambda r: -(r["score"] if r["score"] is not None else -1.0))
    return out


def cast_view(text: str, entities: list[Any] | None) -> list[dict[str, Any]]:
    """The entities for display: the ones cast in a role first, most confident first; then the others."""
    out = []
    for item in entities or []:
        if not isinstance(item, dict):
            continue
        mentions = _offsets(text, item.get("mentions"))
        name = item.get("name")
        name = name.strip() if isinstance(name, str) and name.strip() else None
        if name is None:
            name = text[mentions[0][0] : mentions[0][1]] if mentions else "(unnamed)"
        role = _main_role(item.get("main_role"))
        info = MAIN_ROLES[role] if role else NO_ROLE
        score = _number(item.get("score"))
        fine = _fine_roles(item.get("roles")) if role else []
        parts = [f"{role} ({pct(score)})" if role and score is not None else role or "No role: " + NO_ROLE["gloss"]]
        if fine:
            parts.append(", ".join(f"{r['role']} {pct(r['score'])}".strip() for r in fine))
        parts.append(f"{len(mentions)} mention{'' if len(mentions) == 1 else 's'}")
        out.append(
            {
                "name": name,
                "main_role": role,
                "role_label": role or "No role",
                "css": info["css"],
                "gloss": info["gloss"],
                "score": score,
                "roles": fine,
                "mentions": mentions,
                "summary": " · ".join(parts),
            }
        )
    out.sort(key=lambda e: (e["main_role"] is None, -(e["score"] or 0.0), e["name"].lower()))
    for i, entity in enumerate(out):
        entity["key"] = f"e{i}"
    return out


def _short(sentence: str, limit: int = 160) -> str:
    sentence = " ".join(sentence.split())
    if len(sentence) <= limit:
        return sentence
    cut = sentence[: limit - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut[limit // 2 :] else cut) + "…"


def narratives_view(text: str, narratives: list[Any] | None) -> list[dict[str, Any]]:
    """The narratives for display, most confident first, each with its evidence sentences."""
    out = []
    for item in narratives or []:
        if not isinstance(item, dict) or not isinstance(item.get("narrative"), str):
            continue
        label = item["narrative"].strip() or "Other"
        sub = item.get("subnarrative")
        sub = sub.strip() if isinstance(sub, str) and sub.strip() else None
        # A subnarrative label repeats its narrative ("Narrative: Subnarrative"); the page shows the new part.
        sub_short = sub[len(label) + 1 :].strip() if sub and sub.startswith(label + ":") else sub
        score = _number(item.get("score"))
        evidence = _offsets(text, item.get("evidence"))
        quotes = [text[a:b].strip() for a, b in evidence]
        out.append(
            {
                "narrative": label,
                "subnarrative": sub,
                "subnarrative_short": sub_short,
                "score": score,
                "width": round(100 * min(1.0, max(0.0, score))) if score is not None else 0,
                "evidence": evidence,
                "quotes": quotes,
                "first": _short(quotes[0]) if quotes else None,
            }
        )
    out.sort(key=lambda n: -(n["score"] if n["score"] is not None else -1.0))
    for i, narrative in enumerate(out):
        narrative["key"] = f"n{i}"
    return out


def framing_marks(cast: list[dict[str, Any]], narratives: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every mention and every evidence sentence as a mark `{start, end, key}` for cutting the text."""
    marks = [{"start": a, "end": b, "key": e["key"]} for e in cast for a, b in e["mentions"]]
    marks += [{"start": a, "end": b, "key": n["key"]} for n in narratives for a, b in n["evidence"]]
    return marks


def framing_notes(entities: Any, cast: list[dict[str, Any]], narratives: Any, shown: list[dict[str, Any]]) -> list[str]:
    """What the page says in place of a panel: the stage did not run (the field is None), or it ran and found
    nothing to show (`cast` and `shown` are the views of `entities` and `narratives`)."""
    if entities is None and narratives is None:
        return ["Framing was not analysed for this document (the framing stage did not run): no cast, no narratives."]
    notes = []
    if entities is None:
        notes.append("Entities were not analysed for this document (the framing stage did not run).")
    elif not cast:
        notes.append("The framing stage found no entity that this text casts in a role.")
    if narratives is None:
        notes.append("Narratives were not analysed for this document (the framing stage did not run).")
    elif not shown:
        notes.append("The framing stage found no narrative in this text.")
    return notes
