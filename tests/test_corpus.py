"""Corpus: store once, resume after kill -9, errors table, aggregates, copies, exports — on SQLite and,
when UNSPIN_TEST_POSTGRES_URL is set (CI sets it), on PostgreSQL too."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid

import pytest
from typer.testing import CliRunner

from unspin.cli.main import app
from unspin.corpus.runner import add_paths
from unspin.store import Store, StoreError

runner = CliRunner()
WORDS = (
    "port ministry harvest council budget river grain convoy border talks summit energy tariff vote court "
    "election coalition protest drought inflation railway pipeline treaty sanction subsidy strike refinery"
).split()


def article(seed: int, paragraphs: int = 8) -> str:
    rng = random.Random(seed)
    paras = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 35))) + "." for _ in range(paragraphs)]
    return f"Headline number {seed}\n\n" + "\n".join(paras)


def postgres_url() -> str | None:
    return os.environ.get("UNSPIN_TEST_POSTGRES_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'corpus.db'}"
        return
    base = postgres_url()
    if not base:
        pytest.skip("PostgreSQL not configured (set UNSPIN_TEST_POSTGRES_URL)")
    import sqlalchemy as sa

    name = "t_" + uuid.uuid4().hex[:10]
    from unspin.store import normalise_url

    base = normalise_url(base)
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f"CREATE DATABASE {name}"))
    url = base.rsplit("/", 1)[0] + "/" + name
    yield url
    with admin.connect() as c:
        c.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture
def corpus_dir(tmp_path):
    d = tmp_path / "articles"
    d.mkdir()
    for i in range(6):
        (d / f"story{i}.txt").write_text(article(i))
    # a republished copy of story0 with a new headline and debris, on another outlet
    lines = article(0).split("\n")
    (d / "blog-copy.txt").write_text("\n".join(["A New Headline", ""] + lines[2:] + ["No comments:", "Post a Comment"]))
    records = [
        {"id": "r1", "text": article(10), "outlet": "agency.example", "published": "2021-03-02"},
        {"id": "r2", "text": article(11), "outlet": "agency.example", "published": "2021-04-09"},
        {"id": "r3"},
        {"id": "r1", "text": article(12), "outlet": "agency.example"},
    ]
    (d / "feed.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n{broken json\n")
    (d / "empty.txt").write_text("")
    return d


def test_add_twice_stores_once_and_reports_bad_records(db_url, corpus_dir):
    store = Store(db_url)
    report = add_paths([str(corpus_dir)], store, stages=["language", "segment"])
    assert report.added == 10
    reasons = sorted(e.reason for e in report.errors)
    assert any("no non-empty 'text' or 'html'" in r for r in reasons)
    assert any("malformed JSON" in r for r in reasons)
    assert any("empty input" in r for r in reasons)
    assert any("already stored with different content" in r for r in reasons)
    assert len(store.errors()) == len(report.errors)
    again = add_paths([str(corpus_dir)], store, stages=["language", "segment"])
    assert again.added == 0 and again.skipped == 10
    assert store.count() == 10
    assert [r["status"] for r in store.runs()] == ["finished", "finished"]


def test_aggregates_and_copies(db_url, corpus_dir):
    store = Store(db_url)
    add_paths([str(corpus_dir)], store, stages=["language", "segment"])
    by_outlet = {r["outlet"]: r for r in store.stats("outlet")}
    assert by_outlet["agency.example"]["articles"] == 3
    months = {r["month"] for r in store.stats("month")}
    assert {"2021-03", "2021-04", "(undated)"} <= months
    groups = store.copy_groups()
    assert len(groups) == 1
    names = sorted(m["source"].rsplit("/", 1)[-1] for m in groups[0]["members"])
    assert names == ["blog-copy.txt", "story0.txt"]
    assert all(m["similarity"] >= 0.8 for m in groups[0]["members"])


def test_unreachable_database_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError) as err:
        Store("postgresql://nobody:secret@127.0.0.1:9/nothing")
    assert "cannot open the database" in str(err.value) and "secret" not in str(err.value)
    not_a_db = tmp_path / "notes.db"
    not_a_db.write_text("this is not a database " * 100)
    with pytest.raises(StoreError):
        Store(str(not_a_db))


def test_cli_add_export_copies_stats(tmp_path, corpus_dir, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["corpus", "add", str(corpus_dir), "--no-progress"])
    assert res.exit_code == 1  # some inputs were bad
    assert (tmp_path / "unspin.db").exists()
    res = runner.invoke(app, ["corpus", "export", "--format", "jsonl"])
    docs = [json.loads(line) for line in res.stdout.splitlines() if line.strip()]
    assert len(docs) == 10 and all("text" in d and "spans" in d for d in docs)
    res = runner.invoke(app, ["corpus", "copies"])
    assert res.exit_code == 0 and "blog-copy.txt" in res.stdout and "story0.txt" in res.stdout, res.stdout
    assert "similarity=" in res.stdout
    res = runner.invoke(app, ["corpus", "stats", "--by", "outlet", "--format", "json"])
    assert json.loads(res.stdout)[0]["articles"] >= 1
    res = runner.invoke(app, ["corpus", "export", "--format", "csv", "-o", "out.csv"])
    assert (tmp_path / "out.csv").read_text().count("\n") == 11
    res = runner.invoke(app, ["corpus", "export", "--format", "parquet", "-o", "out.parquet"])
    import pyarrow.parquet as pq

    assert pq.read_table(tmp_path / "out.parquet").num_rows == 10
    res = runner.invoke(app, ["corpus", "errors"])
    assert "malformed JSON" in res.stdout


def test_killed_run_resumes_with_every_document_stored_once(tmp_path):
    src = tmp_path / "many"
    src.mkdir()
    n = 60
    for i in range(n):
        (src / f"a{i:03d}.txt").write_text(article(100 + i, paragraphs=30))
    db = f"sqlite:///{tmp_path / 'kill.db'}"
    cmd = [sys.executable, "-m", "unspin.cli.main", "corpus", "add", str(src), "--db", db, "--batch-size", "4",
           "--no-progress"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    store = Store(db)
    deadline = time.time() + 120
    while time.time() < deadline and store.count() < 8:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stored = store.count()
    assert 0 < stored < n, "the run should have been killed in the middle"
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert store.count() == n
    hashes = [d["content_hash"] for d in store.iter_documents()]
    assert len(hashes) == len(set(hashes)) == n
    runs = store.runs()
    # the killed run is marked interrupted (with what it stored) when the next run starts
    assert runs[0]["status"] == "interrupted" and runs[-1]["status"] == "finished"
    assert runs[0]["added"] == stored
    assert runs[-1]["skipped"] == stored


def test_dask_local_cluster_stores_the_same_as_in_process(tmp_path, corpus_dir):
    pytest.importorskip("dask.distributed")
    local = Store(f"sqlite:///{tmp_path / 'local.db'}")
    add_paths([str(corpus_dir)], local, stages=["language", "segment"])
    dist = Store(f"sqlite:///{tmp_path / 'dask.db'}")
    report = add_paths([str(corpus_dir)], dist, stages=["language", "segment"], workers=2)
    assert report.added == local.count() == dist.count() == 10
    key = lambda d: d["content_hash"]  # noqa: E731
    a = sorted(local.iter_documents(), key=key)
    b = sorted(dist.iter_documents(), key=key)
    assert [(d["content_hash"], d["sentences"]) for d in a] == [(d["content_hash"], d["sentences"]) for d in b]
    assert len(dist.errors()) == len(local.errors())


def test_locked_database_is_a_clear_error_and_nothing_half_written(tmp_path, corpus_dir):
    import sqlite3

    db_file = tmp_path / "locked.db"
    Store(f"sqlite:///{db_file}")  # create the tables
    holder = sqlite3.connect(db_file)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "unspin.cli.main", "corpus", "add", str(corpus_dir), "--db", f"sqlite:///{db_file}",
             "--no-progress"],
            capture_output=True, text=True, env={**os.environ, "UNSPIN_DB_TIMEOUT": "1"}, timeout=300,
        )  # fmt: skip
    finally:
        holder.rollback()
        holder.close()
    assert proc.returncode == 2
    assert "database is locked" in proc.stderr and "locked.db" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert Store(f"sqlite:///{db_file}").count() == 0


ADD_SCRIPT = """
import os, sys, time
from unspin.corpus.runner import add_paths
from unspin.store import Store
store = Store(sys.argv[1])
while not os.path.exists(sys.argv[3]):  # start together
    time.sleep(0.005)
report = add_paths([sys.argv[2]], store, stages=["language", "segment"], batch_size=1)
print(report.run_id, report.added, report.skipped, len(report.errors))
"""


def test_concurrent_adds_with_overlapping_inputs_store_each_document_once(db_url, tmp_path):
    # Both runs meet the shared articles first, at the same time: the loser of each race must count
    # the winner's document as already stored, not crash or drop its other inputs.
    shared = [article(200 + i) for i in range(24)]
    inputs = []
    for name, own in (("one", range(300, 312)), ("two", range(400, 412))):
        folder = tmp_path / name
        folder.mkdir()
        for i, text in enumerate(shared):
            (folder / f"a{i:03d}.txt").write_text(text)
        for i in own:
            (folder / f"b{i:03d}.txt").write_text(article(i))
        inputs.append(folder)
    Store(db_url)  # the schema exists before the two start
    go = tmp_path / "go"
    procs = [
        subprocess.Popen([sys.executable, "-c", ADD_SCRIPT, db_url, str(folder), str(go)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for folder in inputs
    ]  # fmt: skip
    time.sleep(8)  # both have opened the store and wait
    go.write_text("")
    results = [p.communicate(timeout=600) for p in procs]
    for proc, (_, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
    reports = [tuple(int(x) for x in out.split()) for out, _ in results]
    store = Store(db_url)
    assert store.count() == 24 + 12 + 12
    hashes = [d["content_hash"] for d in store.iter_documents()]
    assert len(hashes) == len(set(hashes))
    assert sum(added for _, added, _, _ in reports) == 48
    for _, added, skipped, errors in reports:
        assert added + skipped == 36 and errors == 0
    assert [r["status"] for r in store.runs()] == ["finished", "finished"]
    assert {r["id"]: (r["added"], r["skipped"]) for r in store.runs()} == {i: (a, s) for i, a, s, _ in reports}


def test_web_analyses_and_corpus_documents_share_the_store(tmp_path, corpus_dir, monkeypatch):
    from unspin.document import Document

    monkeypatch.chdir(tmp_path)
    store = Store("unspin.db")
    add_paths([str(corpus_dir)], store, stages=["language", "segment"])
    # pasted into the web app: a copy of story3, and an article the corpus does not have
    copied = "\n".join(article(3).split("\n")[2:])
    web_copy = store.save(Document(text=copied, title="Pasted copy", outlet="paste.example", source="<pasted text>"))
    web_new = store.save(Document(text=article(77), title="Pasted new", outlet="paste.example"))
    res = runner.invoke(app, ["corpus", "copies", "--format", "json"])
    groups = json.loads(res.stdout)
    members = {m["source"].rsplit("/", 1)[-1]: m for g in groups for m in g["members"]}
    assert "story3.txt" in members and "<pasted text>" in members
    assert members["<pasted text>"]["id"] == web_copy
    res = runner.invoke(app, ["corpus", "stats", "--by", "outlet", "--format", "json"])
    assert {r["outlet"]: r["articles"] for r in json.loads(res.stdout)}["paste.example"] == 2
    res = runner.invoke(app, ["corpus", "export", "--format", "jsonl"])
    titles = [json.loads(line)["title"] for line in res.stdout.splitlines() if line.strip()]
    assert len(titles) == 12 and "Pasted new" in titles
    # the corpus documents have pages too, and adding a text the web stored counts it as stored
    doc = next(d for d in store.iter_documents() if d["source"].endswith("story1.txt"))
    page_id = next(m for m in store.outlet_documents(doc["outlet"]) if m["corpus_id"] == doc["corpus_id"])["id"]
    assert store.get(page_id)["document"]["text"] == doc["text"]
    (tmp_path / "again").mkdir()
    (tmp_path / "again" / "new.txt").write_text(article(77))
    again = add_paths([str(tmp_path / "again")], store, stages=["language", "segment"])
    assert (again.added, again.skipped) == (0, 0) or again.added == 0
    assert store.get(web_new) is not None and store.count() == 12
