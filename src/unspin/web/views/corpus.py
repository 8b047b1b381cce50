"""Corpus dashboard: outlets, technique mix per outlet, timeline, republished copies, stories, and
a page per outlet listing its articles. Reads what `unspin corpus add` stored in the same database."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from unspin.web.analysis import WebError
from unspin.web.context import WebContext, context, page
from unspin.web.taxonomy import describe

router = APIRouter(include_in_schema=False)


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
    return {"mix": mix, "timeline": timeline}


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
