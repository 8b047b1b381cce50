"""The CLI as users run it: contracts of `extract` and `analyze`, batches with bad files."""

import json
import subprocess
import sys
from collections import Counter

import pytest
from conftest import EXAMPLES, need
from typer.testing import CliRunner

from unspin.cli.main import app

runner = CliRunner()


def test_extract_json_contract(fixtures):
    res = runner.invoke(app, ["extract", str(fixtures / "hostile.html"), "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    for key in ("title", "text", "author", "published", "outlet"):
        assert key in doc
    assert doc["title"] == "Council Approves the New Budget"


def test_analyze_json_one_object_for_one_document_array_for_several(fixtures):
    one = runner.invoke(app, ["analyze", str(fixtures / "blog-republished.txt")])
    assert one.exit_code == 0
    assert isinstance(json.loads(one.stdout), dict)
    two = runner.invoke(app, ["analyze", str(fixtures / "blog-republished.txt"), str(fixtures / "french.txt")])
    docs = json.loads(two.stdout)
    assert isinstance(docs, list) and len(docs) == 2
    for d in docs:
        for key in ("title", "text", "spans", "outlet", "author", "published", "language", "claims"):
            assert key in d
        for s in d["sentences"]:
            assert 0 <= s["start"] < s["end"] <= len(d["text"])


def test_folder_with_good_and_bad_files(tmp_path, fixtures):
    (tmp_path / "good1.txt").write_text((fixtures / "blog-republished.txt").read_text())
    (tmp_path / "good2.html").write_text((fixtures / "hostile.html").read_text())
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "scan.txt").write_bytes(b"%PDF-1.4 binary")
    (tmp_path / "broken.jsonl").write_text('{"text": "A fine record body."}\n{oops\n')
    proc = subprocess.run(
        [sys.executable, "-m", "unspin.cli.main", "analyze", str(tmp_path), "--format", "jsonl"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    docs = [json.loads(line) for line in proc.stdout.splitlines()]
    assert sorted(d["source"].split("/")[-1] for d in docs) == ["broken.jsonl:1", "good1.txt", "good2.html"]
    assert f"{tmp_path / 'empty.txt'}: empty input" in proc.stderr
    assert f"{tmp_path / 'scan.txt'}: binary file" in proc.stderr
    assert f"{tmp_path / 'broken.jsonl'}:2: malformed JSON" in proc.stderr
    assert "3 input(s) failed" in proc.stderr


def test_stdin_dash(fixtures):
    res = runner.invoke(app, ["analyze", "-"], input=(fixtures / "blog-republished.txt").read_text())
    assert res.exit_code == 0
    assert json.loads(res.stdout)["source"] == "<stdin>"


def test_terminal_view_renders(fixtures):
    res = runner.invoke(app, ["analyze", str(fixtures / "state-outlet-debris.txt"), "--format", "text"])
    assert res.exit_code == 0
    assert "Why Neighbouring Powers" in res.stdout and "smuggling networks" in res.stdout


def test_examples_contract():
    need(EXAMPLES)
    res = runner.invoke(app, ["analyze", str(EXAMPLES), "--format", "json"])
    assert res.exit_code == 0
    docs = json.loads(res.stdout)
    assert len(docs) == 2
    by_name = {d["source"].split("/")[-1]: d for d in docs}
    assert by_name["blog-2015-paris-bombing.txt"]["author"] == "Andrei Akulov"
    assert by_name["sputnik-2016-nice-attack.txt"]["outlet"] == "sputniknews.com"


def test_workers_give_the_same_documents_in_input_order_and_report_bad_files(tmp_path, fixtures):
    pytest.importorskip("dask.distributed")
    texts = [(fixtures / "blog-republished.txt").read_text(), (fixtures / "french.txt").read_text()]
    for i in range(6):
        (tmp_path / f"a{i}.txt").write_text(texts[i % 2] + f"\nParagraph number {i} closes this copy.\n")
    (tmp_path / "a3b.txt").write_bytes(b"")  # sorts between a3 and a4: its error must not shift the others

    def run(*extra: str) -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-m", "unspin.cli.main", "analyze", str(tmp_path), "--format", "jsonl", *extra]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=600)

    alone, parallel = run(), run("--workers", "2")
    assert alone.returncode == parallel.returncode == 1, parallel.stderr
    for proc in (alone, parallel):
        assert f"{tmp_path / 'a3b.txt'}: empty input" in proc.stderr
        assert "1 input(s) failed" in proc.stderr
    a = [json.loads(line) for line in alone.stdout.splitlines()]
    b = [json.loads(line) for line in parallel.stdout.splitlines()]
    assert [d["source"].rsplit("/", 1)[-1] for d in b] == [f"a{i}.txt" for i in range(6)]
    assert [(d["source"], d["text"], d["sentences"], d["language"]) for d in a] == [
        (d["source"], d["text"], d["sentences"], d["language"]) for d in b
    ]
    # one core per worker against all cores in one process: the same spans
    for da, db in zip(a, b, strict=True):
        assert [(s["start"], s["end"], s["technique"]) for s in da["spans"]] == [
            (s["start"], s["end"], s["technique"]) for s in db["spans"]
        ]


def test_skip_claims_leaves_claims_null_and_says_which_stages_ran(fixtures):
    res = runner.invoke(
        app, ["analyze", str(fixtures / "blog-republished.txt"), "--skip", "claims", "--skip", "framing"]
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["stages"] == ["language", "segment", "techniques"]
    assert doc["claims"] is None and isinstance(doc["spans"], list)
    assert "entities" not in doc and "narratives" not in doc
    full = json.loads(runner.invoke(app, ["analyze", str(fixtures / "blog-republished.txt")]).stdout)
    assert full["stages"] == ["language", "segment", "techniques", "claims", "framing"]
    assert isinstance(full["claims"], list) and isinstance(full["entities"], list)
    assert [(s["start"], s["end"], s["technique"]) for s in full["spans"]] == [
        (s["start"], s["end"], s["technique"]) for s in doc["spans"]
    ]
    bad = runner.invoke(app, ["analyze", str(fixtures / "blog-republished.txt"), "--skip", "segment"])
    assert bad.exit_code == 2 and "segment" in bad.output


def test_min_score_keeps_the_confident_spans_and_rescores_the_article():
    article = str(need(EXAMPLES / "blog-2015-paris-bombing.txt"))
    full = json.loads(runner.invoke(app, ["analyze", article, "--skip", "claims"]).stdout)
    scores = sorted(s["score"] for s in full["spans"])
    assert len(scores) >= 4 and scores[0] < scores[-1]
    cut = scores[len(scores) // 2]  # a confidence some spans fall below, read from this very run
    res = runner.invoke(app, ["analyze", article, "--skip", "claims", "--min-score", str(cut)])
    assert res.exit_code == 0, res.output
    kept = json.loads(res.stdout)
    expected = [s for s in full["spans"] if s["score"] >= cut]
    assert 0 < len(kept["spans"]) < len(full["spans"])
    assert [(s["start"], s["end"], s["technique"], s["score"]) for s in kept["spans"]] == [
        (s["start"], s["end"], s["technique"], s["score"]) for s in expected
    ]
    art = kept["scores"]["article"]
    assert art["min_score"] == cut and art["n_spans"] == len(expected)
    assert art["share"] < full["scores"]["article"]["share"]
    assert art["counts"] == dict(sorted(Counter(s["technique"] for s in expected).items()))
    for sent in kept["sentences"]:  # a sentence scores its best kept span, or 0 without one
        inside = [s["score"] for s in expected if s["start"] < sent["end"] and s["end"] > sent["start"]]
        assert sent["score"] == round(max(inside, default=0.0), 4)
    assert "min_score" not in full["scores"]["article"]
    view = runner.invoke(app, ["analyze", article, "--skip", "claims", "--min-score", str(cut), "--format", "text"])
    assert view.exit_code == 0 and f"confidence {cut:.2f} or more" in view.stdout
    bad = runner.invoke(app, ["analyze", article, "--min-score", "1.5"])
    assert bad.exit_code == 2 and "--min-score" in bad.output
