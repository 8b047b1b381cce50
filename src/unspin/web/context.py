"""What every handler shares (`WebContext`), how a handler reaches it, and the error reply."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from fastapi.templating import Jinja2Templates

from unspin import __version__
from unspin.store import DEFAULT_DB_URL, Store
from unspin.web.guards import KeyThrottle
from unspin.web.runner import AnalysisRunner

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
    throttle: KeyThrottle = field(default_factory=KeyThrottle)

    def corpus(self) -> Store:
        """The store, as the corpus dashboard reads it (web analyses and `corpus add` documents alike)."""
        return self.store

    def key_ok(self, request: Request) -> bool:
        """Whether the request carries the key (always, when the server has none). A client that sent too
        many wrong keys is answered 429 before its key is looked at."""
        if not self.api_key:
            return True
        given = request.headers.get(KEY_HEADER) or request.cookies.get(KEY_COOKIE) or ""
        return bool(given) and self.check_key(request, given)

    def check_key(self, request: Request, given: str) -> bool:
        """Compare a key the client sent, throttling wrong guesses per client address."""
        client = request.client.host if request.client else "?"
        self.throttle.refuse_if_throttled(client)
        if self.api_key and secrets.compare_digest(given.encode("utf-8", "replace"), self.api_key.encode()):
            self.throttle.succeeded(client)
            return True
        self.throttle.failed(client)
        return False


def context(request: Request) -> WebContext:
    return request.app.state.web


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api") or "text/html" not in request.headers.get("accept", "")


def error_response(
    request: Request, status: int, code: str, reason: str, headers: dict[str, str] | None = None
) -> Response:
    """JSON `{"error", "reason"}` for the API and scripts; an HTML error page for browsers."""
    if _wants_json(request):
        return JSONResponse({"error": code, "reason": reason}, status_code=status, headers=headers)
    templates: Jinja2Templates = request.app.state.web.templates
    return templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "code": code, "reason": reason, "version": __version__},
        status_code=status,
        headers=headers,
    )


def page(request: Request, name: str, values: dict[str, Any], status: int = 200) -> Response:
    """Render template `name` with the version and `values`."""
    ctx = context(request)
    return ctx.templates.TemplateResponse(request, name, {"version": __version__, **values}, status_code=status)
