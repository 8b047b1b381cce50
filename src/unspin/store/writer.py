"""Writing one document: its row, its span, sentence, claim, entity-role and narrative rows, its
outlet, and (for a primary) its MinHash signature and the copy links it makes. Used by `Store` and by
the schema migration."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime, timezone

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from unspin.aggregate.copies import CopyIndex, signature, signature_bytes, signature_from_bytes
from unspin.document import Document
from unspin.store.framing import add_framing
from unspin.store.schema import ORIGIN_CORPUS, ClaimRow, CopyLink, DocumentRow, Outlet, SentenceRow, Signature, SpanRow


def now() -> datetime:
    return datetime.now(timezone.utc)


def new_public_id() -> str:
    # 12 URL-safe characters (72 random bits): short enough for a link, not guessable.
    return secrets.token_urlsafe(9)


def article_score(doc: Document) -> float | None:
    article = doc.scores.get("article") if isinstance(doc.scores, dict) else None
    if isinstance(article, dict):
        for key in ("share", "score"):
            if isinstance(article.get(key), (int, float)):
                return float(article[key])
    return None


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def primary_ids(session: Session, hashes: Iterable[str]) -> dict[str, int]:
    """content hash -> id of the primary document that holds that text, for the hashes stored."""
    hashes = list(set(hashes))
    found: dict[str, int] = {}
    for i in range(0, len(hashes), 500):
        found.update(
            session.execute(
                select(DocumentRow.content_hash, DocumentRow.id).where(
                    DocumentRow.content_hash.in_(hashes[i : i + 500]), DocumentRow.duplicate_of.is_(None)
                )
            ).all()
        )
    return found


class CopyTracker:
    """The copy index of this process, kept in step with the database: each write transaction first
    reads the signatures stored since (by this or another process), and links those stored unlinked."""

    def __init__(self) -> None:
        self.index: CopyIndex | None = None
        self.loaded = 0  # highest document id read into the index

    def reset(self) -> None:
        """Forget the index (after a rolled-back transaction it may hold documents that are not stored)."""
        self.index, self.loaded = None, 0

    def refresh(self, session: Session) -> CopyIndex:
        if self.index is None:
            self.index = CopyIndex()
        rows = session.execute(
            select(Signature.document_id, Signature.minhash, Signature.shingles, Signature.linked,
                   DocumentRow.outlet, DocumentRow.published, DocumentRow.source)
            .join(DocumentRow, DocumentRow.id == Signature.document_id)
            .where(Signature.document_id > self.loaded)
            .order_by(Signature.document_id)
        ).all()  # fmt: skip
        for doc_id, mh, n, linked, outlet, published, source in rows:
            found = self.index.add(str(doc_id), minhash=signature_from_bytes(mh), size=n, outlet=outlet,
                                   published=published, source=source)  # fmt: skip
            if not linked:
                session.add_all(CopyLink(a_id=int(m.a), b_id=int(m.b), containment=m.containment) for m in found)
                session.execute(update(Signature).where(Signature.document_id == doc_id).values(linked=True))
            self.loaded = max(self.loaded, doc_id)
        self.index.matches.clear()
        return self.index

    def add(self, session: Session, doc_id: int, doc: Document) -> None:
        """Sign a new primary document and link it to the copies already indexed."""
        assert self.index is not None, "refresh() first"
        mh, n = signature(doc.text)
        session.add(Signature(document_id=doc_id, minhash=signature_bytes(mh), shingles=n, linked=True))
        found = self.index.add(str(doc_id), minhash=mh, size=n, outlet=doc.outlet, published=doc.published,
                               source=doc.source)  # fmt: skip
        session.add_all(CopyLink(a_id=int(m.a), b_id=int(m.b), containment=m.containment) for m in found)
        self.loaded = max(self.loaded, doc_id)


def insert_document(
    session: Session,
    doc: Document,
    *,
    origin: str,
    public_id: str | None = None,
    added_at: datetime | None = None,
    run_id: int | None = None,
    duplicate_of: int | None = None,
    spans: list[tuple[str, int, int, float]] | None = None,
    data: dict | None = None,
) -> DocumentRow:
    """Add one document and its rows to the session (flushed, so the row has its id). `spans` and
    `data` replace the span rows and the Document JSON made from `doc` (the migration keeps what it finds)."""
    row = DocumentRow(
        public_id=public_id or new_public_id(),
        origin=origin,
        content_hash=doc.content_hash,
        duplicate_of=duplicate_of,
        input_hash=doc.meta.get("input_hash"),
        record_id=doc.id,
        source=doc.source,
        url=doc.url,
        outlet=doc.outlet,
        title=doc.title,
        author=doc.author,
        published=doc.published,
        language=doc.language,
        article_score=article_score(doc),
        n_spans=len(doc.spans),
        n_words=len(doc.text.split()),
        run_id=run_id,
        added_at=added_at or now(),
        document=data if data is not None else doc.to_dict(),
    )
    session.add(row)
    session.flush()
    if origin == ORIGIN_CORPUS and public_id is None:
        # a corpus document's page is /a/corpus-<its id>, as it has always been
        row.public_id = f"corpus-{row.id}"
    if spans is None:
        spans = [(sp.technique, sp.start, sp.end, float(sp.score)) for sp in doc.spans]
    session.add_all(
        SpanRow(document_id=row.id, technique=t, start=a, end=b, score=s, text=doc.text[a:b]) for t, a, b, s in spans
    )
    session.add_all(SentenceRow(document_id=row.id, start=se.start, end=se.end, score=se.score) for se in doc.sentences)
    session.add_all(
        ClaimRow(document_id=row.id, start=c["start"], end=c["end"], score=_number(c.get("score")),
                 text=c.get("text") or doc.text[c["start"] : c["end"]])
        for c in doc.claims
    )  # fmt: skip
    add_framing(session, row, doc.entities, doc.narratives)
    if doc.outlet and duplicate_of is None:
        outlet = session.get(Outlet, doc.outlet)
        if outlet is None:
            session.add(Outlet(outlet=doc.outlet, name=doc.outlet_name, first_published=doc.published))
        elif doc.published and (outlet.first_published is None or doc.published < outlet.first_published):
            outlet.first_published = doc.published
        session.flush()
    return row
