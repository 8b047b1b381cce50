"""What the article page and the report show: the text cut at every span boundary, the technique mix.

Overlapping spans stay visible because the text is split at every start and end: each piece knows
all the spans that cover it, and the page (or the report) styles it from that list.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from unspin import scoring
from unspin.web import framing
from unspin.web.taxonomy import describe


@dataclass
class Piece:
    start: int
    end: int
    text: str
    spans: list[int] = field(default_factory=list)  # indices into the view's span list
    non_space: int = 0  # characters of `text` that count for coverage (`unspin.scoring.non_space_count`)
    marks: list[str] = field(default_factory=list)  # framing marks covering the piece: "e0" entity, "n1" narrative

    @property
    def span_attr(self) -> str:
        return " ".join(str(i) for i in self.spans)

    @property
    def mark_attr(self) -> str:
        return " ".join(self.marks)


def clean_spans(text: str, spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Spans clamped to the text, empty ones dropped, each with its technique's name and colour."""
    out = []
    n = len(text)
    for span in spans:
        try:
            start, end = max(0, int(span["start"])), min(n, int(span["end"]))
            score = float(span.get("score", 1.0))
        except (KeyError, TypeError, ValueError):
            continue
        if end <= start:
            continue
        info = describe(str(span.get("technique", "")))
        out.append(
            {
                "technique": info["label"],
                "name": info["name"],
                "colour": info["colour"],
                "start": start,
                "end": end,
                "score": score,
                "text": text[start:end],
                "explanation": span.get("explanation"),
                # False: off the model's precise operating point (shown only with "every span")
                "precise": span.get("precise") is not False,
            }
        )
    out.sort(key=lambda s: (s["start"], -s["end"]))
    for i, span in enumerate(out):
        span["i"] = i
    return out


def split_pieces(text: str, spans: list[dict[str, Any]], marks: list[dict[str, Any]] | None = None) -> list[Piece]:
    """Cut `text` at every span boundary; each piece lists the spans covering all of it.

    `marks` (`{start, end, key}`: an entity's mentions, a narrative's evidence) cut the text too, as a layer of
    their own: each piece also lists the keys of the marks covering it, and the spans stay as they were.
    """
    marks = marks or []
    bounds = sorted(
        {0, len(text), *(s["start"] for s in spans), *(s["end"] for s in spans)}
        | {m[k] for m in marks for k in ("start", "end")}
    )
    starts: dict[int, list[int]] = {}
    ends: dict[int, list[int]] = {}
    for i, s in enumerate(spans):
        starts.setdefault(s["start"], []).append(i)
        ends.setdefault(s["end"], []).append(i)
    mark_starts: dict[int, list[str]] = {}
    mark_ends: dict[int, list[str]] = {}
    for m in marks:
        mark_starts.setdefault(m["start"], []).append(m["key"])
        mark_ends.setdefault(m["end"], []).append(m["key"])
    active: set[int] = set()
    marked: dict[str, int] = {}  # key -> how many of its marks are open (an entity's mentions may overlap)
    pieces = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        active.difference_update(ends.get(a, ()))
        active.update(starts.get(a, ()))
        for key in mark_ends.get(a, ()):
            marked[key] -= 1
            if not marked[key]:
                del marked[key]
        for key in mark_starts.get(a, ()):
            marked[key] = marked.get(key, 0) + 1
        if b > a:
            keys = sorted(marked, key=lambda k: (k[:1], len(k), k))  # e2 before e10
            pieces.append(Piece(a, b, text[a:b], sorted(active), scoring.non_space_count(text, a, b), keys))
    return pieces


def technique_mix(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Techniques present, most frequent first: label, name, colour, count, explanations."""
    counts: dict[str, int] = {}
    for s in spans:
        counts[s["technique"]] = counts.get(s["technique"], 0) + 1
    mix = [{**describe(label), "count": n} for label, n in counts.items()]
    mix.sort(key=lambda t: (-t["count"], t["name"]))
    return mix


def coverage(text: str, spans: list[dict[str, Any]]) -> float:
    """The article's coverage under these spans: `unspin.scoring.coverage`, the definition behind the
    document's `scores.article.share` (non-space characters under at least one span)."""
    return scoring.coverage(text, ((s["start"], s["end"]) for s in spans))


def percent(share: float) -> int:
    """A share as the whole percent the pages show: the integer nearest to 100 * share, halves rounded
    up, exactly as the page's script rounds (`Math.round`), so the server's figure is the script's."""
    x = 100 * share
    whole = math.floor(x)
    return whole + 1 if x - whole >= 0.5 else whole


def numeric_scores(scores: dict[str, Any]) -> list[tuple[str, float]]:
    """Top-level numeric scores of the document, with readable names."""
    out = []
    for key, value in scores.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out.append((key.replace("_", " "), float(value)))
    return out


def rgba(colour: str, alpha: float) -> str:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha:.2f})"


def piece_style(covering: list[dict[str, Any]]) -> str:
    """Inline style for a piece in the static report: a tint of the strongest span, one underline per span."""
    if not covering:
        return ""
    strongest = max(covering, key=lambda s: s["score"])
    lines = ", ".join(f"inset 0 -{3 * (k + 1)}px 0 {s['colour']}" for k, s in enumerate(covering[:4]))
    pad = 3 * min(4, len(covering))
    return f"background: {rgba(strongest['colour'], 0.22)}; box-shadow: {lines}; padding-bottom: {pad}px"


def article_view(record: dict[str, Any]) -> dict[str, Any]:
    """Everything the article page renders, from a stored analysis."""
    doc = record["document"]
    text = doc.get("text") or ""
    spans = clean_spans(text, doc.get("spans") or [])
    cov = coverage(text, spans)
    cast = framing.cast_view(text, doc.get("entities"))
    narratives = framing.narratives_view(text, doc.get("narratives"))
    return {
        "id": record["id"],
        "created_at": record.get("created_at"),
        "doc": doc,
        "text": text,
        "spans": spans,
        "techniques_ran": doc.get("spans") is not None,  # null: the techniques stage was skipped
        "pieces": split_pieces(text, spans, framing.framing_marks(cast, narratives)),
        "mix": technique_mix(spans),
        # the switch between the default view (precise spans) and every span, where the model marks them
        "has_precise": any("precise" in sp for sp in doc.get("spans") or []),
        "weaker": sum(1 for sp in spans if not sp["precise"]),
        "coverage": cov,
        "coverage_percent": percent(cov),
        "non_space": scoring.non_space_count(text),
        "scores": numeric_scores(doc.get("scores") or {}),
        "claims": _claims(text, doc.get("claims") or []),
        "cast": cast,
        "narratives": narratives,
        "framing_notes": framing.framing_notes(doc.get("entities"), cast, doc.get("narratives"), narratives),
    }


def report_view(
    record: dict[str, Any], min_score: float = 0.0, techniques: set[str] | None = None, all_spans: bool = False
) -> dict[str, Any]:
    """The article view restricted to what the reader chose to see, with styles computed for a static file
    (without `all_spans`, only the spans at the model's precise operating point)."""
    view = article_view(record)
    kept = [
        s
        for s in view["spans"]
        if s["score"] >= min_score
        and (techniques is None or s["technique"] in techniques)
        and (all_spans or s["precise"])
    ]
    for i, span in enumerate(kept):
        span["i"] = i
    pieces = split_pieces(view["text"], kept)
    view.update(
        spans=kept,
        pieces=pieces,
        styles=[piece_style([kept[i] for i in p.spans]) for p in pieces],
        titles=["; ".join(f"{kept[i]['name']} ({100 * kept[i]['score']:.0f}%)" for i in p.spans) for p in pieces],
        mix=technique_mix(kept),
        coverage=coverage(view["text"], kept),
        coverage_percent=percent(coverage(view["text"], kept)),
        min_score=min_score,
        filtered=techniques is not None,
        all_spans=all_spans or not view["has_precise"],
    )
    top = max((t["count"] for t in view["mix"]), default=1)
    for t in view["mix"]:
        t["width"] = round(100 * t["count"] / top)
    return view


def _claims(text: str, claims: list[Any]) -> list[dict[str, Any]]:
    out = []
    for claim in claims:
        if not isinstance(claim, dict):
            continue
        quoted = claim.get("text")
        if not quoted and isinstance(claim.get("start"), int) and isinstance(claim.get("end"), int):
            quoted = text[claim["start"] : claim["end"]]
        score = claim.get("score")
        out.append({"text": quoted or "", "score": float(score) if isinstance(score, (int, float)) else None})
    # Most check-worthy first; claims without a score last, in text order.
    out.sort(key=lambda c: (c["score"] is None, -(c["score"] or 0.0)))
    return out
