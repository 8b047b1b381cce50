"""`CorpusStore`: analysed documents in SQLite (default) or PostgreSQL, each distinct text stored once."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from unspin.aggregate.copies import CopyIndex, signature, signature_bytes, signature_from_bytes
from unspin.corpus.schema import (
    CopyLink,
    CorpusBase,
    CorpusClaim,
    CorpusDocument,
    CorpusError,
    CorpusSentence,
    CorpusSpan,
    Embedding,
    Outlet,
    Run,
    Signature,
)
from unspin.document import Document
from unspin.errors import InputError, UnspinError
from unspin.store.engine import DEFAULT_DB_URL, LOCK_TIMEOUT, make_engine, normalise_url, safe_url, with_driver


class StoreError(UnspinError):
    """The database cannot be used (unreachable, locked, not a database); names the URL and the reason."""


def database_url(url: str | None) -> str:
    """A SQLAlchemy URL from what the user typed (a URL or an SQLite file path; default unspin.db)."""
    return with_driver(normalise_url(url or DEFAULT_DB_URL))


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _article_score(doc: Document) -> float | None:
    article = doc.scores.get("article") if isinstance(doc.scores, dict) else None
    if isinstance(article, dict):
        for key in ("share", "score"):
            if isinstance(article.get(key), (int, float)):
                return float(article[key])
    return None


@contextmanager
def _database_errors(url: str):
    """Database failures while working (locked, gone away) become a StoreError naming the database."""
    try:
        yield
    except OperationalError as err:
        reason = str(getattr(err, "orig", err)).strip().splitlines()[0]
        if "locked" in reason:
            reason += f" (another process holds it; waited {LOCK_TIMEOUT:g} s, see UNSPIN_DB_TIMEOUT)"
        raise StoreError(f"{safe_url(url)}: {reason}") from None


class CorpusStore:
    """Every write is one transaction; a document's content hash is unique, so adding twice stores once."""

    def __init__(self, url: str | None = None) -> None:
        self.url = database_url(url)
        try:
            self.engine = make_engine(self.url)
            CorpusBase.metadata.create_all(self.engine)
        except (ArgumentError, ValueError) as err:
            raise StoreError(f"{self.url}: not a database URL ({err})") from None
        except (OperationalError, SQLAlchemyError) as err:
            reason = str(getattr(err, "orig", err)).strip().splitlines()[0]
            raise StoreError(f"{safe_url(self.url)}: cannot open the database: {reason}") from None
        except ImportError as err:
            raise StoreError(f"{safe_url(self.url)}: the database driver is not installed ({err.name})") from None
        self._session = sessionmaker(self.engine, expire_on_commit=False)
        self._copies: CopyIndex | None = None

    # -- runs and errors -------------------------------------------------------------------------

    def start_run(self, inputs: list[str], model: str) -> int:
        run = Run(started_at=_now(), inputs=list(inputs), model=model, status="running")
        with _database_errors(self.url), self._session.begin() as s:
            s.add(run)
        return run.id

    def finish_run(self, run_id: int, status: str, added: int, skipped: int, errors: int) -> None:
        with _database_errors(self.url), self._session.begin() as s:
            run = s.get(Run, run_id)
            run.finished_at, run.status = _now(), status
            run.added, run.skipped, run.errors = added, skipped, errors

    def add_errors(self, errors: Iterable[InputError], run_id: int | None) -> int:
        rows = [CorpusError(run_id=run_id, source=e.source, reason=e.reason, at=_now()) for e in errors]
        if rows:
            with _database_errors(self.url), self._session.begin() as s:
                s.add_all(rows)
        return len(rows)

    # -- documents -------------------------------------------------------------------------------

    def _existing(self, column: Any, values: Iterable[str]) -> set[str]:
        """Which of `values` the documents table already has in `column` (asked in chunks of 500)."""
        values = list(set(values))
        found: set[str] = set()
        with Session(self.engine) as s:
            for i in range(0, len(values), 500):
                found.update(s.scalars(select(column).where(column.in_(values[i : i + 500]))))
        return found

    def known_hashes(self, hashes: Iterable[str]) -> set[str]:
        return self._existing(CorpusDocument.content_hash, hashes)

    def known_inputs(self, hashes: Iterable[str]) -> set[str]:
        return self._existing(CorpusDocument.input_hash, hashes)

    def _copy_index(self, session: Session) -> CopyIndex:
        if self._copies is None:
            index = CopyIndex()
            rows = session.execute(
                select(Signature.document_id, Signature.minhash, Signature.shingles, CorpusDocument.outlet,
                       CorpusDocument.published, CorpusDocument.source)
                .join(CorpusDocument, CorpusDocument.id == Signature.document_id)
                .order_by(Signature.document_id)
            )  # fmt: skip
            for doc_id, mh, n, outlet, published, source in rows:
                index.add(str(doc_id), minhash=signature_from_bytes(mh), size=n, outlet=outlet,
                          published=published, source=source)  # fmt: skip
            index.matches.clear()
            self._copies = index
        return self._copies

    def add_documents(self, docs: list[Document], run_id: int | None = None) -> tuple[list[int], list[InputError]]:
        """Store analysed documents in one transaction. Returns the new ids, and an error for each
        document whose record id is already stored with different content (that one is still stored,
        under its own content hash)."""
        if not docs:
            return [], []
        warnings: list[InputError] = []
        new_ids: list[int] = []
        with _database_errors(self.url), self._session.begin() as s:
            known = set(
                s.scalars(
                    select(CorpusDocument.content_hash).where(
                        CorpusDocument.content_hash.in_([d.content_hash for d in docs])
                    )
                )
            )
            record_ids = [d.id for d in docs if d.id]
            taken = {}
            if record_ids:
                for rid, h in s.execute(
                    select(CorpusDocument.record_id, CorpusDocument.content_hash).where(
                        CorpusDocument.record_id.in_(record_ids)
                    )
                ):
                    taken[rid] = h
            index = self._copy_index(s)
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
                row = CorpusDocument(
                    content_hash=h,
                    input_hash=doc.meta.get("input_hash"),
                    record_id=doc.id,
                    source=doc.source,
                    url=doc.url,
                    outlet=doc.outlet,
                    title=doc.title,
                    author=doc.author,
                    published=doc.published,
                    language=doc.language,
                    article_score=_article_score(doc),
                    n_spans=len(doc.spans),
                    n_words=len(doc.text.split()),
                    run_id=run_id,
                    added_at=_now(),
                    document=doc.to_dict(),
                )
                s.add(row)
                s.flush()
                new_ids.append(row.id)
                s.add_all(
                    CorpusSpan(document_id=row.id, technique=sp.technique, start=sp.start, end=sp.end,
                               score=float(sp.score), text=doc.text[sp.start : sp.end])
                    for sp in doc.spans
                )  # fmt: skip
                s.add_all(
                    CorpusSentence(document_id=row.id, start=se.start, end=se.end, score=se.score)
                    for se in doc.sentences
                )
                s.add_all(
                    CorpusClaim(document_id=row.id, start=c["start"], end=c["end"], score=float(c["score"]),
                                text=c.get("text") or doc.text[c["start"] : c["end"]])
                    for c in doc.claims
                )  # fmt: skip
                if doc.outlet:
                    outlet = s.get(Outlet, doc.outlet)
                    if outlet is None:
                        s.add(Outlet(outlet=doc.outlet, name=doc.outlet_name, first_published=doc.published))
                    elif doc.published and (outlet.first_published is None or doc.published < outlet.first_published):
                        outlet.first_published = doc.published
                    s.flush()
                mh, n = signature(doc.text)
                s.add(Signature(document_id=row.id, minhash=signature_bytes(mh), shingles=n))
                for match in index.add(str(row.id), minhash=mh, size=n, outlet=doc.outlet,
                                       published=doc.published, source=doc.source):  # fmt: skip
                    s.add(CopyLink(a_id=int(match.a), b_id=int(match.b), containment=match.containment))
        return new_ids, warnings

    def count(self) -> int:
        with Session(self.engine) as s:
            return s.scalar(select(func.count()).select_from(CorpusDocument)) or 0

    def iter_documents(self, batch: int = 200) -> Iterator[dict[str, Any]]:
        """Stored documents in the order they were added, each the Document JSON plus `corpus_id`."""
        last = 0
        while True:
            with Session(self.engine) as s:
                rows = s.execute(
                    select(CorpusDocument.id, CorpusDocument.document, CorpusDocument.added_at)
                    .where(CorpusDocument.id > last)
                    .order_by(CorpusDocument.id)
                    .limit(batch)
                ).all()
            if not rows:
                return
            for doc_id, data, added in rows:
                yield {"corpus_id": doc_id, "added_at": added.isoformat() if added else None, **data}
            last = rows[-1][0]

    def get(self, corpus_id: int) -> dict[str, Any] | None:
        with Session(self.engine) as s:
            row = s.get(CorpusDocument, corpus_id)
            if row is None:
                return None
            return {"corpus_id": row.id, "added_at": row.added_at.isoformat(), "document": row.document}

    def outlet_documents(self, outlet: str, limit: int = 500) -> list[dict[str, Any]]:
        """An outlet's articles, newest first: id, title, date, score, number of spans."""
        with Session(self.engine) as s:
            rows = s.execute(
                select(CorpusDocument.id, CorpusDocument.title, CorpusDocument.published, CorpusDocument.article_score,
                       CorpusDocument.n_spans, CorpusDocument.source)
                .where(CorpusDocument.outlet == outlet)
                .order_by(CorpusDocument.published.desc(), CorpusDocument.id.desc())
                .limit(limit)
            ).all()  # fmt: skip
        return [
            {"corpus_id": r.id, "title": r.title, "published": r.published, "article_score": r.article_score,
             "spans": r.n_spans, "source": r.source}
            for r in rows
        ]  # fmt: skip

    def errors(self) -> list[dict[str, Any]]:
        with Session(self.engine) as s:
            rows = s.execute(select(CorpusError).order_by(CorpusError.id)).scalars().all()
            return [{"run": e.run_id, "source": e.source, "reason": e.reason, "at": e.at.isoformat()} for e in rows]

    def runs(self) -> list[dict[str, Any]]:
        with Session(self.engine) as s:
            rows = s.execute(select(Run).order_by(Run.id)).scalars().all()
            return [
                {"id": r.id, "status": r.status, "started_at": r.started_at.isoformat(), "model": r.model,
                 "added": r.added, "skipped": r.skipped, "errors": r.errors, "inputs": r.inputs}
                for r in rows
            ]  # fmt: skip

    # -- aggregates --------------------------------------------------------------------------------

    def stats(self, by: str) -> list[dict[str, Any]]:
        """Rows of aggregates `by` outlet, month (of publication) or technique."""
        with Session(self.engine) as s:
            docs = s.execute(
                select(CorpusDocument.id, CorpusDocument.outlet, CorpusDocument.published,
                       CorpusDocument.article_score)
            ).all()  # fmt: skip
            spans = s.execute(select(CorpusSpan.document_id, CorpusSpan.technique, CorpusSpan.text)).all()
        if by == "technique":
            count: Counter = Counter()
            docs_with: dict[str, set[int]] = defaultdict(set)
            phrases: dict[str, Counter] = defaultdict(Counter)
            for doc_id, technique, text in spans:
                count[technique] += 1
                docs_with[technique].add(doc_id)
                phrases[technique][" ".join(text.lower().split())] += 1
            total = sum(count.values()) or 1
            return [
                {"technique": t, "spans": n, "share_of_spans": round(n / total, 4), "articles": len(docs_with[t]),
                 "top_spans": [p for p, _ in phrases[t].most_common(5)]}
                for t, n in count.most_common()
            ]  # fmt: skip
        if by not in ("outlet", "month"):
            raise ValueError(f"unknown grouping {by!r}: use outlet, month or technique")
        key_of: dict[int, str] = {}
        groups: dict[str, list] = defaultdict(list)
        for doc_id, outlet, published, score in docs:
            key = (outlet or "(unknown)") if by == "outlet" else ((published or "")[:7] or "(undated)")
            key_of[doc_id] = key
            groups[key].append(score)
        mix: dict[str, Counter] = defaultdict(Counter)
        top: dict[str, Counter] = defaultdict(Counter)
        for doc_id, technique, text in spans:
            mix[key_of[doc_id]][technique] += 1
            top[key_of[doc_id]][" ".join(text.lower().split())] += 1
        out = []
        for key in sorted(groups, key=lambda k: (-len(groups[k]), k) if by == "outlet" else (k,)):
            scores = [x for x in groups[key] if x is not None]
            n_spans = sum(mix[key].values()) or 1
            out.append(
                {
                    by: key,
                    "articles": len(groups[key]),
                    "mean_article_score": round(sum(scores) / len(scores), 4) if scores else None,
                    "spans": sum(mix[key].values()),
                    "technique_mix": {t: round(c / n_spans, 4) for t, c in mix[key].most_common()},
                    "top_spans": [p for p, _ in top[key].most_common(5)],
                }
            )
        return out

    def copy_groups(self) -> list[dict[str, Any]]:
        """Groups of republished copies, each member named by source, outlet and date, the first first."""
        with Session(self.engine) as s:
            links = s.execute(select(CopyLink.a_id, CopyLink.b_id)).all()
            if not links:
                return []
            parent: dict[int, int] = {}

            def find(x: int) -> int:
                parent.setdefault(x, x)
                while parent[x] != x:
                    parent[x] = parent[parent[x]]
                    x = parent[x]
                return x

            for a, b in links:
                parent[find(a)] = find(b)
            members: dict[int, list[int]] = defaultdict(list)
            for x in list(parent):
                members[find(x)].append(x)
            ids = [x for group in members.values() for x in group]
            rows = {
                r.id: r
                for r in s.execute(
                    select(
                        CorpusDocument.id,
                        CorpusDocument.source,
                        CorpusDocument.record_id,
                        CorpusDocument.outlet,
                        CorpusDocument.published,
                        CorpusDocument.title,
                        Signature.minhash,
                        Signature.shingles,
                    )
                    .join(Signature, Signature.document_id == CorpusDocument.id)
                    .where(CorpusDocument.id.in_(ids))
                )  # fmt: skip
            }
        from unspin.aggregate.copies import containment_from

        groups = []
        for group in members.values():
            docs = sorted((rows[i] for i in group), key=lambda r: (r.published is None, r.published or "", r.id))
            first = docs[0]
            first_mh = signature_from_bytes(first.minhash)
            out_members = []
            for r in docs:
                sim = 1.0
                if r.id != first.id:
                    j = float(first_mh.jaccard(signature_from_bytes(r.minhash)))
                    sim = round(containment_from(j, first.shingles, r.shingles), 4)
                out_members.append(
                    {"corpus_id": r.id, "source": r.source, "record_id": r.record_id, "outlet": r.outlet,
                     "published": r.published, "title": r.title, "similarity": sim}
                )  # fmt: skip
            groups.append({"first": out_members[0], "members": out_members})
        groups.sort(key=lambda g: (-len(g["members"]), g["first"]["corpus_id"]))
        return groups

    def stories(
        self, *, window_days: int | None = None, similarity: float | None = None, compute: bool = True
    ) -> list[dict[str, Any]]:
        """Groups of articles about the same event. Embeddings are computed on first use and stored
        (with `compute=False`, only documents embedded already take part)."""
        import numpy as np

        from unspin.aggregate import stories as st
        from unspin.models.sentence_encoder import SentenceEncoder

        with _database_errors(self.url), self._session.begin() as s:
            have = set(s.scalars(select(Embedding.document_id)))
            todo = s.execute(
                select(CorpusDocument.id, CorpusDocument.title, CorpusDocument.document).where(
                    CorpusDocument.id.notin_(have) if have else CorpusDocument.id.isnot(None)
                )
            ).all()
            if todo and compute:
                encoder = SentenceEncoder.load(max_length=96)
                for i in range(0, len(todo), 64):
                    chunk = todo[i : i + 64]
                    vecs = encoder.encode([st.lead_text(t, d.get("text", "")) for _, t, d in chunk])
                    s.add_all(
                        Embedding(document_id=doc_id, vector=vec.astype(np.float16).tobytes())
                        for (doc_id, _, _), vec in zip(chunk, vecs, strict=True)
                    )
        with Session(self.engine) as s:
            rows = s.execute(
                select(CorpusDocument.id, CorpusDocument.title, CorpusDocument.outlet, CorpusDocument.published,
                       CorpusDocument.source, Embedding.vector)
                .join(Embedding, Embedding.document_id == CorpusDocument.id)
                .order_by(CorpusDocument.id)
            ).all()  # fmt: skip
        if len(rows) < 2:
            return []
        vectors = np.stack([np.frombuffer(r.vector, dtype=np.float16).astype(np.float32) for r in rows])
        kwargs = {}
        if window_days is not None:
            kwargs["window_days"] = window_days
        if similarity is not None:
            kwargs["similarity"] = similarity
        out = []
        for story in st.group_stories(vectors, [r.published for r in rows], **kwargs):
            members = [rows[i] for i in story.members]
            dated = [m.published for m in members if m.published]
            out.append(
                {
                    "size": len(members),
                    "cohesion": story.cohesion,
                    "first_published": min(dated) if dated else None,
                    "last_published": max(dated) if dated else None,
                    "outlets": sorted({m.outlet for m in members if m.outlet}),
                    "members": [
                        {"corpus_id": m.id, "title": m.title, "outlet": m.outlet, "published": m.published,
                         "source": m.source}
                        for m in members
                    ],
                }
            )  # fmt: skip
        return out
