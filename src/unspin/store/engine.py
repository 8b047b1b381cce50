"""One way to open a database: URLs from what users type, engines with the SQLite settings that
concurrent readers and writers need, and database failures turned into one clear `StoreError`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, IntegrityError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from unspin.errors import UnspinError

DEFAULT_DB_URL = "sqlite:///unspin.db"
# Seconds to wait for a database another process has locked before giving up.
LOCK_TIMEOUT = float(os.environ.get("UNSPIN_DB_TIMEOUT", "30"))
# Execution option: begin SQLite transactions with the write lock taken (BEGIN IMMEDIATE), so that
# what a writer reads cannot change before it writes.
WRITE_LOCK = "unspin_write_lock"


class StoreError(UnspinError):
    """The database cannot be used (unreachable, locked, damaged, not a database); names it and the reason."""


def normalise_url(url: str | None) -> str:
    """A SQLAlchemy URL from what the user typed: a URL, or a plain file path taken as an SQLite file
    (default unspin.db). PostgreSQL URLs that name no driver use psycopg (version 3), which unspin installs."""
    url = url or DEFAULT_DB_URL
    if "://" not in url:
        return f"sqlite:///{url}"
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


def _reason(err: BaseException) -> str:
    text = str(getattr(err, "orig", None) or err).strip()
    return text.splitlines()[0] if text else type(err).__name__


@contextmanager
def opening(url: str) -> Iterator[None]:
    """Failures while opening a database become a StoreError naming it."""
    try:
        yield
    except StoreError:
        raise
    except (ArgumentError, ValueError) as err:
        raise StoreError(f"{safe_url(url)}: not a database URL ({err})") from None
    except SQLAlchemyError as err:
        raise StoreError(f"{safe_url(url)}: cannot open the database: {_reason(err)}") from None
    except ImportError as err:
        raise StoreError(f"{safe_url(url)}: the database driver is not installed ({err.name})") from None


@contextmanager
def database_errors(url: str) -> Iterator[None]:
    """Database failures while working (locked, gone away, damaged) become a StoreError naming the
    database. Integrity errors pass through: the caller decides what a conflict means."""
    try:
        yield
    except IntegrityError:
        raise
    except DatabaseError as err:
        reason = _reason(err)
        if "locked" in reason:
            reason += f" (another process holds it; waited {LOCK_TIMEOUT:g} s, see UNSPIN_DB_TIMEOUT)"
        elif "malformed" in reason or "not a database" in reason:
            reason = f"the database file is damaged ({reason})"
        raise StoreError(f"{safe_url(url)}: {reason}") from None


def make_engine(url: str) -> Engine:
    """An engine for a normalised URL. SQLite: foreign keys on, WAL (readers do not block the writer),
    a busy timeout, and transactions begun by us so that writers can take the lock up front."""
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
        # The driver's own transaction handling would begin a transaction only before the first
        # INSERT, so reads and schema changes would escape it; SQLAlchemy emits BEGIN instead (below).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        if not in_memory:
            cur.execute(f"PRAGMA busy_timeout={int(LOCK_TIMEOUT * 1000)}")
            cur.execute("PRAGMA journal_mode=WAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE_LOCK) else "BEGIN")

    return engine
