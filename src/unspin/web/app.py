"""The application factory: API, pages, static files, limits and the API key."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from unspin import __version__
from unspin.store import DEFAULT_DB_URL, Store
from unspin.web.analysis import WebError, as_analyzer
from unspin.web.context import WebContext, error_response
from unspin.web.guards import RequestGuard
from unspin.web.limits import BodyLimit, SecurityHeaders
from unspin.web.runner import AnalysisRunner
from unspin.web.views import routers

HERE = Path(__file__).resolve().parent
DEFAULT_MAX_BODY = 5 * 1024 * 1024
DEFAULT_TIME_LIMIT = 60.0


def plotly_js_path() -> Path:
    return Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))


def create_app(
    db_url: str = DEFAULT_DB_URL,
    api_key: str | None = None,
    analyzer: Any = None,
    max_body: int = DEFAULT_MAX_BODY,
    time_limit: float = DEFAULT_TIME_LIMIT,
    parallel: int = 2,
    model: str = "fast",
    allowed_hosts: Collection[str] | None = None,
) -> FastAPI:
    """Build the app. `analyzer` is a callable `(content, kind, source) -> Document`, a Pipeline, or None
    (the default pipeline, with technique model `model`). `allowed_hosts`: the names (besides IP addresses
    and localhost) the server answers to in the Host header; None: any (`run` always passes them)."""
    api_key = api_key or os.environ.get("UNSPIN_API_KEY") or None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.web.runner.close()
        app.state.web.store.close()

    app = FastAPI(
        lifespan=lifespan,
        title="unspin",
        version=__version__,
        description="Show how a news article persuades: propaganda techniques at span level, check-worthy claims.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.autoescape = True  # every template, whatever its name
    app.state.web = WebContext(
        store=Store(db_url),
        runner=AnalysisRunner(as_analyzer(analyzer, model), time_limit, parallel),
        api_key=api_key,
        max_body=max_body,
        templates=templates,
        db_url=db_url,
    )

    @app.exception_handler(WebError)
    async def _web_error(request: Request, exc: WebError) -> Response:
        return error_response(request, exc.status, exc.code, exc.reason, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}.get(exc.status_code, "http_error")
        return error_response(request, exc.status_code, code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        reasons = "; ".join(f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors())
        return error_response(request, 422, "invalid_request", reasons)

    @app.exception_handler(Exception)
    async def _failed(request: Request, exc: Exception) -> Response:
        # The traceback goes to the server log (Starlette raises the exception again after this answer);
        # the client learns what kind of failure it was, never the server's internal text.
        reason = f"the server failed ({type(exc).__name__}); its log has the details"
        return error_response(request, 500, "internal_error", reason)

    @app.get("/static/vendor/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(plotly_js_path(), media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})

    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    for router in routers:
        app.include_router(router)
    app.add_middleware(BodyLimit, limit=max_body)
    app.add_middleware(RequestGuard, allowed_hosts=allowed_hosts)
    app.add_middleware(SecurityHeaders)

    return app
