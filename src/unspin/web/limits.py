"""ASGI middleware: request body limit and security headers on every response."""

from __future__ import annotations

import asyncio
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
    # Not "no-referrer": under it browsers send `Origin: null` with our own form posts, and the origin
    # check (guards.py) needs the real one. "same-origin" still tells other sites nothing.
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


# The most a refused body is read (and dropped) for, so that the client gets the answer; beyond it,
# the connection is closed.
DRAIN_CAP = 64 * 1024 * 1024
DRAIN_SECONDS = 30.0


def too_large(limit: int) -> WebError:
    return WebError(
        413,
        "payload_too_large",
        f"request body larger than the limit of {limit / (1024 * 1024):g} MB; send a shorter article "
        "or start the server with a larger --max-body",
    )


async def _send(send: Any, status: int, ctype: bytes, body: bytes, headers: dict[str, str] | None) -> None:
    extra = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", ctype), (b"content-length", str(len(body)).encode()), *extra],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def send_json(send: Any, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
    await _send(send, status, b"application/json", json.dumps(payload).encode(), headers)


def _wants_html(scope: Scope) -> bool:
    """A browser form post (not the API): answer with a page the reader can go back from."""
    if scope.get("path", "").startswith("/api"):
        return False
    accept = dict(scope.get("headers", [])).get(b"accept", b"")
    return b"text/html" in accept


async def send_html(send: Any, status: int, reason: str, headers: dict[str, str] | None = None) -> None:
    page = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{status} — unspin</title>'
        '<link rel="stylesheet" href="/static/unspin.css"></head><body><main class="narrow">'
        f'<h1>{status}</h1><p class="error" role="alert">{html.escape(reason)}</p>'
        '<p><a href="/">Back to a new analysis</a></p></main></body></html>'
    )
    await _send(send, status, b"text/html; charset=utf-8", page.encode(), headers)


async def send_error(scope: Scope, send: Any, error: WebError) -> None:
    """Answer from middleware, before any route: an error page for a browser's form post, JSON otherwise."""
    if _wants_html(scope):
        await send_html(send, error.status, error.reason, error.headers)
    else:
        await send_json(send, error.status, {"error": error.code, "reason": error.reason}, error.headers)


async def drain(receive: Any, cap: int, seconds: float = DRAIN_SECONDS) -> bool:
    """Read and drop the rest of a request body, up to `cap` bytes and `seconds`; True when it all came.

    A server that answers before reading the body and then closes the connection makes the kernel reset
    it, and a client still sending (Python's urllib, for one) gets "connection reset" instead of the
    answer. Reading what the client sends first lets the answer arrive.
    """

    async def read() -> bool:
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return False
            seen += len(message.get("body", b""))
            if not message.get("more_body", False):
                return True
            if seen > cap:
                return False

    try:
        return await asyncio.wait_for(read(), seconds)
    except asyncio.TimeoutError:
        return False


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
    """Refuse bodies over `limit` bytes: from Content-Length before reading, or while streaming when it is
    absent; either way after draining what the client sends (up to `DRAIN_CAP`), so that the 413 reaches it."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        error = too_large(self.limit)
        headers = dict(scope.get("headers", []))
        if b"content-length" in headers:
            value = headers[b"content-length"]
            if not value.isdigit() or len(value) > 18:
                await send_json(send, 400, {"error": "bad_request", "reason": "invalid Content-Length"})
                return
            declared = int(value)
            if declared > self.limit:
                # A client that asked "Expect: 100-continue" has not sent the body: nothing to drain.
                if declared <= DRAIN_CAP and headers.get(b"expect", b"").lower() != b"100-continue":
                    await drain(receive, DRAIN_CAP)
                await send_error(scope, send, error)
                return
        received = 0

        async def limited_receive() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    if message.get("more_body", False):
                        await drain(receive, DRAIN_CAP)
                    raise error
            return message

        await self.app(scope, limited_receive, send)
