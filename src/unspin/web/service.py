"""What the API and the pages both do: analyse input and save it; shape a stored analysis as JSON."""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from unspin.web.context import WebContext

# What a stored analysis id can look like (the store's ids, and `corpus-N` for corpus documents). Anything
# else is no analysis, answered 404 before the database sees it.
ANALYSIS_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def valid_id(analysis_id: str) -> bool:
    return ANALYSIS_ID.fullmatch(analysis_id) is not None


async def analyse_and_save(ctx: WebContext, content: str, kind: str, source: str) -> dict[str, Any]:
    """Analyse, store, and return the stored record (`id`, `created_at`, `document`)."""
    doc = await ctx.runner.run(content, kind, source)
    analysis_id = await run_in_threadpool(ctx.store.save, doc)
    record = await run_in_threadpool(ctx.store.get, analysis_id)
    assert record is not None
    return record


def confident_only(document: dict[str, Any], min_score: float, all_spans: bool = True) -> dict[str, Any]:
    """A stored Document JSON narrowed to the technique spans whose confidence reaches `min_score` and,
    without `all_spans`, to those at the model's precise operating point, its sentence and article scores
    re-computed from them (as `analyze --min-score` and `analyze` without `--all-spans` give)."""
    spans = document.get("spans")
    if spans is None or (min_score <= 0 and (all_spans or not any("precise" in sp for sp in spans))):
        return document
    from unspin.document import Document
    from unspin.scoring import set_technique_spans

    doc = Document.from_dict(document)
    set_technique_spans(doc, doc.spans, min_score, precise_only=not all_spans)
    out = dict(document)
    out["spans"] = [sp.to_dict() for sp in doc.spans]
    out["sentences"] = [seg.to_dict() for seg in doc.sentences]
    out["scores"] = {**document.get("scores", {}), "article": doc.scores["article"]}
    return out


def analysis_payload(
    request: Request, record: dict[str, Any], min_score: float = 0.0, all_spans: bool = False
) -> dict[str, Any]:
    """The Document JSON plus the analysis `id` and page `url`; only the technique spans at the model's
    precise operating point unless `all_spans`, and with `min_score` only those that reach it
    (`confident_only`).

    `id` and `url` name the stored analysis; the article's own URL and record id, when the input
    had them, stay available as `article_url` and `document_id`.
    """
    out = dict(confident_only(record["document"], min_score, all_spans))
    if out.get("url") is not None:
        out["article_url"] = out["url"]
    if out.get("id") is not None:
        out["document_id"] = out["id"]
    out["id"] = record["id"]
    out["url"] = str(request.url_for("article_page", analysis_id=record["id"]))
    out["api_url"] = str(request.url_for("get_analysis", analysis_id=record["id"]))
    out["created_at"] = record["created_at"]
    return out
