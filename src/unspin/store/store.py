"""`Store`: save a Document, get it back by its id."""

from __future__ import annotations

import secrets
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from unspin.document import Document
from unspin.store.engine import DEFAULT_DB_URL, make_engine, normalise_url
from unspin.store.schema import Base, DocumentRow, SpanRow


def _new_id() -> str:
    # 12 URL-safe characters (72 random bits): short enough for a link, not guessable.
    return secrets.token_urlsafe(9)


class Store:
    """Analyses in a SQL database; tables are created on first use."""

    def __init__(self, url: str = DEFAULT_DB_URL) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(self.url)
        Base.metadata.create_all(self.engine)
        self._session = sessionmaker(self.engine, expire_on_commit=False)

    def save(self, doc: Document) -> str:
        """Store one analysed Document; returns its new id."""
        data = doc.to_dict()
        row = DocumentRow(
            id=_new_id(),
            content_hash=doc.content_hash,
            source=doc.source,
            title=doc.title,
            outlet=doc.outlet,
            published=doc.published,
            created_at=datetime.now(timezone.utc),
            document=data,
        )
        row.spans = [SpanRow(technique=s.technique, start=s.start, end=s.end, score=float(s.score)) for s in doc.spans]
        with self._session.begin() as session:
            session.add(row)
        return row.id

    def get(self, analysis_id: str) -> dict[str, Any] | None:
        """The stored analysis: `{"id", "created_at", "document"}`, or None when there is no such id."""
        with Session(self.engine) as session:
            row = session.get(DocumentRow, analysis_id)
            if row is None:
                return None
            return {"id": row.id, "created_at": _iso(row.created_at), "document": row.document}

    def recent(self, limit: int = 10) -> list[dict[str, Any]]:
        """The latest analyses, newest first, as short summaries."""
        spans = select(SpanRow.document_id, func.count().label("n")).group_by(SpanRow.document_id).subquery()
        query = (
            select(DocumentRow.id, DocumentRow.title, DocumentRow.outlet, DocumentRow.created_at, spans.c.n)
            .outerjoin(spans, spans.c.document_id == DocumentRow.id)
            .order_by(DocumentRow.created_at.desc())
            .limit(limit)
        )
        with Session(self.engine) as session:
            return [
                {"id": r.id, "title": r.title, "outlet": r.outlet, "created_at": _iso(r.created_at), "spans": r.n or 0}
                for r in session.execute(query)
            ]

    def count(self) -> int:
        with Session(self.engine) as session:
            return session.scalar(select(func.count()).select_from(DocumentRow)) or 0

    def close(self) -> None:
        self.engine.dispose()


def _iso(value: datetime) -> str:
    # SQLite hands datetimes back without their zone; they were stored in UTC.
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.isoformat()
