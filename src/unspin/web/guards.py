"""Request guards: state changes only from this site, Host names that cannot be rebound, odd paths refused,
and a throttle on wrong API keys."""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections.abc import Collection
from typing import Any
from urllib.parse import urlsplit

from unspin.web.analysis import WebError
from unspin.web.limits import DRAIN_CAP, Scope, drain, send_error

SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}
LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}
DEFAULT_PORTS = {"http": "80", "https": "443"}


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def split_host(host: str) -> tuple[str, str]:
    """`name[:port]` or `[v6]:port` as (lower-case name without brackets, port or "")."""
    host = host.strip().lower()
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        return name, rest[1:] if rest.startswith(":") else ""
    if host.count(":") == 1:
        name, _, port = host.partition(":")
        return name, port
    return host, ""


def is_ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _origin_netloc(url: str) -> tuple[str, str] | None:
    """(host, port) of an Origin or Referer URL, the scheme's default port made explicit; None if unreadable."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.hostname.lower(), str(port) if port is not None else DEFAULT_PORTS[parts.scheme]


def _request_netloc(scope: Scope) -> tuple[str, str] | None:
    host = _header(scope, b"host")
    if not host:
        return None
    name, port = split_host(host)
    return name, port or DEFAULT_PORTS.get(scope.get("scheme", "http"), "80")


def _same_site_default_port(a: tuple[str, str], b: tuple[str, str]) -> bool:
    # Behind a proxy that ends TLS, the Host may carry no port while the browser's origin is https: 443.
    return a[0] == b[0] and (a[1] == b[1] or {a[1], b[1]} <= {"80", "443"})


def cross_site_reason(scope: Scope) -> str | None:
    """Why a state-changing request looks sent by another site, or None when it does not.

    Browsers name the page that sent a request in Origin (every cross-site POST) and Sec-Fetch-Site;
    Referer is the fallback. A request with none of them comes from a script or a command-line client,
    not from a page a user was lured to, and passes.
    """
    fetch_site = _header(scope, b"sec-fetch-site")
    if fetch_site in ("cross-site", "same-site"):
        return f"the request came from another site (Sec-Fetch-Site: {fetch_site})"
    here = _request_netloc(scope)
    for name in (b"origin", b"referer"):
        value = _header(scope, name)
        if value is None:
            continue
        if value.strip() == "null":
            return f"the request came from a page with no origin ({name.decode().title()}: null)"
        there = _origin_netloc(value)
        if there is None or here is None or not _same_site_default_port(there, here):
            return f"the request came from another site ({name.decode().title()}: {value[:200]})"
        return None
    return None


def host_allowed(host: str | None, allowed: Collection[str]) -> bool:
    """IP literals cannot be rebound to this server by someone else's DNS, loopback names and the names
    the server was told about are ours; any other name may be a DNS-rebinding page."""
    if not host:
        return False
    name, _port = split_host(host)
    return is_ip_literal(name) or name in LOOPBACK_NAMES or name.endswith(".localhost") or name in allowed


class RequestGuard:
    """ASGI middleware: refuses control characters in the path, Host names the server does not answer to
    (when `allowed_hosts` is given), and state-changing requests sent by another site."""

    def __init__(self, app: Any, allowed_hosts: Collection[str] | None = None) -> None:
        self.app = app
        self.allowed_hosts = None if allowed_hosts is None else {h.lower() for h in allowed_hosts}

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        error = self.check(scope)
        if error is not None:
            if scope.get("method", "GET") not in SAFE_METHODS:
                await drain(receive, DRAIN_CAP)  # so that a client still sending gets the answer
            await send_error(scope, send, error)
            return
        await self.app(scope, receive, send)

    def check(self, scope: Scope) -> WebError | None:
        path = scope.get("path", "")
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in path):
            return WebError(400, "invalid_path", "the path holds control characters (such as a newline or NUL)")
        host = _header(scope, b"host")
        if self.allowed_hosts is not None and not host_allowed(host, self.allowed_hosts):
            return WebError(
                400,
                "invalid_host",
                f"this server does not answer to the name {(host or '(none)')[:200]!r}; use its address, or add "
                "the name to UNSPIN_ALLOWED_HOSTS",
            )
        if scope.get("method", "GET") not in SAFE_METHODS:
            reason = cross_site_reason(scope)
            if reason is not None:
                return WebError(
                    403, "cross_origin", f"{reason}: changes are only accepted from this server's own pages"
                )
        return None


class KeyThrottle:
    """Wrong API keys per client address: a burst of `burst` guesses, then one every `1 / rate` seconds.

    While a client has no guess left, every attempt is refused before its key is looked at, so guessing
    cannot go faster than `rate` per second. A right key clears the client's record.
    """

    MAX_CLIENTS = 10_000

    def __init__(self, burst: int = 10, rate: float = 1 / 6) -> None:
        self.burst = burst
        self.rate = rate
        self._tokens: dict[str, tuple[float, float]] = {}  # client -> (guesses left, when counted)
        self._lock = threading.Lock()

    def _left(self, client: str, now: float) -> float:
        left, when = self._tokens.get(client, (float(self.burst), now))
        return min(float(self.burst), left + (now - when) * self.rate)

    def wait(self, client: str) -> float:
        """Seconds until this client may try a key again (0: now)."""
        with self._lock:
            left = self._left(client, time.monotonic())
        return 0.0 if left >= 1 else (1 - left) / self.rate

    def failed(self, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._tokens[client] = (max(0.0, self._left(client, now) - 1), now)
            if len(self._tokens) > self.MAX_CLIENTS:
                # Forget the clients whose guesses are back in full first, then the oldest.
                full = [c for c in self._tokens if self._left(c, now) >= self.burst]
                for c in full or sorted(self._tokens, key=lambda c: self._tokens[c][1])[: len(self._tokens) // 10]:
                    del self._tokens[c]

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._tokens.pop(client, None)

    def refuse_if_throttled(self, client: str) -> None:
        wait = self.wait(client)
        if wait > 0:
            seconds = math.ceil(wait)
            raise WebError(
                429,
                "too_many_attempts",
                f"too many wrong API keys from this address; try again in {seconds} s",
                headers={"Retry-After": str(seconds)},
            )
