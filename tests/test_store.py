"""The store: save a Document, get it back by id, spans queryable as rows; one URL normaliser with
clear errors; a damaged database gives one line naming it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from unspin.cli.main import app
from unspin.document import Document, Span
from unspin.store import Store, StoreError, normalise_url
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


def test_each_save_gets_its_own_stable_id_and_the_text_counts_once() -> None:
    store = Store("sqlite://")
    a, b = store.save(_doc()), store.save(_doc())
    assert a != b
    assert store.get(a) is not None and store.get(b) is not None
    assert [r["id"] for r in store.recent()] == [b, a]
    assert store.count() == 1  # one distinct text: aggregates and exports count it once
    assert [d["title"] for d in store.iter_documents()] == ["A title"]


def test_rows_carry_metadata_and_spans() -> None:
    store = Store("sqlite://")
    analysis_id = store.save(_doc())
    with Session(store.engine) as session:
        row = session.scalars(select(DocumentRow).where(DocumentRow.public_id == analysis_id)).one()
        assert (row.title, row.outlet, row.published) == ("A title", "example.org", "2024-05-01")
        assert row.content_hash == _doc().content_hash
        spans = session.scalars(select(SpanRow).where(SpanRow.document_id == row.id).order_by(SpanRow.start))
        assert [(s.technique, s.start, s.end, s.score, s.text) for s in spans] == [
            ("Name_Calling,Labeling", 9, 17, 0.9, "traitors"),
            ("Loaded_Language", 23, 31, 0.6, "glorious"),
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


def test_plain_path_means_sqlite_and_postgres_gets_its_driver() -> None:
    assert normalise_url("x/unspin.db") == "sqlite:///x/unspin.db"
    assert normalise_url(None) == "sqlite:///unspin.db"
    assert normalise_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"


def test_odd_ids_are_not_found_not_errors() -> None:
    store = Store("sqlite://")
    for odd in ["corpus-99999999999999999999999", "corpus-\u0661", "corpus-1\n", "x" * 500, "\ud800", ""]:
        assert store.get(odd) is None


def test_unreachable_or_invalid_database_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as err:
        Store("postgresql://nobody:secret@127.0.0.1:9/nothing")
    assert "cannot open the database" in str(err.value) and "secret" not in str(err.value)
    with pytest.raises(StoreError) as err:
        Store("nosuchdialect://x/y")
    assert "nosuchdialect" in str(err.value)


def _damaged(path: Path) -> None:
    """A database whose header is intact and whose table pages are overwritten."""
    store = Store(str(path))
    for i in range(40):
        store.save(Document(text=f"Article {i}. " + "words in a row " * 200, title=f"t{i}", outlet="o.example"))
    store.close()
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    for at in range(2 * page, len(data) - page, page):
        data[at : at + page] = b"\xff" * page
    path.write_bytes(bytes(data))
    for extra in ("-wal", "-shm"):
        Path(f"{path}{extra}").unlink(missing_ok=True)


@pytest.mark.parametrize("damage", ["garbage", "pages"])
@pytest.mark.parametrize(
    "command", [["corpus", "stats"], ["corpus", "export"], ["corpus", "copies"], ["corpus", "runs"]]
)
def test_damaged_database_is_one_line_and_exit_2(tmp_path: Path, damage: str, command: list[str]) -> None:
    db = tmp_path / "damaged.db"
    if damage == "garbage":
        db.write_bytes(b"this is not a database " * 400)
    else:
        _damaged(db)
    res = CliRunner().invoke(app, [*command, "--db", str(db)])
    assert res.exit_code == 2, res.output
    assert isinstance(res.exception, SystemExit), res.exception  # not an uncaught error
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "damaged.db" in lines[0], res.stderr


def test_serve_on_a_damaged_database_is_one_line_and_exit_2(tmp_path: Path) -> None:
    db = tmp_path / "damaged.db"
    db.write_bytes(b"this is not a database " * 400)
    proc = subprocess.run(
        [sys.executable, "-m", "unspin.cli.main", "serve", "--db", str(db), "--port", "1"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "damaged.db" in lines[0] and "Traceback" not in proc.stderr, proc.stderr
