"""`Store`: the one store of analyses, for the CLI, the corpus runner and the web app.

Every write is one transaction. Each distinct text is stored once as a primary document (its content
hash is unique among primaries, so two processes adding the same text store it once: the second
counts it as already stored); the web keeps each further analysis of a text as a duplicate row with
its own page. Database failures become a `StoreError` naming the database.
"""

from __future__ import annotations

import functools
import os
import re
import socket
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from unspin.document import Document
from unspin.errors import InputError
from unspin.store.engine import WRITE_LOCK, StoreError, database_errors, make_engine, normalise_url, opening, safe_url
from unspin.store.migrate import prepare
from unspin.store.schema import (
    ORIGIN_CORPUS,
    ORIGIN_WEB,
    DocumentRow,
    Embedding,
    InputErrorRow,
    Run,
    Signature,
    SpanRow,
)
from unspin.store.writer import CopyTracker, insert_document, now, primary_ids

F = TypeVar("F", bound=Callable[..., Any])
PUBLIC_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
# A run on another machine that has not written for this long is taken as killed.
STALE_AFTER = timedelta(minutes=15)
# Tries of a write that lost a race with another writer of the same text (it then sees that text stored).
WRITE_TRIES = 5


def _guarded(method: F) -> F:
    @functools.wraps(method)
    def wrapper(self: Store, *args: Any, **kwargs: Any) -> Any:
        with database_errors(self.url):
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    # SQLite hands datetimes back without their zone; they were stored in UTC.
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.isoformat()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # another user's process, or a platform that cannot tell
    return True


class Store:
    """Documents in SQLite (default `unspin.db`) or PostgreSQL; the schema is created or brought up
    to date on opening (`unspin.store.migrate`)."""

    def __init__(self, url: str | None = None) -> None:
        self.url = normalise_url(url)
        with opening(self.url):
            self.engine = make_engine(self.url)
            self._writer = self.engine.execution_options(**{WRITE_LOCK: True})
            prepare(self.engine, self._writer)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(self._writer, expire_on_commit=False)
        self._copies = CopyTracker()

    @property
    def display_url(self) -> str:
        return safe_url(self.url)

    def _retrying(self, work: Callable[[Session], Any]) -> Any:
        """Run `work` in one write transaction; when it collides with another writer of the same text
        (an integrity error), run it again on what that writer stored."""
        for attempt in range(WRITE_TRIES):
            try:
                with self._write.begin() as session:
                    return work(session)
            except IntegrityError as err:
                self._copies.reset()
                if attempt == WRITE_TRIES - 1:
                    raise StoreError(f"{self.display_url}: writes keep colliding: {err.orig}") from None
        raise AssertionError("unreachable")

    # -- analyses from the web -------------------------------------------------------------------

    @_guarded
    def save(self, doc: Document) -> str:
        """Store one analysis from the web; returns its public id (its page is /a/<id>). Copy links of
        a new text are made by the next writer that loads the copy index (`corpus add`, `copies`)."""

        def work(session: Session) -> str:
            primary = primary_ids(session, [doc.content_hash]).get(doc.content_hash)
            row = insert_document(session, doc, origin=ORIGIN_WEB, duplicate_of=primary)
            if primary is None:
                from unspin.aggregate.copies import signature, signature_bytes

                mh, n = signature(doc.text)
                session.add(Signature(document_id=row.id, minhash=signature_bytes(mh), shingles=n, linked=False))
            return row.public_id

        return self._retrying(work)

    @_guarded
    def get(self, public_id: str) -> dict[str, Any] | None:
        """A stored document by its public id: `{"id", "created_at", "document"}`, or None."""
        if not isinstance(public_id, str) or not PUBLIC_ID.match(public_id):
            return None
        with self._read() as s:
            row = s.execute(
                select(DocumentRow.public_id, DocumentRow.added_at, DocumentRow.document).where(
                    DocumentRow.public_id == public_id
                )
            ).first()
        if row is None:
            return None
        return {"id": row.public_id, "created_at": _iso(row.added_at), "document": row.document}

    @_guarded
    def recent(self, limit: int = 10) -> list[dict[str, Any]]:
        """The latest analyses saved from the web, newest first, as short summaries."""
        query = (
            select(DocumentRow.public_id, DocumentRow.title, DocumentRow.outlet, DocumentRow.added_at,
                   DocumentRow.n_spans)
            .where(DocumentRow.origin == ORIGIN_WEB)
            .order_by(DocumentRow.added_at.desc(), DocumentRow.id.desc())
            .limit(limit)
        )  # fmt: skip
        with self._read() as s:
            return [
                {"id": r.public_id, "title": r.title, "outlet": r.outlet, "created_at": _iso(r.added_at),
                 "spans": r.n_spans or 0}
                for r in s.execute(query)
            ]  # fmt: skip

    @_guarded
    def count(self) -> int:
        """Distinct documents stored (each text once, whoever stored it)."""
        with self._read() as s:
            return s.scalar(select(func.count()).select_from(DocumentRow).where(DocumentRow.duplicate_of.is_(None)))

    # -- corpus runs and errors ------------------------------------------------------------------

    @_guarded
    def start_run(self, inputs: list[str], model: str) -> int:
        """Record a new `corpus add` run; runs left "running" by a killed process become "interrupted"."""
        with self._write.begin() as s:
            self._interrupt_dead_runs(s)
            stamp = now()
            run = Run(started_at=stamp, inputs=list(inputs), model=model, status="running", added=0, skipped=0,
                      errors=0, host=socket.gethostname(), pid=os.getpid(), heartbeat_at=stamp)  # fmt: skip
            s.add(run)
        return run.id

    def _interrupt_dead_runs(self, s: Session) -> None:
        host, stamp = socket.gethostname(), now()
        for run in s.scalars(select(Run).where(Run.status == "running")):
            beat = run.heartbeat_at
            if beat is not None and beat.tzinfo is None:
                beat = beat.replace(tzinfo=timezone.utc)
            if run.host is None:
                alive = False  # recorded before runs said who ran them: no process of that version runs on
            elif run.host == host and run.pid is not None:
                alive = _pid_alive(run.pid)
            else:
                alive = beat is not None and stamp - beat < STALE_AFTER
            if not alive:
                run.status, run.finished_at = "interrupted", beat or run.started_at
                run.added = s.scalar(select(func.count()).select_from(DocumentRow).where(DocumentRow.run_id == run.id))
                run.errors = s.scalar(
                    select(func.count()).select_from(InputErrorRow).where(InputErrorRow.run_id == run.id)
                )

    @_guarded
    def finish_run(self, run_id: int, status: str, added: int, skipped: int, errors: int) -> None:
        with self._write.begin() as s:
            run = s.get(Run, run_id)
            if run is None:
                return
            run.finished_at, run.status = now(), status
            run.added, run.skipped, run.errors = added, skipped, errors

    @_guarded
    def add_errors(self, errors: Iterable[InputError], run_id: int | None) -> int:
        rows = [InputErrorRow(run_id=run_id, source=e.source, reason=e.reason, at=now()) for e in errors]
        if rows:
            with self._write.begin() as s:
                s.add_all(rows)
                if run_id is not None:
                    s.execute(update(Run).where(Run.id == run_id).values(heartbeat_at=now()))
        return len(rows)

    @_guarded
    def errors(self) -> list[dict[str, Any]]:
        with self._read() as s:
            rows = s.execute(select(InputErrorRow).order_by(InputErrorRow.id)).scalars().all()
            return [{"run": e.run_id, "source": e.source, "reason": e.reason, "at": e.at.isoformat()} for e in rows]

    @_guarded
    def runs(self) -> list[dict[str, Any]]:
        with self._read() as s:
            rows = s.execute(select(Run).order_by(Run.id)).scalars().all()
            return [
                {"id": r.id, "status": r.status, "started_at": r.started_at.isoformat(), "model": r.model,
                 "added": r.added, "skipped": r.skipped, "errors": r.errors, "inputs": r.inputs}
                for r in rows
            ]  # fmt: skip

    # -- corpus documents ------------------------------------------------------------------------

    @_guarded
    def known_inputs(self, hashes: Iterable[str]) -> set[str]:
        """Which input hashes (of inputs as read) are stored already."""
        values = list(set(hashes))
        found: set[str] = set()
        with self._read() as s:
            for i in range(0, len(values), 500):
                found.update(
                    s.scalars(select(DocumentRow.input_hash).where(DocumentRow.input_hash.in_(values[i : i + 500])))
                )
        return found

    @_guarded
    def add_documents(self, docs: list[Document], run_id: int | None = None) -> tuple[list[int], list[InputError]]:
        """Store analysed documents in one transaction. Returns the ids of those stored (a text stored
        already, by anyone, is not stored again), and an error for each document whose record id is
        already stored with different content (that one is still stored, under its own content hash)."""
        if not docs:
            return [], []

        def work(s: Session) -> tuple[list[int], list[InputError]]:
            warnings: list[InputError] = []
            new_ids: list[int] = []
            known = set(primary_ids(s, [d.content_hash for d in docs]))
            record_ids = list({d.id for d in docs if d.id})
            taken: dict[str, str] = {}
            for i in range(0, len(record_ids), 500):
                taken.update(
                    s.execute(
                        select(DocumentRow.record_id, DocumentRow.content_hash).where(
                            DocumentRow.record_id.in_(record_ids[i : i + 500])
                        )
                    ).all()
                )
            self._copies.refresh(s)
            for doc in docs:
                h = doc.content_hash
                if h in known:
                    continue
                known.add(h)
                if doc.id and doc.id in taken and taken[doc.id] != h:
                    warnings.append(
                        InputError(doc.source, f"record id {doc.id!r} is already stored with different content")
                    )
                if doc.id:
                    taken.setdefault(doc.id, h)
                row = insert_document(s, doc, origin=ORIGIN_CORPUS, run_id=run_id)
                self._copies.add(s, row.id, doc)
                new_ids.append(row.id)
            if run_id is not None:
                s.execute(update(Run).where(Run.id == run_id).values(heartbeat_at=now()))
            return new_ids, warnings

        return self._retrying(work)

    def iter_documents(self, batch: int = 200) -> Iterator[dict[str, Any]]:
        """Stored documents (each text once) in the order they were added, each the Document JSON plus
        `corpus_id`."""
        last = 0
        while True:
            with database_errors(self.url), self._read() as s:
                rows = s.execute(
                    select(DocumentRow.id, DocumentRow.document, DocumentRow.added_at)
                    .where(DocumentRow.id > last, DocumentRow.duplicate_of.is_(None))
                    .order_by(DocumentRow.id)
                    .limit(batch)
                ).all()
            if not rows:
                return
            for doc_id, data, added in rows:
                yield {"corpus_id": doc_id, "added_at": added.isoformat() if added else None, **data}
            last = rows[-1][0]

    @_guarded
    def outlet_documents(self, outlet: str, limit: int = 500) -> list[dict[str, Any]]:
        """An outlet's articles, newest first: ids, title, date, score, number of spans."""
        with self._read() as s:
            rows = s.execute(
                select(DocumentRow.id, DocumentRow.public_id, DocumentRow.title, DocumentRow.published,
                       DocumentRow.article_score, DocumentRow.n_spans, DocumentRow.source)
                .where(DocumentRow.outlet == outlet, DocumentRow.duplicate_of.is_(None))
                .order_by(DocumentRow.published.desc(), DocumentRow.id.desc())
                .limit(limit)
            ).all()  # fmt: skip
        return [
            {"corpus_id": r.id, "id": r.public_id, "title": r.title, "published": r.published,
             "article_score": r.article_score, "spans": r.n_spans, "source": r.source}
            for r in rows
        ]  # fmt: skip

    # -- aggregates ------------------------------------------------------------------------------

    @_guarded
    def stats(
        self, by: str, *, outlet: str | None = None, monthly: bool = False, top: int | None = None
    ) -> list[dict[str, Any]]:
        """Rows of aggregates `by` outlet, month (of publication), technique, narrative (per month) or
        entity (per main role and outlet; per month too with `monthly`; the `top` entities). `outlet`
        keeps that outlet's documents only."""
        from unspin.aggregate.stats import aggregate
        from unspin.store.framing_stats import entity_stats, narrative_stats

        primary = DocumentRow.duplicate_of.is_(None)
        if outlet is not None:
            primary = primary & (DocumentRow.outlet == outlet)
        with self._read() as s:
            if by == "narrative":
                return narrative_stats(s, primary)
            if by == "entity":
                return entity_stats(s, primary, monthly=monthly, top=top)
            docs = s.execute(
                select(DocumentRow.id, DocumentRow.outlet, DocumentRow.published, DocumentRow.article_score).where(
                    primary
                )
            ).all()
            spans = s.execute(
                select(SpanRow.document_id, SpanRow.technique, SpanRow.text)
                .join(DocumentRow, DocumentRow.id == SpanRow.document_id)
                .where(primary)
            ).all()
        return aggregate(by, docs, spans)

    @_guarded
    def copy_groups(self) -> list[dict[str, Any]]:
        """Groups of republished copies, each member named by source, outlet and date, the first first."""
        from unspin.store.groups import copy_groups

        with self._read() as s:
            pending = s.scalar(select(func.count()).select_from(Signature).where(Signature.linked.is_(False)))
        if pending:
            self._retrying(self._copies.refresh)
        with self._read() as s:
            return copy_groups(s)

    @_guarded
    def stories(
        self, *, window_days: int | None = None, similarity: float | None = None, compute: bool = True
    ) -> list[dict[str, Any]]:
        """Groups of articles about the same event. Embeddings are computed on first use and stored
        (with `compute=False`, only documents embedded already take part)."""
        from unspin.store.groups import embed, missing_embeddings, stories

        if compute:
            with self._read() as s:
                todo = missing_embeddings(s)
            if todo:
                rows = embed(todo)  # outside the write transaction: the encoder takes its time

                def work(s: Session) -> None:
                    have = set(
                        s.scalars(
                            select(Embedding.document_id).where(
                                Embedding.document_id.in_([r.document_id for r in rows])
                            )
                        )
                    )
                    s.add_all(r for r in rows if r.document_id not in have)

                self._retrying(work)
        with self._read() as s:
            return stories(s, window_days=window_days, similarity=similarity)

    def close(self) -> None:
        self.engine.dispose()
