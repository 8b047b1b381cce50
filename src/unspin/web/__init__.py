"""The web app and REST API (FastAPI). The library never imports this package."""

from __future__ import annotations

import ipaddress
import os
import socket
from typing import Any

from unspin.errors import UnspinError
from unspin.store import DEFAULT_DB_URL

LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


def create_app(*args: Any, **kwargs: Any) -> Any:
    from unspin.web.app import create_app as factory

    return factory(*args, **kwargs)


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, api_key: str | None) -> None:
    """Refuse to listen beyond this machine without an API key."""
    if not is_loopback(host) and not api_key:
        raise UnspinError(
            f"refusing to listen on {host} without an API key: anyone who can reach this machine could use it. "
            "Pass --api-key or set UNSPIN_API_KEY, or keep the default host 127.0.0.1."
        )


def allowed_hosts(host: str) -> set[str]:
    """The names the server answers to in the Host header, besides IP addresses and localhost: the name it
    was bound to, this machine's names when it listens beyond loopback, and UNSPIN_ALLOWED_HOSTS
    (comma-separated). Any other name could be a page that rebound its DNS name to this server."""
    names = {n.strip().lower() for n in os.environ.get("UNSPIN_ALLOWED_HOSTS", "").split(",") if n.strip()}
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        names.add(host.lower())
    if not is_loopback(host):
        names |= {socket.gethostname().lower(), socket.getfqdn().lower()}
    return names


def open_app(db: str, api_key: str | None, hosts: set[str], **options: Any) -> Any:
    """`create_app`, with a database that cannot be opened (not a database, damaged, unreachable) told
    in one line rather than a traceback."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        return create_app(db_url=db, api_key=api_key, allowed_hosts=hosts, **options)
    except (SQLAlchemyError, OSError) as err:
        detail = str(getattr(err, "orig", None) or err).splitlines()[0]
        raise UnspinError(f"cannot open the database {db}: {detail}") from None


def run(
    host: str = "127.0.0.1",
    port: int = 8000,
    db: str = DEFAULT_DB_URL,
    api_key: str | None = None,
    **options: Any,
) -> None:
    """Serve the web app and the API with uvicorn until interrupted."""
    import uvicorn

    api_key = api_key or os.environ.get("UNSPIN_API_KEY") or None
    check_bind(host, api_key)
    app = open_app(db, api_key, allowed_hosts(host), **options)
    uvicorn.run(app, host=host, port=port, log_level="info", server_header=False)


__all__ = ["allowed_hosts", "check_bind", "create_app", "is_loopback", "run"]
