"""Framing across a corpus: entity roles and narratives stored with each document, `corpus stats --by
narrative` and `--by entity` counted exactly, documents not analysed for framing counted apart (never
as "Other"), adding the same documents again changes nothing, and every export carries the framing —
on SQLite and, when UNSPIN_TEST_POSTGRES_URL is set, on PostgreSQL too. The documents are hand-made
(tests/framedocs.py has the table of what each one says)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from framedocs import BLAME, CRITICS, framed_corpus
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from test_corpus import db_url  # noqa: F401  (the SQLite / PostgreSQL fixture)
from typer.testing import CliRunner

from unspin.cli.main import app
from unspin.document import Document
from unspin.store import Store
from unspin.store.framing import entity_key
from unspin.store.schema import DocumentRow, EntityRoleRow, NarrativeRow

runner = CliRunner()

NARRATIVES = [
    # month, narrative, documents, share of the month's analysed documents, mean of each document's best score
    ("2024-01", BLAME, 2, 0.6667, 0.6),
    ("2024-01", CRITICS, 1, 0.3333, 0.5),
    ("2024-01", "Other", 1, 0.3333, 0.9),
    ("2024-02", CRITICS, 1, 1.0, 0.7),
]
CAST = [
    # entity, main role, outlet, documents, share of the outlet's analysed documents, mentions, fine roles
    ("Ministry of Ports", "Antagonist", "north.example", 2, 1.0, 5, {"Corrupt": 1, "Incompetent": 1}),
    ("a reporter", None, "south.example", 1, 0.5, 1, {}),
    ("dock workers", "Innocent", "north.example", 1, 0.5, 1, {"Victim": 1}),
    ("Harbour Board", "Antagonist", "north.example", 1, 0.5, 1, {"Incompetent": 1}),
    ("Harbour Board", "Protagonist", "north.example", 1, 0.5, 1, {"Guardian": 1}),
    ("Ministry of Ports", "Protagonist", "south.example", 1, 0.5, 1, {"Guardian": 1}),
]


def _narratives(rows: list[dict]) -> tuple[list[tuple], list[tuple]]:
    analysed = [(r["month"], r["narrative"], r["documents"], r["share_of_month"], r["mean_score"])
                for r in rows if r["framing"] == "analysed"]  # fmt: skip
    apart = [(r["month"], r["documents"]) for r in rows if r["framing"] == "not analysed"]
    assert all(r["narrative"] is None for r in rows if r["framing"] == "not analysed")
    return analysed, apart


def _cast(rows: list[dict]) -> tuple[list[tuple], list[tuple]]:
    analysed = [(r["entity"], r["main_role"], r["outlet"], r["documents"], r["share_of_outlet"], r["mentions"],
                 r["fine_roles"]) for r in rows if r["framing"] == "analysed"]  # fmt: skip
    apart = [(r["outlet"], r.get("month"), r["documents"]) for r in rows if r["framing"] == "not analysed"]
    return analysed, apart


def _row_counts(store: Store) -> tuple[int, int, int]:
    with Session(store.engine) as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) for t in (DocumentRow, EntityRoleRow, NarrativeRow))


@pytest.fixture
def store(db_url):  # noqa: F811
    store = Store(db_url)
    ids, warnings = store.add_documents(framed_corpus())
    assert len(ids) == 6 and not warnings
    yield store
    store.close()


def test_framing_rows_are_stored_with_each_document(store: Store) -> None:
    with Session(store.engine) as s:
        counts = {r.record_id: (r.n_entities, r.n_narratives) for r in s.scalars(select(DocumentRow))}
        assert counts == {"d1": (3, 2), "d2": (2, 2), "d3": (2, 1), "d4": (0, 1), "d5": (None, None),
                          "d6": (None, None)}  # fmt: skip
        roles = s.execute(
            select(DocumentRow.record_id, EntityRoleRow.name, EntityRoleRow.key, EntityRoleRow.main_role,
                   EntityRoleRow.fine_role, EntityRoleRow.score, EntityRoleRow.n_mentions)
            .join(DocumentRow).where(DocumentRow.record_id == "d1").order_by(EntityRoleRow.id)
        ).all()  # fmt: skip
        assert [tuple(r) for r in roles] == [
            ("d1", "Ministry of Ports", "ministry of ports", "Antagonist", "Incompetent", 0.82, 2),
            ("d1", "Harbour Board", "harbour board", "Protagonist", "Guardian", 0.55, 1),
            ("d1", "dock workers", "dock workers", "Innocent", "Victim", 0.7, 1),
        ]
        served = s.execute(
            select(NarrativeRow.narrative, NarrativeRow.subnarrative, NarrativeRow.score)
            .join(DocumentRow).where(DocumentRow.record_id == "d4")
        ).all()  # fmt: skip
        assert [tuple(r) for r in served] == [(CRITICS, None, 0.7)]


def test_document_json_keeps_entities_and_narratives_exactly(store: Store) -> None:
    given = {d.id: d.to_dict() for d in framed_corpus()}
    stored = {d["id"]: d for d in store.iter_documents()}
    for key, doc in given.items():
        assert stored[key].get("entities") == doc.get("entities")
        assert stored[key].get("narratives") == doc.get("narratives")
    assert "entities" not in stored["d5"] and stored["d4"]["entities"] == []
    page = next(m["id"] for m in store.outlet_documents("north.example") if m["title"] == "Article d1")
    assert store.get(page)["document"]["entities"] == given["d1"]["entities"]


def test_stats_by_narrative_exact(store: Store) -> None:
    analysed, apart = _narratives(store.stats("narrative"))
    assert analysed == NARRATIVES
    assert apart == [("2024-02", 2)]  # d5 and d6: counted apart, not as "Other"
    analysed, apart = _narratives(store.stats("narrative", outlet="south.example"))
    assert analysed == [("2024-01", "Other", 1, 1.0, 0.9), ("2024-02", CRITICS, 1, 1.0, 0.7)]
    assert apart == [("2024-02", 1)]


def test_stats_by_entity_exact(store: Store) -> None:
    analysed, apart = _cast(store.stats("entity"))
    assert analysed == CAST
    assert apart == [("north.example", None, 1), ("south.example", None, 1)]
    analysed, apart = _cast(store.stats("entity", monthly=True, top=1))
    assert [r[:6] for r in analysed] == [
        ("Ministry of Ports", "Antagonist", "north.example", 2, 1.0, 5),
        ("Ministry of Ports", "Protagonist", "south.example", 1, 1.0, 1),
    ]
    assert apart == [("north.example", "2024-02", 1), ("south.example", "2024-02", 1)]
    assert {r["month"] for r in store.stats("entity", monthly=True) if r["framing"] == "analysed"} == {"2024-01"}


def test_adding_the_same_documents_again_changes_nothing(store: Store) -> None:
    before = (_row_counts(store), store.stats("narrative"), store.stats("entity"))
    ids, _ = store.add_documents(framed_corpus())
    assert ids == []
    assert (_row_counts(store), store.stats("narrative"), store.stats("entity")) == before
    assert _row_counts(store) == (6, 7, 6)  # documents, entity roles, narratives


def test_web_analysis_with_framing_counts_in_the_corpus(store: Store) -> None:
    text = "The Harbour Board rebuilt the quay in record time, the mayor said."
    start = text.index("Harbour Board")
    doc = Document(text=text, outlet="south.example", published="2024-02-20",
                   entities=[{"name": "Harbour Board", "main_role": "Protagonist",
                              "roles": [{"role": "Guardian", "score": 0.9}], "score": 0.9,
                              "mentions": [{"start": start, "end": start + 13}]}],
                   narratives=[{"narrative": "Other", "subnarrative": None, "score": 0.8, "evidence": []}])  # fmt: skip
    public_id = store.save(doc)
    assert store.get(public_id)["document"]["entities"] == doc.entities
    rows = {(r["month"], r["narrative"]): r for r in store.stats("narrative")}
    assert rows[("2024-02", "Other")]["documents"] == 1 and rows[("2024-02", CRITICS)]["share_of_month"] == 0.5
    cast = {(r["entity"], r["main_role"], r["outlet"]): r["documents"] for r in store.stats("entity")}
    assert cast[("Harbour Board", "Protagonist", "south.example")] == 1


def test_entity_key_meets_spellings_and_actors_across_languages() -> None:
    assert entity_key("the U.S.", "en") == entity_key("US") == "us"
    assert entity_key("  Ministry   of Ports ") == entity_key("ministry of ports")
    assert entity_key("ＮＡＴＯ") == "nato"  # full-width letters
    assert entity_key("Zelensky's", "en") == entity_key("Zelensky", "en")
    assert entity_key("Путина", "ru") == entity_key("Путин", "ru")
    assert entity_key("Washington", "en", actor="US") == entity_key("США", "ru", actor="US") == "actor:US"
    assert entity_key("The") == "the" and entity_key("...") == "..."


def test_one_actor_named_in_two_languages_is_one_entity(tmp_path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'two.db'}")
    docs = []
    for text, name, language in (("Washington announced new sanctions.", "Washington", "en"),
                                 ("США объявили новые санкции.", "США", "ru"),
                                 ("США снова объявили санкции.", "США", "ru")):  # fmt: skip
        found = {"name": name, "main_role": "Antagonist", "roles": [{"role": "Instigator", "score": 0.8}],
                 "score": 0.8, "mentions": [{"start": 0, "end": len(name)}], "actor": "US"}  # fmt: skip
        docs.append(Document(text=text, language=language, outlet="wire.example", entities=[found], narratives=[]))
    store.add_documents(docs)
    (row,) = [r for r in store.stats("entity") if r["framing"] == "analysed"]
    assert (row["entity"], row["main_role"], row["documents"], row["fine_roles"]) == (
        "США", "Antagonist", 3, {"Instigator": 3})  # named by its most frequent spelling


def test_malformed_framing_entries_are_left_out_not_fatal(db_url) -> None:  # noqa: F811
    store = Store(db_url)
    doc = Document(text="A short text about the river.", entities=[{"name": ""}, "Harbour", {"name": "River",
                   "main_role": "Innocent", "roles": "Victim", "score": "high", "mentions": None}],
                   narratives=[{"score": 1.0}, {"narrative": "Other", "score": None}])  # fmt: skip
    assert len(store.add_documents([doc])[0]) == 1
    with Session(store.engine) as s:
        assert [tuple(r) for r in s.execute(select(EntityRoleRow.name, EntityRoleRow.main_role,
                EntityRoleRow.fine_role, EntityRoleRow.score, EntityRoleRow.n_mentions))] == [
            ("River", "Innocent", None, None, 0)]  # fmt: skip
    assert _narratives(store.stats("narrative"))[0] == [("(undated)", "Other", 1, 1.0, None)]
    assert _cast(store.stats("entity", monthly=True))[0] == [("River", "Innocent", "(unknown)", 1, 1.0, 0, {})]
    store.close()


def test_cli_stats_and_exports_carry_framing(store: Store, tmp_path) -> None:
    db = store.url
    res = runner.invoke(app, ["corpus", "stats", "--by", "narrative", "--format", "json", "--db", db])
    assert res.exit_code == 0, res.output
    assert _narratives(json.loads(res.stdout)) == (NARRATIVES, [("2024-02", 2)])
    res = runner.invoke(app, ["corpus", "stats", "--by", "entity", "--format", "csv", "--db", db])
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert rows[0]["entity"] == "Ministry of Ports" and rows[0]["mentions"] == "5"
    assert json.loads(rows[0]["fine_roles"]) == {"Corrupt": 1, "Incompetent": 1}
    assert [r["framing"] for r in rows].count("not analysed") == 2
    wide = {"COLUMNS": "200"}  # a table row on one line
    res = runner.invoke(app, ["corpus", "stats", "--by", "entity", "--month", "--top", "1", "--db", db], env=wide)
    assert res.exit_code == 0 and "Ministry of Ports" in res.stdout and "Harbour Board" not in res.stdout
    res = runner.invoke(app, ["corpus", "stats", "--by", "narrative", "--outlet", "north.example", "--db", db],
                        env=wide)  # fmt: skip
    assert res.exit_code == 0 and "not analysed" in res.stdout and "Other" not in res.stdout

    given = {d.id: d.to_dict() for d in framed_corpus()}
    res = runner.invoke(app, ["corpus", "export", "--format", "jsonl", "--db", db])
    exported = {d["id"]: d for d in map(json.loads, res.stdout.splitlines())}
    assert all(exported[k].get("entities") == given[k].get("entities") for k in given)
    assert all(exported[k].get("narratives") == given[k].get("narratives") for k in given)

    res = runner.invoke(app, ["corpus", "export", "--format", "csv", "--db", db])
    flat = {r["id"]: r for r in csv.DictReader(io.StringIO(res.stdout))}
    assert flat["d1"]["entities"] == "3" and flat["d4"]["entities"] == "0" and flat["d5"]["entities"] == ""
    assert flat["d1"]["cast"] == "Ministry of Ports: Antagonist; dock workers: Innocent; Harbour Board: Protagonist"
    assert flat["d2"]["narratives"] == f"{CRITICS};{BLAME}" and flat["d6"]["narratives"] == ""

    import pyarrow.parquet as pq

    out = tmp_path / "framed.parquet"
    res = runner.invoke(app, ["corpus", "export", "--format", "parquet", "-o", str(out), "--db", db])
    assert res.exit_code == 0, res.output
    table = {r["id"]: r for r in pq.read_table(out).to_pylist()}
    assert json.loads(table["d2"]["entities_json"]) == given["d2"]["entities"]
    assert json.loads(table["d3"]["narratives_json"]) == given["d3"]["narratives"]
    assert table["d5"]["entities_json"] is None and table["d5"]["narratives_json"] is None
    assert table["d1"]["cast"] == flat["d1"]["cast"]
