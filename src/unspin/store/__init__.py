"""Storage of analyses: SQLite by default, any SQLAlchemy URL otherwise."""

from unspin.store.store import DEFAULT_DB_URL, Store, normalise_url

__all__ = ["DEFAULT_DB_URL", "Store", "normalise_url"]
