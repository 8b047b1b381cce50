"""The SemEval-2020 Task 11 span metric on hand-computed cases, and the SemEval file I/O."""

from __future__ import annotations

from pathlib import Path

import pytest

from unspin.document import Span
from unspin.eval.spans import score_files, score_flc, score_si, score_tc
from unspin.formats.semeval import LabelSpan, SemEvalFormatError, read_articles, read_labels, write_labels
from unspin.formats.semeval_tasks import fill_tc, write_flc, write_si

LL = "Loaded_Language"
NC = "Name_Calling,Labeling"


def L(start: int, end: int, technique: str | None = LL, article: str = "1") -> LabelSpan:
    return LabelSpan(article, start, end, technique)


def approx(x: float) -> object:
    return pytest.approx(x, abs=1e-9)


def test_exact_match() -> None:
    for scorer in (score_si, score_flc):
        s = scorer([L(0, 10)], [L(0, 10)])
        assert (s.precision, s.recall, s.f1) == (1.0, 1.0, 1.0)


def test_half_overlap() -> None:
    # pred [5,15) vs gold [0,10): 5 shared characters of 10 on each side
    s = score_flc([L(0, 10)], [L(5, 15)])
    assert (s.precision, s.recall, s.f1) == (approx(0.5), approx(0.5), approx(0.5))


def test_prediction_inside_gold() -> None:
    # pred [0,5) inside gold [0,10): P = 5/5, R = 5/10, F1 = 2/3
    s = score_flc([L(0, 10)], [L(0, 5)])
    assert (s.precision, s.recall, s.f1) == (approx(1.0), approx(0.5), approx(2 / 3))


def test_no_overlap() -> None:
    s = score_flc([L(0, 10)], [L(10, 20)])  # end is exclusive: touching spans share nothing
    assert (s.precision, s.recall, s.f1) == (0.0, 0.0, 0.0)


def test_other_article_gets_no_credit() -> None:
    s = score_si([L(0, 10, article="1")], [L(0, 10, article="2")])
    assert s.f1 == 0.0


def test_missed_gold_span() -> None:
    s = score_flc([L(0, 10), L(20, 30)], [L(0, 10)])
    assert (s.precision, s.recall, s.f1) == (approx(1.0), approx(0.5), approx(2 / 3))


def test_si_merges_overlapping_spans_on_both_sides() -> None:
    gold = [L(0, 10, LL), L(5, 15, NC)]  # one merged gold span [0,15)
    assert score_si(gold, [L(0, 15, None)]).f1 == approx(1.0)
    # predictions [0,5) and [3,8) merge to [0,8): P = 8/8, R = 8/15
    s = score_si(gold, [L(0, 5, None), L(3, 8, None)])
    assert (s.n_pred, s.n_gold) == (1, 1)
    assert (s.precision, s.recall) == (approx(1.0), approx(8 / 15))
    assert s.f1 == approx(2 * (8 / 15) / (1 + 8 / 15))


def test_si_ignores_labels_flc_does_not() -> None:
    gold, pred = [L(0, 10, LL)], [L(0, 10, NC)]
    assert score_si(gold, pred).f1 == 1.0
    flc = score_flc(gold, pred)
    assert (flc.precision, flc.recall, flc.f1) == (0.0, 0.0, 0.0)
    assert flc.per_technique[LL].recall == 0.0 and flc.per_technique[NC].precision == 0.0


def test_flc_per_technique() -> None:
    gold = [L(0, 10, LL), L(20, 30, NC)]
    pred = [L(0, 10, LL), L(40, 50, NC)]
    s = score_flc(gold, pred)
    assert s.per_technique[LL].f1 == 1.0
    assert s.per_technique[NC].f1 == 0.0
    assert (s.precision, s.recall) == (approx(0.5), approx(0.5))


def test_empty_prediction() -> None:
    for scorer in (score_si, score_flc, score_tc):
        s = scorer([L(0, 10)], [])
        assert (s.precision, s.recall, s.f1) == (0.0, 0.0, 0.0)


def test_tc_accuracy_per_gold_span() -> None:
    gold = [L(0, 10, LL), L(20, 30, NC), L(40, 50, LL), L(40, 50, "Repetition")]
    pred = [L(0, 10, LL), L(20, 30, LL), L(40, 50, "Repetition"), L(40, 50, LL)]
    s = score_tc(gold, pred)
    assert s.f1 == approx(3 / 4)
    assert s.per_technique[NC].recall == 0.0
    assert s.per_technique[LL].precision == approx(2 / 3)


# ------------------------------------------------------------------------------------------- file I/O


def test_label_files_round_trip_and_score(tmp_path: Path) -> None:
    gold = tmp_path / "gold.labels"
    pred = tmp_path / "pred.labels"
    write_labels([L(0, 10, LL), L(20, 30, NC)], gold, "flc")
    write_labels([L(0, 10, LL)], pred, "flc")
    assert gold.read_text() == f"1\t{LL}\t0\t10\n1\t{NC}\t20\t30\n"
    assert read_labels(gold, "flc") == [L(0, 10, LL), L(20, 30, NC)]
    assert score_files("flc", gold, pred).recall == approx(0.5)
    # SI scoring reads the 4-column format too
    si = tmp_path / "si.labels"
    write_labels([L(0, 10, None)], si, "si")
    assert si.read_text() == "1\t0\t10\n"
    assert score_files("si", gold, si).precision == approx(1.0)


@pytest.mark.parametrize(
    ("kind", "line", "message"),
    [
        ("si", "1\t0\n", "expected 3"),
        ("flc", "1\tNo_Such_Technique\t0\t5\n", "unknown technique"),
        ("flc", "1\t?\t0\t5\n", "only allowed in a TC template"),
        ("si", "1\tx\t5\n", "not an integer"),
        ("si", "1\t9\t5\n", "not after start"),
    ],
)
def test_malformed_lines_name_file_and_line(tmp_path: Path, kind: str, line: str, message: str) -> None:
    path = tmp_path / "bad.labels"
    path.write_text("1\t0\t5\n" if kind == "si" else f"1\t{LL}\t0\t5\n")
    with path.open("a") as fh:
        fh.write(line)
    with pytest.raises(SemEvalFormatError, match=rf"bad\.labels, line 2: .*{message}"):
        read_labels(path, kind)


class StubTagger:
    """Marks the word 'evil' as Loaded_Language wherever it occurs."""

    def predict(self, texts: list[str]) -> list[list[Span]]:
        out = []
        for text in texts:
            spans, i = [], text.find("evil")
            while i >= 0:
                spans.append(Span(i, i + 4, LL, 0.9))
                i = text.find("evil", i + 1)
            out.append(spans)
        return out

    def classify(self, text: str, spans: list[tuple[int, int]]) -> list[str]:
        return [LL if "evil" in text[a:b] else NC for a, b in spans]


def test_writers_with_a_tagger(tmp_path: Path) -> None:
    arts = tmp_path / "articles"
    arts.mkdir()
    (arts / "article7.txt").write_text("Title\n\nThe evil plan.\n", encoding="utf-8")
    (arts / "article8.txt").write_text("Nothing here.\n", encoding="utf-8")
    (arts / "notes.md").write_text("ignored")
    assert list(read_articles(arts)) == ["7", "8"]
    assert write_si(arts, tmp_path / "si.txt", StubTagger()) == 1
    assert (tmp_path / "si.txt").read_text() == "7\t11\t15\n"
    write_flc(arts, tmp_path / "flc.txt", StubTagger())
    assert (tmp_path / "flc.txt").read_text() == f"7\t{LL}\t11\t15\n"
    template = tmp_path / "template.txt"
    template.write_text("7\t?\t11\t15\n7\t?\t0\t5\n")
    assert fill_tc(arts, template, tmp_path / "tc.txt", StubTagger()) == 2
    assert (tmp_path / "tc.txt").read_text() == f"7\t{LL}\t11\t15\n7\t{NC}\t0\t5\n"
    bad = tmp_path / "bad-template.txt"
    bad.write_text("7\t?\t11\t99\n")
    with pytest.raises(SemEvalFormatError, match="runs past its end"):
        fill_tc(arts, bad, tmp_path / "tc2.txt", StubTagger())


def test_writers_in_lanes_match_one_lane_and_report_progress(tmp_path: Path) -> None:
    import threading
    import time

    class SlowStub(StubTagger):
        """Later articles finish first, so lanes that returned results as they finish would reorder."""

        threads: set[str] = set()

        def predict(self, texts: list[str]) -> list[list[Span]]:
            SlowStub.threads.add(threading.current_thread().name)
            time.sleep(0.02 * (texts[0].count("\n") % 3))
            return super().predict(texts)

    arts = tmp_path / "articles"
    arts.mkdir()
    for i in range(9):
        (arts / f"article{100 + i}.txt").write_text("Title\n\n" + "x\n" * i + "An evil act. Not evil?\n")
    seen: list[tuple[int, int]] = []
    for kind, writer in (("si", write_si), ("flc", write_flc)):
        writer(arts, tmp_path / f"{kind}-1.txt", SlowStub())
        writer(arts, tmp_path / f"{kind}-3.txt", SlowStub(), lanes=3, progress=lambda d, t: seen.append((d, t)))
        assert (tmp_path / f"{kind}-3.txt").read_text() == (tmp_path / f"{kind}-1.txt").read_text()
    assert (tmp_path / "flc-3.txt").read_text().count("\n") == 18
    assert seen[-1] == (9, 9) and [d for d, _ in seen[:9]] == list(range(1, 10))
    assert any(name.startswith("unspin-lane") for name in SlowStub.threads)


def test_flc_file_writes_a_repeated_fragment_once_and_scores_the_same(tmp_path: Path) -> None:
    """The decoding may find one stretch twice (nested or overlapping spans of one technique): the file
    carries their union once, and the official metric gives the file what it gives the raw spans."""
    text = "Title\n\nThey are evil, monstrous cowards and liars.\n"
    found = [Span(15, 34, LL, 0.4), Span(20, 30, LL, 0.9), Span(33, 46, LL, 0.3), Span(20, 30, NC, 0.5)]

    class Repeating:
        def predict(self, texts: list[str]) -> list[list[Span]]:
            return [list(found)]

    arts = tmp_path / "articles"
    arts.mkdir()
    (arts / "article5.txt").write_text(text, encoding="utf-8")
    write_flc(arts, tmp_path / "flc.txt", Repeating())
    rows = read_labels(tmp_path / "flc.txt", "flc")
    assert sorted((r.start, r.end, r.technique) for r in rows) == [(15, 46, LL), (20, 30, NC)]
    gold = [L(20, 34, LL, "5"), L(40, 46, NC, "5")]
    raw = [L(s.start, s.end, s.technique, "5") for s in found]
    assert score_flc(gold, rows) == score_flc(gold, raw)
