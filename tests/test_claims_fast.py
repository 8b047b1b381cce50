"""The fast claims head (`--claims fast`): claims read from the technique tagger's pass, with the same
contract as the claims model (exact offsets, calibrated scores, text order), and no second tagger pass."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from unspin.claims.detector import ClaimModelError  # noqa: E402
from unspin.claims.fast import MODEL_DIR, FastClaimDetector, sentence_states  # noqa: E402
from unspin.document import Document  # noqa: E402
from unspin.pipeline import Pipeline  # noqa: E402
from unspin.settings import Settings  # noqa: E402

FACTUAL = [
    "Unemployment fell to 3.9 percent in 2018, the lowest rate since 1969.",
    "The federal deficit grew by $1.2 trillion last year, according to the Treasury.",
    "We spend more on defense than the next nine countries combined.",
]
NOT_CLAIMS = ["Thank you all for being here tonight.", "Let me finish my answer.", "Good evening, everyone."]
ARTICLE = " ".join(x for pair in zip(NOT_CLAIMS, FACTUAL, strict=True) for x in pair) + "\n"


@pytest.fixture(scope="module")
def detector() -> FastClaimDetector:
    return FastClaimDetector.load()


def test_sentence_states_takes_the_tokens_each_span_overlaps() -> None:
    states = np.arange(12, dtype=np.float32).reshape(6, 2)
    offsets = np.array([[0, 3], [4, 8], [8, 9], [10, 15], [16, 20], [21, 25]])
    got = sentence_states(states, offsets, [(0, 9), (9, 10), (10, 25), (5, 12)], max_tokens=2)
    assert [g[:, 0].tolist() for g in got] == [[0.0, 2.0], [], [6.0, 8.0], [2.0, 4.0]]


def test_claims_in_the_pipeline_slice_the_text_and_rank_statistics_first(detector: FastClaimDetector) -> None:
    doc = Pipeline(["language", "segment", "techniques", "claims"], Settings(claims="fast")).analyze_text(ARTICLE)
    assert doc.claims, "no claim found among three statistics"
    for c in doc.claims:
        assert doc.text[c["start"] : c["end"]] == c["text"]
        assert detector.threshold <= c["score"] <= 1.0
    assert [c["start"] for c in doc.claims] == sorted(c["start"] for c in doc.claims)
    bounds = [(ARTICLE.index(s), ARTICLE.index(s) + len(s)) for s in FACTUAL + NOT_CLAIMS]
    scores = detector.score_spans(ARTICLE, bounds)
    assert min(scores[:3]) > max(scores[3:]), scores


def test_a_sentences_score_does_not_depend_on_the_others(detector: FastClaimDetector) -> None:
    # one sentence per call (int8 activations are quantised per call), spread over lanes
    bounds = [(ARTICLE.index(s), ARTICLE.index(s) + len(s)) for s in FACTUAL + NOT_CLAIMS]
    every = detector.score_spans(ARTICLE, bounds)
    assert [detector.score_spans(ARTICLE, [b])[0] for b in bounds] == every
    assert detector.score_spans(ARTICLE, bounds[::-1]) == every[::-1]
    one_lane = FastClaimDetector(MODEL_DIR, threads=1)
    assert one_lane.score_spans(ARTICLE, bounds) == FastClaimDetector(MODEL_DIR, threads=2).score_spans(ARTICLE, bounds)
    assert one_lane.score_spans(ARTICLE, bounds) == every


def test_reads_the_techniques_pass_and_makes_it_itself_without_it(detector: FastClaimDetector, monkeypatch) -> None:
    calls = []
    real = type(detector.tagger).token_probs

    def counting(self, texts, hidden=False):
        calls.append(hidden)
        return real(self, texts, hidden)

    monkeypatch.setattr(type(detector.tagger), "token_probs", counting)
    with_techniques = Pipeline(["language", "segment", "techniques", "claims"], Settings(claims="fast"))
    doc = with_techniques.analyze_text(ARTICLE)
    assert calls == [True]  # one pass, made by the techniques stage
    alone = Pipeline(["language", "segment", "claims"], Settings(claims="fast")).analyze_text(ARTICLE)
    assert calls == [True, True] and alone.claims == doc.claims


def test_odd_input_gets_answers(detector: FastClaimDetector) -> None:
    assert detector(Document(text="")).claims == []
    assert detector(Document(text="   \n")).claims == []
    for text in ["x", "word " * 3000, "Unemployment fell to 3.9 percent. " * 400]:
        doc = Pipeline(["language", "segment", "claims"], Settings(claims="fast")).analyze_text(text)
        assert isinstance(doc.claims, list)
        for c in doc.claims:
            assert doc.text[c["start"] : c["end"]] == c["text"]


def test_refuses_another_tagger_and_a_damaged_file(tmp_path: Path) -> None:
    folder = tmp_path / "claims-fast"
    shutil.copytree(MODEL_DIR, folder)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    config["technique_model_sha256"] = "0" * 64
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(ClaimModelError, match="fitted on technique model 'fast'"):
        FastClaimDetector(folder)
    model = folder / config["model_file"]
    model.write_bytes(model.read_bytes()[:-10])
    with pytest.raises(ClaimModelError, match="sha256"):
        FastClaimDetector(folder)


def test_unknown_claims_model_is_refused() -> None:
    with pytest.raises(ValueError, match="no claims model 'huge'"):
        Pipeline(["claims"], Settings(claims="huge"))


def test_the_shipped_card_renders_from_its_config(tmp_path: Path) -> None:
    from unspin.train.claims_fast_card import write_card

    write_card(tmp_path / "MODEL_CARD.md", json.loads((MODEL_DIR / "config.json").read_text(encoding="utf-8")))
    assert (tmp_path / "MODEL_CARD.md").read_text(encoding="utf-8") == (MODEL_DIR / "MODEL_CARD.md").read_text(
        encoding="utf-8"
    )


def test_a_refitted_heads_card_keeps_the_held_out_numbers_and_says_what_the_refit_saw() -> None:
    from unspin.train.claims_fast_card import render_card

    config = json.loads((MODEL_DIR / "config.json").read_text(encoding="utf-8"))
    held_out = render_card(config)
    assert "held-out blocks too" not in held_out
    every_block = config["data"]["fit"]["sentences"] + config["data"]["held-out"]["sentences"]
    m = {"f1": 0.8458, "precision": 0.914, "recall": 0.787}
    config["refit"] = {"fitted_on": {"sentences": every_block, "yes": 5651}, "metrics": {"dev-test": m}}
    card = render_card(config)
    assert f"on every block ({every_block:,} sentences, 5,651 Yes)" in card and "F1 0.846 (P 0.914 / R 0.787)" in card
    assert "--refit runs/claims-fast/held-out" in card and "--refit" not in held_out
    tables = [line for line in held_out.splitlines() if line.startswith("| ")]
    assert tables and all(line in card for line in tables)  # the held-out run's numbers stay


def test_analyze_takes_claims_fast(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from unspin.cli.main import app

    article = tmp_path / "article.txt"
    article.write_text(ARTICLE, encoding="utf-8")
    res = CliRunner().invoke(app, ["analyze", str(article), "--claims", "fast", "--skip", "framing"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["claims"] and all(ARTICLE[c["start"] : c["end"]] == c["text"] for c in doc["claims"])
    res = CliRunner().invoke(app, ["analyze", str(article), "--claims", "huge"])
    assert res.exit_code == 2 and "huge" in res.output


def test_corpus_add_takes_claims_fast(tmp_path: Path, detector: FastClaimDetector) -> None:
    from typer.testing import CliRunner

    from unspin.cli.main import app

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "article.txt").write_text(ARTICLE, encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'c.db'}"
    runner = CliRunner()
    res = runner.invoke(app, ["corpus", "add", str(tmp_path / "in"), "--db", db, "--claims", "fast", "--no-progress"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["corpus", "export", "--db", db, "--format", "jsonl"])
    (doc,) = [json.loads(line) for line in res.stdout.splitlines() if line.strip()]
    expected = detector(Pipeline(["language", "segment", "techniques"]).analyze_text(ARTICLE)).claims
    assert [(c["start"], c["end"]) for c in doc["claims"]] == [(c["start"], c["end"]) for c in expected]
    res = runner.invoke(app, ["corpus", "add", str(tmp_path / "in"), "--db", db, "--claims", "huge"])
    assert res.exit_code == 2 and "full or fast" in res.output
