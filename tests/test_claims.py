"""Check-worthy claims: what a user of `ClaimDetector`, `doc.claims` and the per-line mode relies on."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("tokenizers")

from unspin.claims.detector import (  # noqa: E402
    MODEL_DIR,
    ClaimDetector,
    ClaimModelError,
    get_detector,
    iter_line_scores,
    lines_of,
    score_lines,
)
from unspin.document import Document, Segment  # noqa: E402
from unspin.eval.binary import best_threshold, prf  # noqa: E402
from unspin.eval.calibration import expected_calibration_error, fit_platt, sigmoid  # noqa: E402
from unspin.models.base import ModelFilesError  # noqa: E402
from unspin.train.checkthat import read_checkthat_tsv  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "checkthat2024-en"
DEVTEST_F1_FLOOR = 0.80

FACTUAL = [
    "Unemployment fell to 3.9 percent in 2018, the lowest rate since 1969.",
    "The federal deficit grew by $1.2 trillion last year, according to the Treasury.",
    "Crime in our cities has gone up 40 percent since he took office.",
    "We spend more on defense than the next nine countries combined.",
]
NOT_CLAIMS = [
    "Thank you all for being here tonight.",
    "Let me finish my answer.",
    "Good evening, everyone.",
    "I think we can do better.",
]


@pytest.fixture(scope="module")
def detector() -> ClaimDetector:
    try:
        return get_detector()
    except ModelFilesError as exc:  # the base-encoder package (tokenizer) is not installed
        pytest.skip(str(exc))


def test_scores_are_probabilities_in_input_order(detector: ClaimDetector) -> None:
    sentences = FACTUAL + NOT_CLAIMS
    scores = detector.score(sentences)
    assert len(scores) == len(sentences)
    assert all(isinstance(s, float) and 0.0 <= s <= 1.0 for s in scores)
    # scoring in another order gives the same scores for the same sentences
    again = detector.score(list(reversed(sentences)))
    for a, b in zip(scores, reversed(again), strict=True):
        assert a == pytest.approx(b, abs=0.05)


def test_statistics_score_higher_than_pleasantries(detector: ClaimDetector) -> None:
    fact = detector.score(FACTUAL)
    other = detector.score(NOT_CLAIMS)
    assert min(fact) > max(other)
    assert all(s >= detector.threshold for s in fact[:2])
    assert all(s < detector.threshold for s in other)


def test_bad_input_gets_an_answer(detector: ClaimDetector) -> None:
    long_sentence = ("The economy grew by 3 percent in 2019 and " * 300)[:10_000]
    odd = [
        "",
        "   ",
        "\n",
        long_sentence,
        "x" * 10_000,
        "Die Arbeitslosigkeit ist 2018 auf 3,9 Prozent gesunken.",
        "Безработица снизилась до 3,9 процента в 2018 году.",
        "失业率在2018年降至3.9%。",
        "\ud800 broken surrogate",
        "🙂🙂🙂",
    ]
    assert len(long_sentence) == 10_000
    scores = detector.score(odd)
    assert len(scores) == len(odd)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores[0] == scores[1] == scores[2] == 0.0
    assert detector.score([]) == []


def test_non_strings_are_refused_clearly(detector: ClaimDetector) -> None:
    with pytest.raises(TypeError, match="sentence 1"):
        detector.score(["fine", None])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        detector.score("one string, not a list")  # type: ignore[arg-type]


def _doc_with_sentences(parts: list[str], sep: str = "  ") -> Document:
    text = ""
    segs = []
    for p in parts:
        start = len(text)
        text += p
        segs.append(Segment(start, len(text)))
        text += sep
    return Document(text=text, sentences=segs)


def test_doc_claims_offsets_slice_the_text(detector: ClaimDetector) -> None:
    parts = [NOT_CLAIMS[0], " " + FACTUAL[0] + " ", NOT_CLAIMS[1], FACTUAL[1]]
    doc = _doc_with_sentences(parts)
    detector(doc)
    assert [c["text"] for c in doc.claims] == [FACTUAL[0], FACTUAL[1]]  # surrounding spaces trimmed
    for c in doc.claims:
        assert doc.text[c["start"] : c["end"]] == c["text"]
        assert c["score"] >= detector.threshold
        assert set(c) == {"start", "end", "text", "score"}
    assert [c["start"] for c in doc.claims] == sorted(c["start"] for c in doc.claims)


def test_doc_claims_in_text_order_even_if_segments_are_not(detector: ClaimDetector) -> None:
    doc = _doc_with_sentences([FACTUAL[0], FACTUAL[1]])
    doc.sentences.reverse()
    detector(doc)
    assert [c["text"] for c in doc.claims] == [FACTUAL[0], FACTUAL[1]]


def test_doc_without_segmentation_scores_lines(detector: ClaimDetector) -> None:
    doc = Document(text=f"{NOT_CLAIMS[0]}\n\n{FACTUAL[0]}\n")
    detector(doc)
    assert [c["text"] for c in doc.claims] == [FACTUAL[0]]
    assert any("segmentation" in w for w in doc.warnings)


def test_empty_document_and_non_english_warning(detector: ClaimDetector) -> None:
    doc = Document(text="")
    detector(doc)
    assert doc.claims == []
    doc = Document(text="Die Arbeitslosigkeit ist gesunken.", language="de", sentences=[Segment(0, 34)])
    detector(doc)
    assert any("English" in w for w in doc.warnings)


def test_score_lines_gives_one_answer_per_line(detector: ClaimDetector) -> None:
    lines = [FACTUAL[0] + "\n", "\n", NOT_CLAIMS[0] + "\r\n", "x" * 10_000]
    out = score_lines(lines, detector)
    assert len(out) == len(lines)
    for score, is_claim in out:
        assert 0.0 <= score <= 1.0
        assert is_claim == (score >= detector.threshold)
    assert out[0][1] is True and out[1] == (0.0, False) and out[2][1] is False


def test_a_lines_answer_does_not_depend_on_the_other_lines(detector: ClaimDetector) -> None:
    # int8 activations are quantised per batch: in a batch, a sentence's score moves with its neighbours
    lines = [FACTUAL[0], NOT_CLAIMS[0], "x" * 3_000, FACTUAL[1], "and then", NOT_CLAIMS[1]]
    alone = [score_lines([line], detector)[0] for line in lines]
    assert score_lines(lines, detector) == alone
    assert score_lines(lines[::-1], detector) == alone[::-1]
    chunks = [a for chunk in iter_line_scores(lines, detector, chunk=4) for a in chunk]
    assert chunks == alone
    one_lane, two_lanes = ClaimDetector(threads=1), ClaimDetector(threads=2)  # sentences spread over lanes
    assert one_lane.score(lines * 3) == two_lanes.score(lines * 3) == [p for p, _ in alone] * 3


def test_per_line_numbers_every_line_of_the_file_as_written() -> None:
    assert lines_of("a\r\nb\n") == ["a", "b"]  # the final newline ends line 2, it opens no line 3
    assert lines_of("a\n\nb") == ["a", "", "b"]  # a blank line is a line
    assert lines_of("a\u2028b\x0cc\n") == ["a\u2028b\x0cc"]  # only \n ends a line


def test_model_file_is_verified(tmp_path: Path) -> None:
    model_dir = tmp_path / "claims"
    shutil.copytree(MODEL_DIR, model_dir)
    cfg = json.loads((model_dir / "config.json").read_text())
    cfg["model_sha256"] = "0" * 64
    (model_dir / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ClaimModelError, match="sha256"):
        ClaimDetector.load(model_dir)
    with pytest.raises(ClaimModelError, match="missing"):
        ClaimDetector.load(tmp_path / "nowhere")


def test_shipped_model_is_small() -> None:
    cfg = json.loads((MODEL_DIR / "config.json").read_text())
    size = (MODEL_DIR / cfg["model_file"]).stat().st_size
    assert size <= 30_000_000
    assert 0.0 < cfg["threshold"] < 1.0


def test_inference_does_not_import_torch() -> None:
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from unspin.claims.detector import get_detector\n"
        "print(get_detector(threads=1).score(['Taxes rose 5 percent.'])[0])\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    if "ModelFilesError" in res.stderr:
        pytest.skip("base-encoder package not installed")
    assert res.returncode == 0, res.stderr
    assert 0.0 <= float(res.stdout.strip()) <= 1.0


def test_reader_splits_rows_that_lost_their_line_break(tmp_path: Path) -> None:
    f = tmp_path / "t.tsv"
    f.write_text(
        'Sentence_id\tText\tclass_label\n1\t"Quoted, with ""inner"" quotes."\tYes\n'
        "2\tFirst one.\tNo3\tSecond one.\tNo\n",
        encoding="utf-8",
    )
    rows = read_checkthat_tsv(f)
    assert [(r.sentence_id, r.text, r.label) for r in rows] == [
        ("1", 'Quoted, with "inner" quotes.', 1),
        ("2", "First one.", 0),
        ("3", "Second one.", 0),
    ]
    f.write_text("Sentence_id\tText\tclass_label\n1\tA.\tMaybe\n", encoding="utf-8")
    with pytest.raises(ValueError, match="Maybe"):
        read_checkthat_tsv(f)


def test_metrics_helpers() -> None:
    assert prf([1, 1, 0, 0], [True, False, True, False])["f1"] == pytest.approx(0.5)
    assert expected_calibration_error([0, 1], [0.0, 1.0]) == 0.0
    t, f1 = best_threshold([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    assert 0.2 < t <= 0.8 and f1 == 1.0
    assert sigmoid(0.0) == pytest.approx(0.5)
    assert sigmoid(-1000.0) == 0.0 and sigmoid(1000.0) == 1.0  # no overflow


def test_platt_scaling_recovers_the_calibration_that_made_the_targets() -> None:
    scores = [x / 10 for x in range(-30, 31)]
    a, b = fit_platt(scores, sigmoid(2.0 * np.asarray(scores) - 1.0))  # soft targets, as for technique spans
    assert (a, b) == (pytest.approx(2.0, abs=1e-3), pytest.approx(-1.0, abs=1e-3))
    labels = [int(s > 0.5) for s in scores]  # 0/1 labels, as for claims
    labels[34], labels[36] = 1, 0  # two labels on the wrong side of 0.55: not separable, a finite slope
    a, b = fit_platt(scores, labels)
    assert 5 < a < 20 and -b / a == pytest.approx(0.55, abs=0.01)
    assert fit_platt([0.1, 0.9], [0, 1]) == (1.0, 0.0)  # too few points: scores left as they are


@pytest.mark.skipif(not DATA.is_dir(), reason=f"{DATA} not available")
def test_f1_on_held_out_dev_test(detector: ClaimDetector) -> None:
    rows = read_checkthat_tsv(DATA / "CT24_checkworthy_english_dev-test.tsv")
    scores = detector.score([r.text for r in rows])
    m = prf([r.label for r in rows], [s >= detector.threshold for s in scores])
    assert m["f1"] >= DEVTEST_F1_FLOOR, m
