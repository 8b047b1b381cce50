"""The application factory: API, pages, static files, limits and the API key."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from unspin import __version__
from unspin.store import DEFAULT_DB_URL, Store
from unspin.web.analysis import AnalysisRunner, WebError, as_analyzer
from unspin.web.limits import BodyLimit, SecurityHeaders

HERE = Path(__file__).resolve().parent
DEFAULT_MAX_BODY = 5 * 1024 * 1024
DEFAULT_TIME_LIMIT = 60.0
KEY_HEADER = "X-API-Key"
KEY_COOKIE = "unspin_key"


@dataclass
class WebContext:
    """What the handlers share: the store, the analysis runner, the settings."""

    store: Store
    runner: AnalysisRunner
    api_key: str | None
    max_body: int
    templates: Jinja2Templates
    db_url: str = DEFAULT_DB_URL
    _corpus: Any = None

    def corpus(self) -> Any:
        """The corpus store in the same database (what `unspin corpus add` wrote), opened on first use."""
        if self._corpus is None:
            from unspin.corpus.store import CorpusStore

            self._corpus = CorpusStore(self.db_url)
        return self._corpus

    def key_ok(self, request: Request) -> bool:
        if not self.api_key:
            return True
        given = request.headers.get(KEY_HEADER) or request.cookies.get(KEY_COOKIE) or ""
        return secrets.compare_digest(given.encode(), self.api_key.encode())


def context(request: Request) -> WebContext:
    return request.app.state.web


def plotly_js_path() -> Path:
    return Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api") or "text/html" not in request.headers.get("accept", "")


def error_response(request: Request, status: int, code: str, reason: str) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": code, "reason": reason}, status_code=status)
    templates: Jinja2Templates = request.app.state.web.templates
    return templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "code": code, "reason": reason, "version": __version__},
        status_code=status,
    )


def create_app(
    db_url: str = DEFAULT_DB_URL,
    api_key: str | None = None,
    analyzer: Any = None,
    max_body: int = DEFAULT_MAX_BODY,
    time_limit: float = DEFAULT_TIME_LIMIT,
    parallel: int = 2,
    model: str = "fast",
) -> FastAPI:
    """Build the app. `analyzer` is a callable `(content, kind, source) -> Document`, a Pipeline, or None
    (the default pipeline, with technique model `model`)."""
    from unspin.api.routes import routers as api_routers
    from unspin.web.dashboard import router as dashboard_router
    from unspin.web.views import router as page_router

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
        return error_response(request, exc.status, exc.code, exc.reason)

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
        # The traceback goes to the server log; the client gets JSON that says what failed.
        return error_response(request, 500, "internal_error", f"the server failed: {type(exc).__name__}: {exc}")

    @app.get("/static/vendor/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(plotly_js_path(), media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})

    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    for api_router in api_routers:
        app.include_router(api_router)
    app.include_router(page_router)
    app.include_router(dashboard_router)
    app.add_middleware(BodyLimit, limit=max_body)
    app.add_middleware(SecurityHeaders)

    return app
