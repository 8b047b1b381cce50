"""Aggregates of stored documents by outlet, by month of publication, by technique, by narrative
(per month) or by entity (who each outlet casts as what).

Documents the framing stage did not analyse are counted apart, in rows marked `"framing": "not
analysed"`, never as the narrative "Other" nor as documents without entities."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

GROUPINGS = ("outlet", "month", "technique")
ANALYSED = "analysed"
NOT_ANALYSED = "not analysed"
UNKNOWN_OUTLET = "(unknown)"
UNDATED = "(undated)"


def month_of(published: str | None) -> str:
    return (published or "")[:7] or UNDATED


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
        raise ValueError(f"unknown grouping {by!r}: use outlet, month, technique, narrative or entity")
    key_of: dict[int, str] = {}
    groups: dict[str, list] = defaultdict(list)
    for doc_id, outlet, published, score in docs:
        key = (outlet or UNKNOWN_OUTLET) if by == "outlet" else month_of(published)
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


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _place(place: tuple[str, ...], monthly: bool) -> dict[str, str]:
    return {"outlet": place[0], "month": place[1]} if monthly else {"outlet": place[0]}


def narrative_rows(
    served: Iterable[tuple[str, str, int, float | None]],
    documents: Iterable[tuple[str, bool, int]],
) -> list[dict[str, Any]]:
    """Rows per month and narrative: documents serving it, their share of the month's documents
    analysed for framing, and their mean score (each document's best score for that narrative), from
    `(month, narrative, documents, mean score)` and the month's documents `(month, analysed, count)`.
    Each month's documents not analysed follow its narratives in one row of their own."""
    analysed: Counter = Counter()
    rows: list[dict[str, Any]] = []
    for month, was_analysed, n in documents:
        if was_analysed:
            analysed[month] += n
        else:
            rows.append({"month": month, "narrative": None, "documents": n, "share_of_month": None,
                         "mean_score": None, "framing": NOT_ANALYSED})  # fmt: skip
    for month, label, n, mean in served:
        rows.append({"month": month, "narrative": label, "documents": n, "share_of_month": _share(n, analysed[month]),
                     "mean_score": None if mean is None else round(float(mean), 4), "framing": ANALYSED})  # fmt: skip
    rows.sort(key=lambda r: (r["month"], r["framing"] == NOT_ANALYSED, -r["documents"], r["narrative"] or ""))
    return rows


def entity_rows(
    cast: Iterable[tuple[Any, ...]],
    fine: Iterable[tuple[Any, ...]],
    spellings: Iterable[tuple[str, str, int]],
    documents: Iterable[tuple[Any, ...]],
    *,
    monthly: bool = False,
) -> list[dict[str, Any]]:
    """Rows per entity, main role and outlet (and month, with `monthly`): documents casting the entity
    so, their share of the outlet's documents analysed for framing (that month's, with `monthly`),
    mentions, and the fine roles given (documents per best fine role). From `cast` `(key, main_role,
    outlet[, month], documents, mentions)`, `fine` `(key, main_role, outlet[, month], fine_role,
    documents)`, `spellings` `(key, name, count)` (an entity is named by its most frequent spelling) and
    `documents` `(outlet[, month], analysed, count)`. Documents not analysed come last, one row per
    outlet (and month)."""
    width = 2 if monthly else 1
    analysed: Counter = Counter()
    apart: list[dict[str, Any]] = []
    for *place, was_analysed, n in documents:
        if was_analysed:
            analysed[tuple(place)] += n
        else:
            apart.append({"entity": None, "main_role": None, **_place(tuple(place), monthly), "documents": n,
                          "share_of_outlet": None, "mentions": None, "fine_roles": {},
                          "framing": NOT_ANALYSED})  # fmt: skip
    best: dict[str, tuple[int, str]] = {}
    for key, name, n in spellings:
        if key not in best or (-n, name) < (-best[key][0], best[key][1]):
            best[key] = (n, name)
    given: dict[tuple, list[tuple[str, int]]] = defaultdict(list)
    for *group, role, n in fine:
        given[tuple(group)].append((role, n))
    rows = []
    for key, main_role, *rest in cast:
        place, (n, mentions) = tuple(rest[:width]), rest[width:]
        roles = sorted(given[(key, main_role, *place)], key=lambda item: (-item[1], item[0]))
        rows.append({"entity": best[key][1] if key in best else key, "main_role": main_role, **_place(place, monthly),
                     "documents": n, "share_of_outlet": _share(n, analysed[place]), "mentions": int(mentions or 0),
                     "fine_roles": dict(roles), "framing": ANALYSED})  # fmt: skip
    rows.sort(key=lambda r: (r.get("month", ""), -r["documents"], r["entity"].casefold(), r["main_role"] or "~",
                             r["outlet"]))  # fmt: skip
    apart.sort(key=lambda r: (r.get("month", ""), r["outlet"]))
    return rows + apart
