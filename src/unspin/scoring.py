"""Sentence and article scores from technique spans: one definition for the CLI, the API and the page.

* A sentence's score is the confidence of the best span that touches it.
* The article's `share` (its coverage) is the part of its text under at least one technique span,
  counted in characters that are not white space: a span's trailing newline or a run of blank lines
  between paragraphs does not make an article look more loaded. `coverage` computes it; the web page
  reads the same number from the document's scores, and when the reader narrows the visible spans
  it adds up per-piece counts made by `non_space_count`, so the page and the API cannot disagree.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from unspin.document import Document, Span
from unspin.eval.intervals import merge_intervals

SPACE_RUN_RE = re.compile(r"\s+")  # \s is str.isspace


def non_space_count(text: str, start: int = 0, end: int | None = None) -> int:
    """Characters of text[start:end] that are not white space."""
    end = len(text) if end is None else end
    spaces = sum(m.end() - m.start() for m in SPACE_RUN_RE.finditer(text, start, end))
    return end - start - spaces


def coverage(text: str, intervals: Iterable[tuple[int, int]]) -> float:
    """Share of the text's non-space characters under at least one of the (start, end) intervals
    (unrounded; 0.0 for a text of white space only)."""
    total = non_space_count(text) or 1
    covered = sum(non_space_count(text, s, e) for s, e in merge_intervals(intervals))
    return covered / total


def article_scores(text: str, spans: Sequence[Span]) -> dict[str, Any]:
    """Share of the text under any technique (`coverage`), spans per technique, and each technique's
    share of the characters under spans (`mix`)."""
    chars: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    for sp in spans:
        chars[sp.technique] += sp.end - sp.start
        counts[sp.technique] += 1
    total = sum(chars.values()) or 1
    return {
        "share": round(coverage(text, ((sp.start, sp.end) for sp in spans)), 4),
        "n_spans": len(spans),
        "counts": dict(sorted(counts.items())),
        "mix": {k: round(v / total, 4) for k, v in sorted(chars.items())},
        "max_score": round(max((sp.score for sp in spans), default=0.0), 4),
    }


def set_technique_spans(
    doc: Document, spans: Sequence[Span], min_score: float = 0.0, precise_only: bool = False
) -> Document:
    """Give `doc` these technique spans, those below `min_score` left out, and, with `precise_only`,
    those the model's precise operating point does not show (`Span.precise` False; the default view);
    score its sentences (each its best span's confidence) and the article (`article_scores`) from the
    spans kept. Also narrows a finished analysis to its confident spans. The article scores record
    what narrowed them: `min_score`, and `view` "precise" with `more_spans`, the spans it left out."""
    confident = [sp for sp in spans if sp.score >= min_score]
    kept = [sp for sp in confident if sp.precise is not False] if precise_only else confident
    doc.spans = kept
    doc.scores["article"] = article_scores(doc.text, kept)
    if min_score > 0:
        doc.scores["article"]["min_score"] = min_score
    if precise_only and any(sp.precise is not None for sp in spans):
        doc.scores["article"]["view"] = "precise"
        doc.scores["article"]["more_spans"] = len(confident) - len(kept)
    for seg in doc.sentences:
        best = 0.0
        for sp in kept:
            if sp.start < seg.end and sp.end > seg.start:
                best = max(best, sp.score)
        seg.score = round(best, 4)
    return doc


def merge_repeats(spans: Sequence[Span]) -> list[Span]:
    """One span where the decoding found overlapping (or touching) spans of one technique: their union,
    with the best score. The official metric merges such spans before it scores, so this changes no
    score; a reader sees each stretch once. Spans at the precise operating point merge only among
    themselves, so filtering the merged spans on `precise` gives what merging the precise ones gives (the
    default view). Ordered by start, then end, then technique."""
    groups: dict[tuple[str, bool | None], list[Span]] = {}
    for sp in spans:
        groups.setdefault((sp.technique, sp.precise), []).append(sp)
    out: list[Span] = []
    for group in groups.values():
        group.sort(key=lambda sp: (sp.start, sp.end))
        run = [group[0]]
        for sp in group[1:]:
            if sp.start <= max(r.end for r in run):
                run.append(sp)
                continue
            out.append(_union(run))
            run = [sp]
        out.append(_union(run))
    out.sort(key=lambda sp: (sp.start, sp.end, sp.technique))
    return out


def _union(run: list[Span]) -> Span:
    if len(run) == 1:
        return run[0]
    best = max(run, key=lambda sp: sp.score)
    return Span(
        start=min(sp.start for sp in run),
        end=max(sp.end for sp in run),
        technique=best.technique,
        score=best.score,
        explanation=best.explanation,
        precise=best.precise,
    )
