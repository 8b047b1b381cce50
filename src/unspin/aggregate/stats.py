"""Aggregates of stored documents by outlet, by month of publication, by technique, by narrative
(per month) or by entity (who each outlet casts as what).

Documents the framing stage did not analyse are counted apart, in rows marked `"framing": "not
analysed"`, never as the narrative "Other" nor as documents without entities."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

GROUPINGS = ("outlet", "month", "technique")
FRAMING_GROUPINGS = ("narrative", "entity")
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


def _mean(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(sum(known) / len(known), 4) if known else None


def _best(old: float | None, new: float | None) -> float | None:
    return new if old is None else old if new is None else max(old, new)


def by_narrative(
    docs: Iterable[tuple[int, str | None, str | None, int | None]],
    narratives: Iterable[tuple[int, str, float | None]],
) -> list[dict[str, Any]]:
    """Per month and narrative: documents serving it, their share of the month's documents analysed
    for framing, and their mean score (a document's best score for that narrative). From documents
    `(id, outlet, published, n_narratives)` (None: not analysed) and narratives `(document id, label,
    score)`. Each month's documents not analysed follow its narratives in one row of their own."""
    month: dict[int, str] = {}
    analysed: Counter = Counter()
    not_analysed: Counter = Counter()
    for doc_id, _outlet, published, n in docs:
        if n is None:
            not_analysed[month_of(published)] += 1
        else:
            month[doc_id] = month_of(published)
            analysed[month[doc_id]] += 1
    scores: dict[tuple[str, str], dict[int, float | None]] = defaultdict(dict)
    for doc_id, label, score in narratives:
        if doc_id in month:
            served = scores[(month[doc_id], label)]
            served[doc_id] = _best(served.get(doc_id), score)
    rows = [
        {"month": m, "narrative": label, "documents": len(served),
         "share_of_month": round(len(served) / analysed[m], 4), "mean_score": _mean(served.values()),
         "framing": ANALYSED}
        for (m, label), served in scores.items()
    ]  # fmt: skip
    rows += [
        {"month": m, "narrative": None, "documents": n, "share_of_month": None, "mean_score": None,
         "framing": NOT_ANALYSED}
        for m, n in not_analysed.items()
    ]  # fmt: skip
    rows.sort(key=lambda r: (r["month"], r["framing"] == NOT_ANALYSED, -r["documents"], r["narrative"] or ""))
    return rows


def by_entity(
    docs: Iterable[tuple[int, str | None, str | None, int | None]],
    entities: Iterable[tuple[int, str, str, str | None, str | None, int]],
    *,
    monthly: bool = False,
    top: int | None = None,
) -> list[dict[str, Any]]:
    """Per entity, main role and outlet (and month, with `monthly`): documents casting the entity so,
    their share of the outlet's documents analysed for framing (that month's, with `monthly`),
    mentions, and the fine roles given (documents per best fine role). From documents `(id, outlet,
    published, n_entities)` (None: not analysed) and entities `(document id, name, key, main_role,
    fine_role, mentions)`. An entity is named by its most frequent spelling; `top` keeps the entities
    found in most documents. Documents not analysed come last, one row per outlet (and month)."""
    where: dict[int, tuple[str, ...]] = {}
    analysed: Counter = Counter()
    not_analysed: Counter = Counter()
    for doc_id, outlet, published, n in docs:
        place = (outlet or UNKNOWN_OUTLET, month_of(published)) if monthly else (outlet or UNKNOWN_OUTLET,)
        if n is None:
            not_analysed[place] += 1
        else:
            where[doc_id] = place
            analysed[place] += 1
    cast: dict[tuple, dict[str, Any]] = {}
    spellings: dict[str, Counter] = defaultdict(Counter)
    reach: dict[str, set[int]] = defaultdict(set)
    for doc_id, name, key, main_role, fine_role, mentions in entities:
        if doc_id not in where:
            continue
        spellings[key][name] += 1
        reach[key].add(doc_id)
        group = cast.setdefault((key, main_role, *where[doc_id]), {"docs": set(), "mentions": 0, "fine": Counter()})
        group["mentions"] += mentions or 0
        if doc_id not in group["docs"] and fine_role:
            group["fine"][fine_role] += 1
        group["docs"].add(doc_id)
    keep = set(sorted(reach, key=lambda k: (-len(reach[k]), k))[:top]) if top else set(reach)
    name = {k: min(c.items(), key=lambda item: (-item[1], item[0]))[0] for k, c in spellings.items()}
    rows = []
    for (key, main_role, *place), group in cast.items():
        if key in keep:
            rows.append({"entity": name[key], "main_role": main_role, **_place(place, monthly),
                         "documents": len(group["docs"]),
                         "share_of_outlet": round(len(group["docs"]) / analysed[tuple(place)], 4),
                         "mentions": group["mentions"], "fine_roles": dict(group["fine"].most_common()),
                         "framing": ANALYSED})  # fmt: skip
    rows.sort(key=lambda r: (r.get("month", ""), -r["documents"], r["entity"].casefold(), r["main_role"] or "~",
                             r["outlet"]))  # fmt: skip
    rows += [
        {"entity": None, "main_role": None, **_place(list(place), monthly), "documents": n, "share_of_outlet": None,
         "mentions": None, "fine_roles": {}, "framing": NOT_ANALYSED}
        for place, n in sorted(not_analysed.items(), key=lambda item: (item[0][::-1], -item[1]))
    ]  # fmt: skip
    return rows


def _place(place: list[str], monthly: bool) -> dict[str, str]:
    return {"outlet": place[0], "month": place[1]} if monthly else {"outlet": place[0]}
