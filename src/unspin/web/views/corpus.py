"""Corpus dashboard: outlets, technique mix per outlet, timeline, narratives over time, who each
outlet casts as what, republished copies, stories, and a page per outlet listing its articles. Reads
what `unspin corpus add` stored in the same database."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from unspin.web.analysis import WebError
from unspin.web.context import WebContext, context, page
from unspin.web.taxonomy import describe

router = APIRouter(include_in_schema=False)

NARRATIVES_SHOWN = 8  # narratives with a colour of their own; the rest share one
CAST_ENTITIES = 10  # entities found in most documents
CAST_OUTLETS = 6  # outlets with most articles
ROLE_COLOURS = {"Protagonist": "#2e7d5b", "Antagonist": "#b5452b", "Innocent": "#3b6ea8", None: "#9aa7b4"}
ROLE_NAMES = {"Protagonist": "Protagonist", "Antagonist": "Antagonist", "Innocent": "Innocent", None: "no role"}
OTHER_COLOUR = "#c9ced4"
NOT_ANALYSED = "not analysed for framing"


def _store(ctx: WebContext):
    return ctx.corpus()


def dashboard_data(store) -> dict[str, Any]:
    outlets = store.stats("outlet")
    months = [m for m in store.stats("month") if m["month"] != "(undated)"]
    techniques = store.stats("technique")
    top = outlets[:10]
    labels = [t["technique"] for t in techniques]
    mix = [
        {
            "technique": label,
            "name": describe(label)["name"],
            "colour": describe(label)["colour"],
            "outlets": [o["outlet"] for o in top],
            "shares": [o["technique_mix"].get(label, 0.0) for o in top],
        }
        for label in labels
    ]
    timeline = {
        "months": [m["month"] for m in months],
        "articles": [m["articles"] for m in months],
        "score": [m["mean_article_score"] for m in months],
    }
    return {"mix": mix, "timeline": timeline, "narratives": narrative_chart(store.stats("narrative")),
            "cast": cast_chart(store.stats("entity", top=CAST_ENTITIES), [o["outlet"] for o in top])}  # fmt: skip


def narrative_chart(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Documents serving each narrative per month (stacked): the most frequent narratives each in
    its colour, the rest together, "Other" in grey, and documents not analysed for framing apart."""
    months = sorted({r["month"] for r in rows if r["month"] != "(undated)"})
    at = {m: i for i, m in enumerate(months)}
    counts: dict[str | None, list[int]] = {}
    for r in rows:
        if r["month"] in at:
            counts.setdefault(r["narrative"], [0] * len(months))[at[r["month"]]] += r["documents"]
    ranked = sorted((n for n in counts if n not in (None, "Other")), key=lambda n: (-sum(counts[n]), n))
    series = [{"name": n, "counts": counts[n], "colour": None, "kind": "narrative"} for n in ranked[:NARRATIVES_SHOWN]]
    rest = ranked[NARRATIVES_SHOWN:]
    if rest:
        summed = [sum(counts[n][i] for n in rest) for i in range(len(months))]
        series.append({"name": f"{len(rest)} more narratives", "counts": summed, "colour": "#7d8a97", "kind": "rest"})
    if "Other" in counts:
        series.append({"name": "Other", "counts": counts["Other"], "colour": OTHER_COLOUR, "kind": "other"})
    if None in counts:
        series.append({"name": NOT_ANALYSED, "counts": counts[None], "colour": "#ffffff", "kind": "not_analysed"})
    return {"months": months, "series": series}


def cast_chart(rows: list[dict[str, Any]], outlets: list[str]) -> dict[str, Any]:
    """Documents casting each of the top entities, per outlet (the outlets with most articles), one
    series per main role, in the role's colour."""
    cast = [r for r in rows if r["framing"] == "analysed" and r["outlet"] in outlets[:CAST_OUTLETS]]
    reach: dict[str, int] = {}
    for r in cast:
        reach[r["entity"]] = reach.get(r["entity"], 0) + r["documents"]
    pairs = sorted({(r["outlet"], r["entity"]) for r in cast},
                   key=lambda p: (outlets.index(p[0]), -reach[p[1]], p[1].casefold()))  # fmt: skip
    at = {p: i for i, p in enumerate(pairs)}
    series = []
    extra = sorted({r["main_role"] for r in cast} - set(ROLE_NAMES))  # a role outside the taxonomy still shows
    for role in [*ROLE_NAMES, *extra]:
        counts = [0] * len(pairs)
        for r in cast:
            if r["main_role"] == role:
                counts[at[(r["outlet"], r["entity"])]] += r["documents"]
        if any(counts):
            series.append({"role": ROLE_NAMES.get(role, role), "colour": ROLE_COLOURS.get(role, "#6b5b95"),
                           "counts": counts})  # fmt: skip
    return {"outlets": [p[0] for p in pairs], "entities": [p[1] for p in pairs], "series": series}


@router.get("/corpus", name="corpus_dashboard")
async def corpus_dashboard(request: Request, ctx: WebContext = Depends(context)) -> Response:
    if not ctx.key_ok(request):
        return RedirectResponse("/login?next=/corpus", status_code=303)
    store = _store(ctx)

    def collect() -> dict[str, Any]:
        outlets = store.stats("outlet")
        return {
            "count": store.count(),
            "outlets": outlets,
            "techniques": store.stats("technique"),
            "copies": store.copy_groups()[:20],
            "stories": store.stories(compute=False)[:20],
            "charts": dashboard_data(store),
        }

    values = await run_in_threadpool(collect)
    for row in values["techniques"]:
        row["name"] = describe(row["technique"])["name"]
    return page(request, "corpus.html", values)


@router.get("/corpus/outlet/{outlet:path}", name="corpus_outlet")
async def corpus_outlet(outlet: str, request: Request, ctx: WebContext = Depends(context)) -> Response:
    if not ctx.key_ok(request):
        return RedirectResponse("/login?next=/corpus", status_code=303)
    store = _store(ctx)
    docs = await run_in_threadpool(store.outlet_documents, outlet)
    if not docs:
        raise WebError(404, "not_found", f"no stored articles from outlet {outlet!r}")
    stats = next((o for o in await run_in_threadpool(store.stats, "outlet") if o["outlet"] == outlet), None)
    mix = [
        {"technique": t, "name": describe(t)["name"], "colour": describe(t)["colour"], "share": share}
        for t, share in ((stats or {}).get("technique_mix") or {}).items()
    ]
    return page(request, "outlet.html", {"outlet": outlet, "docs": docs, "stats": stats, "mix": mix})
