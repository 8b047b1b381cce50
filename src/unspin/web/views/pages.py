"""HTML pages: the paste/upload form, the article page, its exports, the API reference."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from unspin import __version__
from unspin.web.analysis import WebError, check_text, read_upload
from unspin.web.context import WebContext, context, page
from unspin.web.highlight import article_view, report_view
from unspin.web.service import analyse_and_save, analysis_payload, valid_id
from unspin.web.taxonomy import techniques
from unspin.web.views.auth import login_redirect

router = APIRouter(include_in_schema=False)


async def _index(request: Request, error: str | None = None, text: str = "", status: int = 200) -> Response:
    ctx = context(request)
    recent = await run_in_threadpool(ctx.store.recent, 8)
    max_mb = f"{ctx.max_body / (1024 * 1024):g}"
    values = {"recent": recent, "error": error, "text": text, "max_mb": max_mb, "max_bytes": ctx.max_body}
    return page(request, "index.html", values, status)


@router.get("/")
async def index(request: Request, ctx: WebContext = Depends(context)) -> Response:
    if not ctx.key_ok(request):
        return login_redirect(request)
    return await _index(request)


@router.post("/analyze")
async def analyze_form(request: Request, ctx: WebContext = Depends(context)) -> Response:
    if not ctx.key_ok(request):
        return login_redirect(request)
    text = ""
    try:
        form = await request.form(max_files=1, max_fields=5)
        upload = form.get("file")
        text = form.get("text") if isinstance(form.get("text"), str) else ""  # type: ignore[assignment]
        if isinstance(upload, UploadFile) and upload.filename:
            content, kind, source = await read_upload(upload)
        elif text.strip():
            content, kind, source = check_text("text", text), "text", "<pasted text>"
        else:
            raise WebError(400, "bad_input", "paste an article or choose a .txt or .html file")
        record = await analyse_and_save(ctx, content, kind, source)
    except WebError as err:
        return await _index(request, error=err.reason, text=text, status=err.status)
    return RedirectResponse(request.url_for("article_page", analysis_id=record["id"]), status_code=303)


async def _record(ctx: WebContext, analysis_id: str) -> dict[str, Any]:
    record = None
    if valid_id(analysis_id):
        record = await run_in_threadpool(ctx.store.get, analysis_id)
    if record is None:
        raise WebError(404, "not_found", f"no analysis with id {analysis_id[:100]!r}")
    return record


@router.get("/a/{analysis_id}", name="article_page")
async def article_page(analysis_id: str, request: Request, ctx: WebContext = Depends(context)) -> Response:
    if not ctx.key_ok(request):
        return login_redirect(request)
    view = article_view(await _record(ctx, analysis_id))
    return page(request, "article.html", {"v": view, "taxonomy": techniques()})


@router.get("/a/{analysis_id}/export.json")
async def export_json(analysis_id: str, request: Request, ctx: WebContext = Depends(context)) -> Response:
    if not ctx.key_ok(request):
        return login_redirect(request)
    payload = analysis_payload(request, await _record(ctx, analysis_id), all_spans=True)  # the data, complete
    return Response(
        json.dumps(payload, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="unspin-{analysis_id}.json"'},
    )


@router.get("/a/{analysis_id}/report.html")
async def export_report(
    analysis_id: str,
    request: Request,
    min_score: float = 0.0,
    all_spans: bool = False,
    t: Annotated[list[str] | None, Query(description="Techniques to show (all when absent).")] = None,
    ctx: WebContext = Depends(context),
) -> Response:
    """A self-contained HTML file: inline CSS, no script, showing the spans the reader had chosen."""
    if not ctx.key_ok(request):
        return login_redirect(request)
    chosen = set(t) if t else None
    view = report_view(await _record(ctx, analysis_id), min_score=min_score, techniques=chosen, all_spans=all_spans)
    body = ctx.templates.get_template("report.html").render(v=view, version=__version__)
    return Response(
        body,
        media_type="text/html; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="unspin-{analysis_id}.html"'},
    )


@router.get("/api/docs")
async def api_docs(request: Request) -> Response:
    """The API reference, rendered from the OpenAPI schema (works offline, no scripts)."""
    spec = request.app.openapi()
    operations = []
    for path, methods in spec.get("paths", {}).items():
        for method, op in methods.items():
            operations.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "params": op.get("parameters", []),
                    "body": list(op.get("requestBody", {}).get("content", {}).keys()),
                    "responses": [(code, r.get("description", "")) for code, r in op.get("responses", {}).items()],
                }
            )
    return page(request, "apidocs.html", {"operations": operations, "info": spec.get("info", {})})
