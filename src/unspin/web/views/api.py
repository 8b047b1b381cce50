"""The REST API under /api: analyse, fetch a stored analysis, the technique taxonomy, health."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from unspin import __version__
from unspin.web.analysis import WebError, check_text, read_upload
from unspin.web.context import WebContext, context
from unspin.web.service import analyse_and_save, analysis_payload, valid_id
from unspin.web.taxonomy import techniques
from unspin.web.views.auth import require_key

ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "reason": {"type": "string"}},
    "required": ["error", "reason"],
}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR_SCHEMA}}}


MinScore = Annotated[
    float,
    Query(
        ge=0.0,
        le=1.0,
        description=(
            "Only technique spans with at least this confidence (0-1); sentence and article scores then "
            "cover the spans kept. 0: every span."
        ),
    ),
]
AllSpans = Annotated[
    bool,
    Query(
        description=(
            "Every technique span the model finds, each marked `precise` or not. Default: only the surer spans, "
            "those at the model's precise operating point (a confidence threshold chosen for precision over "
            "recall; the model card gives its precision and recall)."
        ),
    ),
]

router = APIRouter(prefix="/api", tags=["api"])
keyed = APIRouter(
    prefix="/api",
    tags=["api"],
    dependencies=[Depends(require_key)],
    responses={401: _error("API key missing or wrong (when the server has one)")},
)

ANALYZE_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "text": {"type": "string", "description": "The article as plain text (HTML is detected)."},
                    "html": {"type": "string", "description": "The article page as HTML."},
                    "source": {"type": "string", "description": "A name for the input, echoed in `source`."},
                },
            },
            "example": {"text": "Our glorious nation will never bow to these traitors."},
        },
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "file": {"type": "string", "format": "binary", "description": "A .txt or .html file."},
                    "text": {"type": "string"},
                },
            }
        },
    },
}


@router.get("/health")
def health() -> dict[str, str]:
    """Liveness: answers without an API key."""
    return {"status": "ok", "version": __version__}


@keyed.get("/techniques")
def list_techniques() -> dict[str, Any]:
    """The 14 techniques: label (PTC spelling), name, colour, definition, why it persuades, example."""
    return {"techniques": techniques()}


def parse_json(body: bytes) -> Any:
    """The request body as JSON; any way it can fail (bad syntax or encoding, nesting too deep for the
    parser, a number too long to convert) is a 400 that says which."""
    try:
        return json.loads(body)
    except RecursionError:
        raise WebError(400, "invalid_json", "the body is not valid JSON: nested too deeply") from None
    except json.JSONDecodeError as err:
        raise WebError(400, "invalid_json", f"the body is not valid JSON: {err}") from None
    except UnicodeDecodeError:
        raise WebError(400, "invalid_json", "the body is not valid JSON: not UTF-8, UTF-16 or UTF-32 text") from None
    except ValueError as err:  # integers past the interpreter's digit limit
        reason = "a number is too long" if "digits" in str(err) else "a value cannot be read"
        raise WebError(400, "invalid_json", f"the body is not valid JSON: {reason}") from None


async def _read_input(request: Request) -> tuple[str, str, str]:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json":
        body = await request.body()
        data = parse_json(body) if len(body) < 65536 else await run_in_threadpool(parse_json, body)
        if not isinstance(data, dict):
            raise WebError(422, "invalid_request", 'send a JSON object: {"text": ...} or {"html": ...}')
        source = data.get("source") if isinstance(data.get("source"), str) else None
        if source is not None:
            check_text("source", source)
        for kind in ("html", "text"):
            value = data.get(kind)
            if value is None:
                continue
            if not isinstance(value, str):
                raise WebError(422, "invalid_request", f"'{kind}' must be a string")
            if not value.strip():
                raise WebError(400, "bad_input", f"'{kind}' is empty")
            return check_text(kind, value), kind, source or f"<{kind}>"
        raise WebError(422, "invalid_request", 'the JSON object needs a "text" or an "html" field')
    if ctype == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=5)
        upload = form.get("file")
        if isinstance(upload, UploadFile):
            return await read_upload(upload)
        text = form.get("text")
        if isinstance(text, str) and text.strip():
            return check_text("text", text), "text", "<text>"
        raise WebError(422, "invalid_request", "the form needs a 'file' upload or a 'text' field")
    raise WebError(
        415,
        "unsupported_media_type",
        f"Content-Type {ctype or '(none)'} is not accepted: send application/json or multipart/form-data",
    )


@keyed.post(
    "/analyze",
    openapi_extra={"requestBody": ANALYZE_BODY},
    responses={
        200: {"description": "The Document JSON (title, text, spans, claims, ...) plus id, url, api_url, created_at"},
        400: _error("Empty or unreadable input"),
        413: _error("Body over the size limit"),
        415: _error("Binary upload or unsupported Content-Type"),
        422: _error("Neither text nor html given"),
        504: _error("Analysis over the time limit"),
    },
)
async def analyze(
    request: Request, min_score: MinScore = 0.0, all_spans: AllSpans = False, ctx: WebContext = Depends(context)
) -> JSONResponse:
    """Analyse an article (JSON `text` or `html`, or a file upload) and store it; returns the Document JSON
    with the analysis `id` and the `url` of its page. Every span is stored; the reply has the precise ones
    (`all_spans` for all), and `min_score` narrows it further."""
    content, kind, source = await _read_input(request)
    record = await analyse_and_save(ctx, content, kind, source)
    # Plain JSON already: skip FastAPI's per-value encoder, which dominates the cost of large documents.
    return JSONResponse(analysis_payload(request, record, min_score, all_spans))


@keyed.get(
    "/analyses/{analysis_id}",
    responses={
        200: {"description": "The stored Document JSON plus id and url"},
        404: _error("No analysis with this id"),
    },
)
async def get_analysis(
    analysis_id: str,
    request: Request,
    min_score: MinScore = 0.0,
    all_spans: AllSpans = False,
    ctx: WebContext = Depends(context),
) -> JSONResponse:
    """A stored analysis: the Document JSON with its `id` and `url`."""
    record = await run_in_threadpool(ctx.store.get, analysis_id) if valid_id(analysis_id) else None
    if record is None:
        raise WebError(404, "not_found", f"no analysis with id {analysis_id[:100]!r}")
    return JSONResponse(analysis_payload(request, record, min_score, all_spans))
