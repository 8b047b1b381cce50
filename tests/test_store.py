"""The store: save a Document, get it back by id, spans queryable as rows."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from unspin.document import Document, Span
from unspin.store import Store, normalise_url
from unspin.store.schema import DocumentRow, SpanRow


def _doc() -> Document:
    text = "They are traitors. Our glorious nation will never bow."
    return Document(
        text=text,
        title="A title",
        outlet="example.org",
        published="2024-05-01",
        spans=[Span(9, 17, "Name_Calling,Labeling", 0.9), Span(23, 31, "Loaded_Language", 0.6)],
    )


def test_save_and_get_round_trip() -> None:
    store = Store("sqlite://")
    doc = _doc()
    analysis_id = store.save(doc)
    got = store.get(analysis_id)
    assert got is not None
    assert got["id"] == analysis_id
    assert got["document"] == doc.to_dict()
    assert Document.from_dict(got["document"]).spans == doc.spans
    assert got["created_at"].endswith("+00:00")


def test_get_unknown_id_is_none() -> None:
    assert Store("sqlite://").get("nope") is None


def test_each_save_gets_its_own_stable_id() -> None:
    store = Store("sqlite://")
    a, b = store.save(_doc()), store.save(_doc())
    assert a != b
    assert store.get(a) is not None and store.get(b) is not None
    assert store.count() == 2


def test_rows_carry_metadata_and_spans() -> None:
    store = Store("sqlite://")
    analysis_id = store.save(_doc())
    with Session(store.engine) as session:
        row = session.get(DocumentRow, analysis_id)
        assert row is not None
        assert (row.title, row.outlet, row.published) == ("A title", "example.org", "2024-05-01")
        assert row.content_hash == _doc().content_hash
        spans = session.scalars(select(SpanRow).where(SpanRow.document_id == analysis_id).order_by(SpanRow.start))
        assert [(s.technique, s.start, s.end, s.score) for s in spans] == [
            ("Name_Calling,Labeling", 9, 17, 0.9),
            ("Loaded_Language", 23, 31, 0.6),
        ]


def test_recent_lists_newest_first_with_span_counts() -> None:
    store = Store("sqlite://")
    first = store.save(Document(text="plain text", title="first"))
    second = store.save(_doc())
    recent = store.recent()
    assert [r["id"] for r in recent] == [second, first]
    assert [r["spans"] for r in recent] == [2, 0]


def test_file_database_persists(tmp_path: Path) -> None:
    path = tmp_path / "analyses.db"
    analysis_id = Store(str(path)).save(_doc())
    assert path.exists()
    reopened = Store(f"sqlite:///{path}")
    got = reopened.get(analysis_id)
    assert got is not None and got["document"]["title"] == "A title"


def test_plain_path_means_sqlite() -> None:
    assert normalise_url("x/unspin.db") == "sqlite:///x/unspin.db"
    assert normalise_url("postgresql://u@h/db") == "postgresql://u@h/db"
