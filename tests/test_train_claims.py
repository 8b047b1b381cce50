"""The check-worthiness recipe's model card, rendered without torch."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_shipped_claims_card_renders_from_its_record(tmp_path: Path) -> None:
    """The shipped config.json and the per-epoch history (kept as a fixture: the recipe's work folder
    is not shipped) give the shipped MODEL_CARD.md, as `--card-only` writes it."""
    from unspin.train.claims_card import write_card

    model_dir = ROOT / "src" / "unspin" / "models" / "claims"
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    history = json.loads((ROOT / "tests" / "fixtures" / "claims-card-history.json").read_text(encoding="utf-8"))
    write_card(tmp_path / "MODEL_CARD.md", config, history)
    assert (tmp_path / "MODEL_CARD.md").read_text(encoding="utf-8") == (model_dir / "MODEL_CARD.md").read_text(
        encoding="utf-8"
    )


def test_grouped_validation_holds_out_whole_stretches_of_ids() -> None:
    """The claims recipe chooses on blocks of consecutive sentence ids (whole debates), not on sentences
    scattered among the ones it fits on."""
    import pytest

    from unspin.train.checkthat import LabelledSentence, grouped_holdout

    rows = [LabelledSentence(str(i), f"s{i}", i % 2) for i in (9, 3, 0, 7, 1, 8, 2, 6, 5, 4)]
    fit, held = grouped_holdout(rows, blocks=5, held=[1, 4])
    assert [r.sentence_id for r in held] == ["2", "3", "8", "9"]
    assert [r.sentence_id for r in fit] == ["0", "1", "4", "5", "6", "7"]
    assert sorted(fit + held, key=lambda r: int(r.sentence_id)) == sorted(rows, key=lambda r: int(r.sentence_id))
    with pytest.raises(ValueError, match="among 0..4"):
        grouped_holdout(rows, blocks=5, held=[5])


def test_distillation_targets_mix_gold_and_teacher(tmp_path: Path) -> None:
    import numpy as np

    from unspin.train.claims_distill import news_sentences, soft_targets

    assert soft_targets([1, 0, 1], np.array([0.0, 0.0, 50.0]), 0.5) == [0.75, 0.25, 1.0]
    assert soft_targets([1, 0], np.array([-50.0, 50.0]), 0.0) == [1.0, 0.0]
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "article1.txt").write_text("A title of five words\n\nShort line.\nThe tax rose by ten percent.\n")
    (folder / "article2.txt").write_text("The tax rose by ten percent.\nUnemployment fell to four percent last year.\n")
    (folder / "notes.txt").write_text("not an article at all, so never read\n")
    found = news_sentences([folder], limit=10, seed=1)
    assert found == [
        "A title of five words",
        "The tax rose by ten percent.",
        "Unemployment fell to four percent last year.",
    ]
    assert len(news_sentences([folder], limit=2, seed=1)) == 2


def test_the_card_says_what_taught_the_model(tmp_path: Path) -> None:
    from unspin.train.claims_card import render_card

    model_dir = ROOT / "src" / "unspin" / "models" / "claims"
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    history = json.loads((ROOT / "tests" / "fixtures" / "claims-card-history.json").read_text(encoding="utf-8"))
    config["distill"] = {
        "teacher_config": "configs/claims-teacher.toml",
        "teacher_encoder": "mpnet-base",
        "teacher_epoch": 2,
        "teacher_grouped_f1": 0.7712,
        "teacher_training_seconds": 1950.0,
        "weight": 0.5,
        "teacher_train_agreement": 0.9431,
        "news_sentences": 17561,
        "news_yes_share": 0.42,
    }
    card = render_card(config, history)
    assert "Taught by a stronger claims model (`configs/claims-teacher.toml`: mpnet-base" in card
    assert "grouped F1 0.771, 32 minutes of training" in card and "0.50 x its gold label + 0.50 x the teacher" in card
    assert "17,561 sentences of news" in card and "94.3%" in card
    config.pop("distill")
    assert "Taught by" not in render_card(config, history)


def test_a_finished_model_can_teach_and_its_scores_are_cached_by_the_texts(tmp_path: Path) -> None:
    """`teacher_model`: the shipped claims model as teacher; its targets are its own probabilities."""
    import numpy as np

    from unspin.claims.detector import ClaimDetector
    from unspin.train.claims_distill import teacher_info, teacher_logits

    model_dir = ROOT / "src" / "unspin" / "models" / "claims"
    texts = ["Unemployment fell to 3.5 percent last year.", "Thank you all for coming tonight."]
    dcfg = {"teacher_model": str(model_dir)}
    cache = tmp_path / "teacher.npz"
    logits = teacher_logits(dcfg, texts, cache)
    expected = np.asarray(ClaimDetector.load(model_dir).score(texts))
    assert np.allclose(1 / (1 + np.exp(-logits)), expected, atol=1e-6)
    assert logits[0] > 0 > logits[1]
    stored = dict(np.load(cache))
    np.savez(cache, key=stored["key"], logits=stored["logits"] + 1.0)  # the cache is read for the same texts ...
    assert np.allclose(teacher_logits(dcfg, texts, cache), logits + 1.0)
    assert np.allclose(teacher_logits(dcfg, texts[:1], cache), logits[:1])  # ... and not for others
    info = teacher_info(dcfg)
    assert info["teacher_encoder"] == "all-MiniLM-L6-v2, lower 4 layers" and 0.7 < info["teacher_grouped_f1"] < 0.8
