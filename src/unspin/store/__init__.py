"""The one store: analyses saved from the web and documents added to a corpus, in one set of tables
(SQLite by default, PostgreSQL for teams)."""

from unspin.store.engine import DEFAULT_DB_URL, StoreError, normalise_url
from unspin.store.store import Store

__all__ = ["DEFAULT_DB_URL", "Store", "StoreError", "normalise_url"]
