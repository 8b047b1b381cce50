"""ASGI middleware: request body limit and security headers on every response."""

from __future__ import annotations

import html
import json
from typing import Any

from unspin.web.analysis import WebError

Scope = dict[str, Any]

# Scripts only from our own static files: no inline script, no event-handler attributes, no eval.
# Styles allow inline because Plotly positions its chart with style elements.
CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


def too_large(limit: int) -> WebError:
    return WebError(
        413,
        "payload_too_large",
        f"request body larger than the limit of {limit / (1024 * 1024):g} MB; send a shorter article "
        "or start the server with a larger --max-body",
    )


async def send_json(send: Any, status: int, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _wants_html(scope: Scope) -> bool:
    """A browser form post (not the API): answer with a page the reader can go back from."""
    if scope.get("path", "").startswith("/api"):
        return False
    accept = dict(scope.get("headers", [])).get(b"accept", b"")
    return b"text/html" in accept


async def send_html(send: Any, status: int, reason: str) -> None:
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Too large — unspin</title>'
        '<link rel="stylesheet" href="/static/unspin.css"></head><body><main class="narrow">'
        f'<h1>{status}</h1><p class="error" role="alert">{html.escape(reason)}</p>'
        '<p><a href="/">Back to a new analysis</a></p></main></body></html>'
    )
    body = page.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in SECURITY_HEADERS if k not in names
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """Refuse bodies over `limit` bytes: at once from Content-Length, or while streaming when it is absent."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        error = too_large(self.limit)
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await send_json(send, 400, {"error": "bad_request", "reason": "invalid Content-Length"})
                    return
                if declared > self.limit:
                    if _wants_html(scope):
                        await send_html(send, 413, error.reason)
                    else:
                        await send_json(send, 413, {"error": error.code, "reason": error.reason})
                    return
        received = 0

        async def limited_receive() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise error
            return message

        await self.app(scope, limited_receive, send)
