"""The tables of the one store: every stored document (an analysis saved from the web or a document
added to a corpus) with its spans, sentences, claims, entity roles and narratives; outlets; `corpus
add` runs and the inputs they could not store; the MinHash signatures and links behind
republished-copy detection; story embeddings; and the version of this schema (see
`unspin.store.migrate`).

Each distinct text is stored once as a *primary* document; the web may keep further analyses of the
same text (each keeps its own page), stored as rows whose `duplicate_of` names the primary. Counts,
aggregates, copies and stories read primaries only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SCHEMA_VERSION = 3
ORIGIN_WEB = "web"
ORIGIN_CORPUS = "corpus"


class Base(DeclarativeBase):
    pass


class SchemaVersion(Base):
    __tablename__ = "unspin_schema"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)


class Run(Base):
    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    inputs: Mapped[list] = mapped_column(JSON)
    model: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # running | finished | failed | interrupted
    added: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    # who runs it and when it last wrote: a later run tells a live run from a killed one
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Outlet(Base):
    __tablename__ = "outlets"

    outlet: Mapped[str] = mapped_column(String(255), primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)
    first_published: Mapped[str | None] = mapped_column(String(40))


class DocumentRow(Base):
    __tablename__ = "documents"
    __table_args__ = (
        # Each distinct text once among primaries: concurrent writers of one text cannot both store it.
        Index(
            "uq_documents_primary_content",
            "content_hash",
            unique=True,
            sqlite_where=text("duplicate_of IS NULL"),
            postgresql_where=text("duplicate_of IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # the id in page and API URLs (/a/<public_id>)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    origin: Mapped[str] = mapped_column(String(8), index=True)  # web | corpus
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    # hash of the input as read (before extraction and cleaning): lets a resumed run skip it unread
    input_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    record_id: Mapped[str | None] = mapped_column(String(255), index=True)
    source: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    outlet: Mapped[str | None] = mapped_column(String(255), index=True)
    title: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    published: Mapped[str | None] = mapped_column(String(64), index=True)
    language: Mapped[str | None] = mapped_column(String(16))
    article_score: Mapped[float | None] = mapped_column(Float)
    n_spans: Mapped[int] = mapped_column(Integer, default=0)
    n_words: Mapped[int] = mapped_column(Integer, default=0)
    # entities and narratives found; None: the framing stage did not run on this document (counted apart)
    n_entities: Mapped[int | None] = mapped_column(Integer)
    n_narratives: Mapped[int | None] = mapped_column(Integer)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"), index=True)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    document: Mapped[dict] = mapped_column(JSON)


def _document_fk() -> Mapped[int]:
    return mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)


class SpanRow(Base):
    __tablename__ = "spans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[int] = _document_fk()
    technique: Mapped[str] = mapped_column(String(64), index=True)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)


class SentenceRow(Base):
    __tablename__ = "sentences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[int] = _document_fk()
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    score: Mapped[float | None] = mapped_column(Float)


class ClaimRow(Base):
    __tablename__ = "claims"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[int] = _document_fk()
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    score: Mapped[float | None] = mapped_column(Float)  # None: the detector gave no score
    text: Mapped[str] = mapped_column(Text)


class EntityRoleRow(Base):
    """One entity an article casts: its name as the article gives it, a key that meets the same name
    written otherwise in other articles (`entity_key`), its main role (None: the text frames none), its
    best fine role, its score and how often the article names it."""

    __tablename__ = "entity_roles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[int] = _document_fk()
    name: Mapped[str] = mapped_column(Text)
    key: Mapped[str] = mapped_column(Text, index=True)
    main_role: Mapped[str | None] = mapped_column(String(32))
    fine_role: Mapped[str | None] = mapped_column(String(64))
    score: Mapped[float | None] = mapped_column(Float)
    n_mentions: Mapped[int] = mapped_column(Integer, default=0)


class NarrativeRow(Base):
    """One narrative (and subnarrative, where given) an article serves, with its score."""

    __tablename__ = "narratives"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[int] = _document_fk()
    narrative: Mapped[str] = mapped_column(Text, index=True)
    subnarrative: Mapped[str | None] = mapped_column(Text)
    score: Mapped[float | None] = mapped_column(Float)


class InputErrorRow(Base):
    __tablename__ = "input_errors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"), index=True)
    source: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Signature(Base):
    __tablename__ = "signatures"

    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True)
    minhash: Mapped[bytes] = mapped_column(LargeBinary)
    shingles: Mapped[int] = mapped_column(Integer)
    # false until the copy links of this document are written (the web stores analyses unlinked;
    # the next writer that loads the copy index links them)
    linked: Mapped[bool] = mapped_column(Boolean, default=True)


class CopyLink(Base):
    __tablename__ = "copy_links"
    __table_args__ = (UniqueConstraint("a_id", "b_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    a_id: Mapped[int] = _document_fk()
    b_id: Mapped[int] = _document_fk()
    containment: Mapped[float] = mapped_column(Float)


class Embedding(Base):
    __tablename__ = "embeddings"

    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # float16, unit length
