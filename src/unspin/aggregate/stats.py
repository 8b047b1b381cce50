"""Aggregates of stored documents by outlet, by month of publication, or by technique."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

GROUPINGS = ("outlet", "month", "technique")


def _phrase(text: str) -> str:
    return " ".join(text.lower().split())


def by_technique(spans: Iterable[tuple[int, str, str]]) -> list[dict[str, Any]]:
    """Per technique: spans, share of all spans, articles using it, its five most frequent phrases."""
    count: Counter = Counter()
    docs_with: dict[str, set[int]] = defaultdict(set)
    phrases: dict[str, Counter] = defaultdict(Counter)
    for doc_id, technique, text in spans:
        count[technique] += 1
        docs_with[technique].add(doc_id)
        phrases[technique][_phrase(text)] += 1
    total = sum(count.values()) or 1
    return [
        {"technique": t, "spans": n, "share_of_spans": round(n / total, 4), "articles": len(docs_with[t]),
         "top_spans": [p for p, _ in phrases[t].most_common(5)]}
        for t, n in count.most_common()
    ]  # fmt: skip


def aggregate(
    by: str,
    docs: Iterable[tuple[int, str | None, str | None, float | None]],
    spans: Iterable[tuple[int, str, str]],
) -> list[dict[str, Any]]:
    """Rows `by` outlet, month or technique, from documents `(id, outlet, published, article_score)`
    and spans `(document id, technique, text)`."""
    if by == "technique":
        return by_technique(spans)
    if by not in GROUPINGS:
        raise ValueError(f"unknown grouping {by!r}: use outlet, month or technique")
    key_of: dict[int, str] = {}
    groups: dict[str, list] = defaultdict(list)
    for doc_id, outlet, published, score in docs:
        key = (outlet or "(unknown)") if by == "outlet" else ((published or "")[:7] or "(undated)")
        key_of[doc_id] = key
        groups[key].append(score)
    mix: dict[str, Counter] = defaultdict(Counter)
    top: dict[str, Counter] = defaultdict(Counter)
    for doc_id, technique, text in spans:
        if doc_id in key_of:
            mix[key_of[doc_id]][technique] += 1
            top[key_of[doc_id]][_phrase(text)] += 1
    out = []
    for key in sorted(groups, key=lambda k: (-len(groups[k]), k) if by == "outlet" else (k,)):
        scores = [x for x in groups[key] if x is not None]
        n_spans = sum(mix[key].values()) or 1
        out.append(
            {
                by: key,
                "articles": len(groups[key]),
                "mean_article_score": round(sum(scores) / len(scores), 4) if scores else None,
                "spans": sum(mix[key].values()),
                "technique_mix": {t: round(c / n_spans, 4) for t, c in mix[key].most_common()},
                "top_spans": [p for p, _ in top[key].most_common(5)],
            }
        )
    return out
