"""A database of the two-store layout (web analyses in `documents`/`spans`, `corpus add` documents in
`corpus_*` tables) opens with nothing lost: every document, span, sentence, claim, run, error, copy link
and embedding is there, old page ids still resolve, and the web analyses join the corpus.

`fixtures/legacy-two-stores.db` was written by the code of that layout (synthetic text only): four web
analyses (two of one text, one of a text the corpus also has), a finished `corpus add` run of six files
and a bad JSON line, and a run that was killed with one document stored.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from unspin.store import Store
from unspin.store.schema import (
    SCHEMA_VERSION,
    ClaimRow,
    CopyLink,
    DocumentRow,
    Embedding,
    EntityRoleRow,
    NarrativeRow,
    SentenceRow,
    Signature,
    SpanRow,
)

FIXTURE = Path(__file__).parent / "fixtures" / "legacy-two-stores.db"
# written by the code of schema version 2 (fixtures/make-store-v2.py): the framed corpus of framedocs.py
# (JSON with entities and narratives, no framing tables yet), one span, one web analysis
FIXTURE_V2 = Path(__file__).parent / "fixtures" / "store-v2.db"


def _legacy_rows(path: Path) -> dict[str, list[tuple]]:
    con = sqlite3.connect(path)
    queries = {
        "web": "SELECT id, content_hash, title, document FROM documents ORDER BY id",
        "web_spans": 'SELECT d.id, s.technique, s.start, s."end", s.score FROM spans s '
        "JOIN documents d ON d.id = s.document_id",
        "docs": "SELECT id, content_hash, source, record_id, outlet, published, document FROM corpus_documents",
        "spans": 'SELECT document_id, technique, start, "end", score, text FROM corpus_spans',
        "sentences": 'SELECT document_id, start, "end", score FROM corpus_sentences',
        "claims": 'SELECT document_id, start, "end", score, text FROM corpus_claims',
        "runs": "SELECT id, status, added, skipped, errors, inputs FROM corpus_runs ORDER BY id",
        "errors": "SELECT run_id, source, reason FROM corpus_errors",
        "links": "SELECT a_id, b_id, containment FROM corpus_copy_links",
        "signatures": "SELECT document_id, minhash, shingles FROM corpus_signatures",
        "embeddings": "SELECT document_id, vector FROM corpus_embeddings",
        "outlets": "SELECT outlet, name, first_published FROM corpus_outlets",
    }
    out = {name: con.execute(sql).fetchall() for name, sql in queries.items()}
    con.close()
    return out


@pytest.fixture
def legacy(tmp_path: Path) -> Path:
    path = tmp_path / "unspin.db"
    shutil.copy(FIXTURE, path)
    return path


def test_legacy_database_carried_forward_with_nothing_lost(legacy: Path) -> None:
    old = _legacy_rows(legacy)
    assert len(old["web"]) == 4 and len(old["docs"]) == 7 and old["links"] and old["claims"]
    store = Store(str(legacy))
    with Session(store.engine) as s:
        docs = {r.id: r for r in s.scalars(select(DocumentRow))}
        corpus = {r.id: r for r in docs.values() if r.origin == "corpus"}
        # corpus documents keep their ids, texts and metadata
        assert sorted(corpus) == sorted(r[0] for r in old["docs"])
        for doc_id, content_hash, source, record_id, outlet, published, document in old["docs"]:
            row = corpus[doc_id]
            assert (row.content_hash, row.source, row.record_id, row.outlet, row.published) == (
                content_hash, source, record_id, outlet, published)  # fmt: skip
            assert row.document == json.loads(document) and row.public_id == f"corpus-{doc_id}"
        rows = lambda *cols: sorted(tuple(r) for r in s.execute(select(*cols)))  # noqa: E731
        corpus_ids = set(corpus)
        spans = [r for r in rows(SpanRow.document_id, SpanRow.technique, SpanRow.start, SpanRow.end,
                                 SpanRow.score, SpanRow.text) if r[0] in corpus_ids]  # fmt: skip
        assert spans == sorted(old["spans"])
        sentences = [r for r in rows(SentenceRow.document_id, SentenceRow.start, SentenceRow.end,
                                     SentenceRow.score) if r[0] in corpus_ids]  # fmt: skip
        assert sentences == sorted(old["sentences"])
        claims = [r for r in rows(ClaimRow.document_id, ClaimRow.start, ClaimRow.end, ClaimRow.score,
                                  ClaimRow.text) if r[0] in corpus_ids]  # fmt: skip
        assert claims == sorted(old["claims"])
        links = rows(CopyLink.a_id, CopyLink.b_id, CopyLink.containment)
        assert set(old["links"]) <= set(links)
        assert set(old["signatures"]) <= set(rows(Signature.document_id, Signature.minhash,
                                                  Signature.shingles))  # fmt: skip
        assert rows(Embedding.document_id, Embedding.vector) == sorted(old["embeddings"])

        # web analyses keep their ids and their span rows
        web = {r.public_id: r for r in docs.values() if r.origin == "web"}
        assert sorted(web) == sorted(r[0] for r in old["web"])
        for public_id, content_hash, _, document in old["web"]:
            assert web[public_id].content_hash == content_hash and web[public_id].document == json.loads(document)
        web_spans = sorted(
            (docs[d].public_id, t, a, b, sc)
            for d, t, a, b, sc in s.execute(select(SpanRow.document_id, SpanRow.technique, SpanRow.start,
                                                   SpanRow.end, SpanRow.score))
            if docs[d].origin == "web"
        )  # fmt: skip
        assert web_spans == sorted(old["web_spans"])
        # each text once among primaries: a second analysis of a text, or one the corpus has, is a duplicate
        primaries = [r for r in docs.values() if r.duplicate_of is None]
        assert len({r.content_hash for r in primaries}) == len(primaries) == 7 + 2
        assert s.scalar(select(func.count()).select_from(DocumentRow)) == 7 + 4

    runs = store.runs()
    assert [(r["id"], r["status"], r["added"], r["skipped"], r["errors"], r["inputs"]) for r in runs] == [
        (i, st, a, sk, e, json.loads(inputs)) for i, st, a, sk, e, inputs in old["runs"]
    ]
    assert sorted((e["run"], e["source"], e["reason"]) for e in store.errors()) == sorted(old["errors"])
    assert store.count() == 9


def test_legacy_pages_resolve_and_corpus_commands_see_web_analyses(legacy: Path) -> None:
    old = _legacy_rows(legacy)
    from unspin.web import create_app

    with TestClient(create_app(f"sqlite:///{legacy}")) as client:
        for public_id, *_ in old["web"]:
            page = client.get(f"/a/{public_id}", headers={"accept": "text/html"})
            assert page.status_code == 200, public_id
            api = client.get(f"/api/analyses/{public_id}")
            assert api.status_code == 200 and api.json()["id"] == public_id
        for doc_id, *_ in old["docs"]:
            assert client.get(f"/a/corpus-{doc_id}", headers={"accept": "text/html"}).status_code == 200
        assert client.get("/a/corpus-999", headers={"accept": "text/html"}).status_code == 404
    store = Store(str(legacy))
    outlets = {r["outlet"]: r["articles"] for r in store.stats("outlet")}
    assert outlets["paste.example"] == 2  # the web analyses of two texts the corpus did not have
    exported = list(store.iter_documents())
    titles = [d["title"] for d in exported]
    assert len(exported) == 9 and "web one" in titles and "web two" in titles
    assert "web one again" not in titles and "same as corpus" not in titles  # texts exported once


def test_killed_legacy_run_is_marked_interrupted_by_the_next_run(legacy: Path, tmp_path: Path) -> None:
    from unspin.corpus.runner import add_paths

    store = Store(str(legacy))
    assert [r["status"] for r in store.runs()] == ["finished", "running"]
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "new.txt").write_text("A new article about the river port and the grain convoy. " * 20)
    add_paths([str(tmp_path / "in")], store, stages=["language", "segment"])
    runs = store.runs()
    assert [r["status"] for r in runs] == ["finished", "interrupted", "finished"]
    assert runs[1]["added"] == 1  # what the killed run had stored


def test_opening_twice_migrates_once(legacy: Path) -> None:
    Store(str(legacy))
    again = Store(str(legacy))
    assert again.count() == 9
    con = sqlite3.connect(legacy)
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert not any(t.startswith(("corpus_", "legacy_")) for t in tables)
    assert con.execute("SELECT version FROM unspin_schema").fetchall() == [(SCHEMA_VERSION,)]


def test_legacy_database_on_postgres_carried_forward(tmp_path: Path) -> None:
    base = os.environ.get("UNSPIN_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("PostgreSQL not configured (set UNSPIN_TEST_POSTGRES_URL)")
    import sqlalchemy as sa

    from unspin.store import normalise_url

    admin = sa.create_engine(normalise_url(base), isolation_level="AUTOCOMMIT")
    name = "t_" + uuid.uuid4().hex[:10]
    with admin.connect() as c:
        c.execute(sa.text(f"CREATE DATABASE {name}"))
    url = normalise_url(base).rsplit("/", 1)[0] + "/" + name
    try:
        # the two-store tables and rows of the fixture, as they would be on PostgreSQL
        source = sa.create_engine(f"sqlite:///{FIXTURE}")
        legacy = sa.MetaData()
        legacy.reflect(source)
        for table in legacy.tables.values():
            for column in table.columns:
                generic = column.type.as_generic()
                column.type = sa.DateTime(timezone=True) if isinstance(generic, sa.DateTime) else generic
        target = sa.create_engine(url)
        legacy.create_all(target)
        with source.connect() as src, target.begin() as dst:
            for table in legacy.sorted_tables:
                rows = [dict(r._mapping) for r in src.execute(table.select())]
                if rows:
                    dst.execute(table.insert(), rows)
        target.dispose()
        old = _legacy_rows(FIXTURE)
        store = Store(url)
        assert store.count() == 9
        assert sorted(r["id"] for r in store.runs()) == [r[0] for r in old["runs"]]
        for public_id, *_ in old["web"]:
            assert store.get(public_id) is not None
        for doc_id, *_ in old["docs"]:
            assert store.get(f"corpus-{doc_id}") is not None
        assert len(store.copy_groups()) == 1
        # ids go on after the carried ones
        from unspin.document import Document

        new = store.save(Document(text="A new text after the upgrade.", title="new"))
        assert store.get(new) is not None and store.count() == 10
        store.close()
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def _v2_rows(path: Path) -> dict[str, list[tuple]]:
    con = sqlite3.connect(path)
    out = {
        "docs": con.execute("SELECT id, public_id, origin, content_hash, record_id, outlet, published, document "
                            "FROM documents ORDER BY id").fetchall(),
        "spans": con.execute('SELECT document_id, technique, start, "end", score, text FROM spans').fetchall(),
        "sentences": con.execute('SELECT document_id, start, "end" FROM sentences').fetchall(),
        "runs": con.execute("SELECT id, status, added FROM runs").fetchall(),
        "links": con.execute("SELECT a_id, b_id FROM copy_links").fetchall(),
    }  # fmt: skip
    con.close()
    return out


def _check_v2_carried_forward(store: Store, old: dict[str, list[tuple]]) -> None:
    from framedocs import framed_corpus
    from test_corpus_framing import NARRATIVES

    with Session(store.engine) as s:
        docs = s.execute(select(DocumentRow.id, DocumentRow.public_id, DocumentRow.origin, DocumentRow.content_hash,
                                DocumentRow.record_id, DocumentRow.outlet, DocumentRow.published,
                                DocumentRow.document).order_by(DocumentRow.id)).all()  # fmt: skip
        assert [tuple(r[:7]) for r in docs] == [r[:7] for r in old["docs"]]
        assert [r.document for r in docs] == [json.loads(r[7]) for r in old["docs"]]
        spans = s.execute(select(SpanRow.document_id, SpanRow.technique, SpanRow.start, SpanRow.end, SpanRow.score,
                                 SpanRow.text)).all()  # fmt: skip
        assert sorted(map(tuple, spans)) == sorted(old["spans"]) and old["spans"]
        assert len(s.execute(select(SentenceRow.id)).all()) == len(old["sentences"])
        assert sorted(map(tuple, s.execute(select(CopyLink.a_id, CopyLink.b_id)))) == sorted(old["links"])
        # the framing the documents' JSON carried is now in rows; documents without it are not analysed
        counts = {r.record_id or r.public_id: (r.n_entities, r.n_narratives) for r in s.scalars(select(DocumentRow))}
        assert [counts[k] for k in ("d1", "d2", "d3", "d4", "d5", "d6")] == [
            (3, 2), (2, 2), (2, 1), (0, 1), (None, None), (None, None)]  # fmt: skip
        assert sum(v == (None, None) for v in counts.values()) == 3  # d5, d6 and the web analysis
        assert s.scalar(select(func.count()).select_from(EntityRoleRow)) == 7
        assert s.scalar(select(func.count()).select_from(NarrativeRow)) == 6
    assert [(r["id"], r["status"], r["added"]) for r in store.runs()] == old["runs"]
    rows = [(r["month"], r["narrative"], r["documents"], r["share_of_month"], r["mean_score"])
            for r in store.stats("narrative") if r["framing"] == "analysed"]  # fmt: skip
    assert rows == NARRATIVES
    # the same documents again store nothing; a new one is stored with its framing, under a new id
    assert store.add_documents(framed_corpus())[0] == []
    new = framed_corpus()[0]
    new.text += " The quay reopened in March."
    (new_id,), _ = store.add_documents([new])
    assert new_id == len(old["docs"]) + 1
    with Session(store.engine) as s:
        assert s.get(DocumentRow, new_id).n_entities == 3


def test_version_2_database_gains_framing_with_nothing_lost(tmp_path: Path) -> None:
    path = tmp_path / "unspin.db"
    shutil.copy(FIXTURE_V2, path)
    old = _v2_rows(path)
    assert len(old["docs"]) == 7 and old["spans"]
    store = Store(str(path))
    _check_v2_carried_forward(store, old)
    store.close()
    again = Store(str(path))  # opening again migrates nothing twice
    assert again.count() == 8
    with Session(again.engine) as s:
        assert s.scalar(select(func.count()).select_from(EntityRoleRow)) == 10
    con = sqlite3.connect(path)
    assert con.execute("SELECT version FROM unspin_schema").fetchall() == [(SCHEMA_VERSION,)]


def test_version_2_database_on_postgres_gains_framing(tmp_path: Path) -> None:
    base = os.environ.get("UNSPIN_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("PostgreSQL not configured (set UNSPIN_TEST_POSTGRES_URL)")
    import sqlalchemy as sa

    from unspin.store import normalise_url

    admin = sa.create_engine(normalise_url(base), isolation_level="AUTOCOMMIT")
    name = "t_" + uuid.uuid4().hex[:10]
    with admin.connect() as c:
        c.execute(sa.text(f"CREATE DATABASE {name}"))
    url = normalise_url(base).rsplit("/", 1)[0] + "/" + name
    try:
        # version 2's tables and rows as they are on PostgreSQL: the schema of the code of version 2
        # (the fixture's own tables), its rows, and id sequences that go on after them
        source = sa.create_engine(f"sqlite:///{FIXTURE_V2}")
        v2 = sa.MetaData()
        v2.reflect(source)
        for table in v2.tables.values():
            table.indexes.clear()
            for column in table.columns:
                generic = column.type.as_generic()
                column.type = sa.DateTime(timezone=True) if isinstance(generic, sa.DateTime) else generic
        target = sa.create_engine(url)
        v2.create_all(target)
        with source.connect() as src, target.begin() as dst:
            for table in v2.sorted_tables:
                rows = [dict(r._mapping) for r in src.execute(table.select())]
                if rows:
                    dst.execute(table.insert(), rows)
                if "id" in table.c and table.name != "unspin_schema":
                    dst.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                        f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"))  # fmt: skip
        target.dispose()
        store = Store(url)
        _check_v2_carried_forward(store, _v2_rows(FIXTURE_V2))
        store.close()
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()
