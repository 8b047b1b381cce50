"""One way to open a database for every store: URLs from what users type, and engines with the
SQLite settings that concurrent readers and a writer need."""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

DEFAULT_DB_URL = "sqlite:///unspin.db"
# Seconds to wait for a database another process has locked before giving up.
LOCK_TIMEOUT = float(os.environ.get("UNSPIN_DB_TIMEOUT", "30"))


def normalise_url(url: str) -> str:
    """Accept a SQLAlchemy URL or a plain file path (taken as an SQLite file)."""
    if "://" in url:
        return url
    return f"sqlite:///{url}"


def with_driver(url: str) -> str:
    """PostgreSQL URLs that name no driver use psycopg (version 3), the driver unspin installs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def safe_url(url: str) -> str:
    """The URL with its password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def make_engine(url: str) -> Engine:
    url = with_driver(normalise_url(url))
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    in_memory = parsed.database in (None, "", ":memory:")
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": LOCK_TIMEOUT}}
    if in_memory:
        # One shared connection, or every new connection would see an empty database.
        kwargs["poolclass"] = StaticPool
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        if not in_memory:
            # Readers do not block the writer: the web app reads while `corpus add` or a save writes.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={int(LOCK_TIMEOUT * 1000)}")
        cur.close()

    return engine
