"""`unspin eval` is the official SemEval-2020 Task 11 metric: spans merged as the official scorer merges them,
agreement with an independent scorer on any file, and clear errors for bad label files."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import random
from pathlib import Path

import pytest
from conftest import SHARED
from typer.testing import CliRunner

from unspin.cli.main import app
from unspin.eval.spans import LabelSpan, score_files, score_flc, score_si, score_tc

LL = "Loaded_Language"
NC = "Name_Calling,Labeling"
REP = "Repetition"
PTC_SCORE = SHARED / "tools" / "ptc-score"
runner = CliRunner()


def L(start: int, end: int, technique: str | None = LL, article: str = "1") -> LabelSpan:
    return LabelSpan(article, start, end, technique)


def triple(s: object) -> tuple[float, float, float]:
    return (s.precision, s.recall, s.f1)  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------- merging, as the official scorer


def test_repeating_a_prediction_changes_no_number() -> None:
    gold = [L(0, 10, LL), L(20, 40, NC), L(50, 60, REP, article="2")]
    pred = [L(0, 8, LL), L(25, 45, NC), L(50, 55, REP, article="2"), L(70, 80, LL)]
    for scorer in (score_si, score_flc):
        once = scorer(gold, pred)
        twice = scorer(gold, pred + pred)
        assert triple(twice) == triple(once)
        assert (twice.n_pred, twice.n_gold) == (once.n_pred, once.n_gold)
        assert {k: vars(v) for k, v in twice.per_technique.items()} == {
            k: vars(v) for k, v in once.per_technique.items()
        }


def test_flc_merges_overlapping_fragments_of_one_technique_only() -> None:
    gold = [L(0, 10, LL)]
    # [0,6) and [4,10) of the same technique are one predicted fragment [0,10): a perfect match, not two halves
    s = score_flc(gold, [L(0, 6, LL), L(4, 10, LL)])
    assert triple(s) == (1.0, 1.0, 1.0) and s.n_pred == 1
    # of two techniques they stay two predictions; only the matching one earns credit
    s = score_flc(gold, [L(0, 10, LL), L(0, 10, NC)])
    assert (s.n_pred, s.precision, s.recall) == (2, 0.5, 1.0)


def test_flc_gold_overlaps_are_merged_too() -> None:
    gold = [L(0, 10, LL), L(5, 15, LL)]  # one gold fragment [0,15)
    s = score_flc(gold, [L(0, 15, LL)])
    assert triple(s) == (1.0, 1.0, 1.0) and s.n_gold == 1


# ------------------------------------------------------------------------------- the independent scorer agrees


def _load_ptc_score():  # noqa: ANN202 - a module loaded from a file without a .py suffix
    loader = importlib.machinery.SourceFileLoader("ptc_score", str(PTC_SCORE))
    spec = importlib.util.spec_from_loader("ptc_score", loader)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    loader.exec_module(module)
    return module


def _random_labels(rng: random.Random, n: int, articles: int) -> list[LabelSpan]:
    techniques = [LL, NC, REP, "Doubt"]
    out = []
    for _ in range(n):
        a = rng.randrange(0, 300)
        out.append(LabelSpan(str(rng.randrange(articles)), a, a + rng.randrange(1, 60), rng.choice(techniques)))
    return out


def _write(path: Path, spans: list[LabelSpan], kind: str) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for s in spans:
            cols = (
                [s.article_id, str(s.start), str(s.end)]
                if kind == "si"
                else [s.article_id, s.technique or "", str(s.start), str(s.end)]
            )
            fh.write("\t".join(cols) + "\n")
    return path


@pytest.mark.skipif(not PTC_SCORE.is_file(), reason="the independent scorer is not beside the project")
@pytest.mark.parametrize("seed", range(12))
def test_agrees_with_the_independent_scorer_on_random_files(tmp_path: Path, seed: int) -> None:
    ptc = _load_ptc_score()
    rng = random.Random(seed)
    gold = _random_labels(rng, rng.randrange(1, 80), articles=4)
    pred = _random_labels(rng, rng.randrange(0, 80), articles=5)
    pred += rng.sample(pred, k=len(pred) // 3)  # repeated predictions, as decoders emit them
    for kind in ("si", "flc"):
        g = _write(tmp_path / f"gold-{kind}", gold, kind)
        p = _write(tmp_path / f"pred-{kind}", pred, kind)
        ours = score_files(kind, g, p)
        theirs = ptc.span_prf(ptc.read(str(g), kind != "si"), ptc.read(str(p), kind != "si"))
        assert triple(ours) == pytest.approx((theirs["P"], theirs["R"], theirs["F1"]), abs=1e-9)
        if kind == "flc":
            for tech, t in ours.per_technique.items():
                assert t.f1 == pytest.approx(theirs["labels"][tech]["F1"], abs=1e-9)
    # TC: gold spans given, one label predicted per gold span
    tc_gold = _write(tmp_path / "gold-tc", gold, "flc")
    tc_pred = _write(
        tmp_path / "pred-tc",
        [LabelSpan(s.article_id, s.start, s.end, rng.choice([LL, NC, REP, "Doubt"])) for s in gold],
        "flc",
    )
    ours = score_files("tc", tc_gold, tc_pred)
    theirs = ptc.tc_prf(ptc.read(str(tc_gold), True), ptc.read(str(tc_pred), True))
    assert triple(ours) == pytest.approx((theirs["P"], theirs["R"], theirs["F1"]), abs=1e-9)
    assert triple(score_tc(gold, gold)) == (1.0, 1.0, 1.0)


# ------------------------------------------------------------------------------- bad label files, clearly named


def _eval(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["eval", *args])
    return result.exit_code, result.stdout, result.stderr


def test_crlf_and_a_byte_order_mark_read_like_plain_lines(tmp_path: Path) -> None:
    gold = tmp_path / "gold.txt"
    gold.write_bytes(f"\ufeffarticle1\t{LL}\t0\t10\r\n1\t{NC}\t20\t30\r\n".encode())
    pred = tmp_path / "pred.txt"
    pred.write_text(f"1\t{LL}\t0\t10\n1\t{NC}\t20\t30\n")
    code, out, err = _eval("flc", str(gold), str(pred))
    assert code == 0, err
    assert "P=1.0000\tR=1.0000\tF1=1.0000" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (f"1\t{LL}\t0\t10\n1\tLoaded Language\t3\t5\n".encode(), "line 2: unknown technique 'Loaded Language'"),
        (f"1\t{LL}\t0\t10\n\n1\t{LL}\t\xff\t5\n".encode("latin-1"), "line 3: not valid UTF-8"),
        (f"1\t{LL}\t0\t10\n1\t{LL}\t9\t5\n".encode(), "line 2: end 5 is not after start 9"),
        (b"1\t0\t10\n", "line 1: expected 4 tab-separated columns"),
    ],
)
def test_bad_prediction_lines_are_named_by_file_and_line(tmp_path: Path, content: bytes, message: str) -> None:
    gold = _write(tmp_path / "gold.txt", [L(0, 10)], "flc")
    pred = tmp_path / "pred.txt"
    pred.write_bytes(content)
    code, out, err = _eval("flc", str(gold), str(pred))
    assert code == 1 and out == ""
    assert "pred.txt" in err and message in " ".join(err.split())
    assert "Traceback" not in err


def test_every_bad_line_of_a_file_is_named_at_once(tmp_path: Path) -> None:
    gold = _write(tmp_path / "gold.txt", [L(0, 10)], "flc")
    pred = tmp_path / "pred.txt"
    lines = [f"1\t{LL}\t0\t10", "1\tFoo\t3\t9", f"1\t{LL}\t9\t3", f"1\t{LL}\tx\t5", f"1\t{LL}\t0\t4"]
    lines += [f"1\tBar\t{i}\t{i + 1}" for i in range(30)]  # 30 more: the first ones named, the rest counted
    pred.write_text("\n".join(lines) + "\n")
    code, out, err = _eval("flc", str(gold), str(pred))
    flat = " ".join(err.split())
    assert code == 1 and out == ""
    for where in ("line 2: unknown technique 'Foo'", "line 3: end 3 is not after start 9", "line 4: start 'x'"):
        assert where in flat
    assert "line 1:" not in flat and "line 5:" not in flat
    assert "line 22:" in flat and "line 23:" not in flat and "and 13 more" in flat


def test_spans_past_the_end_or_of_a_missing_article_are_named_with_articles(tmp_path: Path) -> None:
    arts = tmp_path / "articles"
    arts.mkdir()
    (arts / "article1.txt").write_text("Twelve chars")
    gold = _write(tmp_path / "gold.txt", [L(0, 6)], "flc")
    past = _write(tmp_path / "past.txt", [L(0, 6), L(6, 40)], "flc")
    code, _, err = _eval("flc", str(gold), str(past), "--articles", str(arts))
    assert code == 1 and "past.txt, line 2" in err and "runs past its end" in " ".join(err.split())
    both = _write(tmp_path / "both.txt", [L(0, 6), L(6, 40), L(0, 6, article="9")], "flc")
    code, _, err = _eval("flc", str(gold), str(both), "--articles", str(arts))
    assert code == 1 and "both.txt, line 2" in err and "both.txt, line 3" in err  # every span named at once
    missing = _write(tmp_path / "missing.txt", [L(0, 6, article="9")], "flc")
    code, _, err = _eval("flc", str(gold), str(missing), "--articles", str(arts))
    assert code == 1 and "missing.txt, line 1" in err and "article9.txt" in err
    # without the folder the same files score, and the article only one side names is pointed out
    code, out, err = _eval("flc", str(gold), str(missing))
    assert code == 0 and "F1=0.0000" in out
    assert "1 article with no gold spans (9)" in " ".join(err.split())
    assert "nothing predicted for 1 gold article (1)" in " ".join(err.split())


def test_overlapping_predictions_are_scored_not_refused(tmp_path: Path) -> None:
    gold = _write(tmp_path / "gold.txt", [L(0, 10)], "flc")
    pred = _write(tmp_path / "pred.txt", [L(0, 10), L(0, 10), L(2, 8)], "flc")
    code, out, err = _eval("flc", str(gold), str(pred), "--json")
    assert code == 0, err
    assert '"f1": 1.0' in out and '"n_pred": 1' in out
