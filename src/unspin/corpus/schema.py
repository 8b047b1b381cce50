"""Corpus tables: documents (one per distinct content), their spans, sentences and claims, outlets,
runs, errors, and the MinHash signatures and links behind republished-copy detection."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class CorpusBase(DeclarativeBase):
    pass


class Run(CorpusBase):
    __tablename__ = "corpus_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    inputs: Mapped[list] = mapped_column(JSON)
    model: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # running | finished | failed
    added: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)


class Outlet(CorpusBase):
    __tablename__ = "corpus_outlets"

    outlet: Mapped[str] = mapped_column(String(255), primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)
    first_published: Mapped[str | None] = mapped_column(String(40))


class CorpusDocument(CorpusBase):
    __tablename__ = "corpus_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # hash of the input as read (before extraction and cleaning): lets a resumed run skip it unread
    input_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    record_id: Mapped[str | None] = mapped_column(String(255), index=True)
    source: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    outlet: Mapped[str | None] = mapped_column(String(255), index=True)
    title: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    published: Mapped[str | None] = mapped_column(String(40), index=True)
    language: Mapped[str | None] = mapped_column(String(8))
    article_score: Mapped[float | None] = mapped_column(Float)
    n_spans: Mapped[int] = mapped_column(Integer, default=0)
    n_words: Mapped[int] = mapped_column(Integer, default=0)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("corpus_runs.id"))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    document: Mapped[dict] = mapped_column(JSON)


class CorpusSpan(CorpusBase):
    __tablename__ = "corpus_spans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("corpus_documents.id", ondelete="CASCADE"), index=True)
    technique: Mapped[str] = mapped_column(String(64), index=True)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)


class CorpusSentence(CorpusBase):
    __tablename__ = "corpus_sentences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("corpus_documents.id", ondelete="CASCADE"), index=True)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    score: Mapped[float | None] = mapped_column(Float)


class CorpusClaim(CorpusBase):
    __tablename__ = "corpus_claims"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("corpus_documents.id", ondelete="CASCADE"), index=True)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)


class CorpusError(CorpusBase):
    __tablename__ = "corpus_errors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("corpus_runs.id"), index=True)
    source: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Signature(CorpusBase):
    __tablename__ = "corpus_signatures"

    document_id: Mapped[int] = mapped_column(ForeignKey("corpus_documents.id", ondelete="CASCADE"), primary_key=True)
    minhash: Mapped[bytes] = mapped_column(LargeBinary)
    shingles: Mapped[int] = mapped_column(Integer)


class CopyLink(CorpusBase):
    __tablename__ = "corpus_copy_links"
    __table_args__ = (UniqueConstraint("a_id", "b_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    a_id: Mapped[int] = mapped_column(ForeignKey("corpus_documents.id", ondelete="CASCADE"), index=True)
    b_id: Mapped[int] = mapped_column(ForeignKey("corpus_documents.id", ondelete="CASCADE"), index=True)
    containment: Mapped[float] = mapped_column(Float)


class Embedding(CorpusBase):
    __tablename__ = "corpus_embeddings"

    document_id: Mapped[int] = mapped_column(ForeignKey("corpus_documents.id", ondelete="CASCADE"), primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # float16, unit length
