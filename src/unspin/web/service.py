"""What the API and the pages both do: analyse input and save it; shape a stored analysis as JSON."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from unspin.web.app import WebContext


async def analyse_and_save(ctx: WebContext, content: str, kind: str, source: str) -> dict[str, Any]:
    """Analyse, store, and return the stored record (`id`, `created_at`, `document`)."""
    doc = await ctx.runner.run(content, kind, source)
    analysis_id = await run_in_threadpool(ctx.store.save, doc)
    record = await run_in_threadpool(ctx.store.get, analysis_id)
    assert record is not None
    return record


def analysis_payload(request: Request, record: dict[str, Any]) -> dict[str, Any]:
    """The Document JSON plus the analysis `id` and page `url`.

    `id` and `url` name the stored analysis; the article's own URL and record id, when the input
    had them, stay available as `article_url` and `document_id`.
    """
    out = dict(record["document"])
    if out.get("url") is not None:
        out["article_url"] = out["url"]
    if out.get("id") is not None:
        out["document_id"] = out["id"]
    out["id"] = record["id"]
    out["url"] = str(request.url_for("article_page", analysis_id=record["id"]))
    out["api_url"] = str(request.url_for("get_analysis", analysis_id=record["id"]))
    out["created_at"] = record["created_at"]
    return out
