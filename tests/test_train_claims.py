"""The check-worthiness recipe's model card, rendered without torch."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_shipped_claims_card_renders_from_its_record(tmp_path: Path) -> None:
    """The shipped config.json (with the per-epoch history in it: the recipe's work folder is not
    shipped) gives the shipped MODEL_CARD.md, as `--card-only` writes it."""
    from unspin.train.claims_card import write_card

    model_dir = ROOT / "src" / "unspin" / "models" / "claims"
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    write_card(tmp_path / "MODEL_CARD.md", config)
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
    card = render_card(config)
    assert "Taught by a stronger claims model (`configs/claims-teacher.toml`: mpnet-base" in card
    assert "grouped F1 0.771, 32 minutes of training" in card and "0.50 x its gold label + 0.50 x the teacher" in card
    assert "17,561 sentences of news" in card and "94.3%" in card
    config.pop("distill")
    assert "Taught by" not in render_card(config)


def test_a_finished_model_can_teach_and_its_scores_are_cached_text_by_text(tmp_path: Path) -> None:
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
    np.savez(cache, texts=stored["texts"], logits=stored["logits"] + 1.0)  # texts scored before are read ...
    assert np.allclose(teacher_logits(dcfg, texts, cache), logits + 1.0)
    assert np.allclose(teacher_logits(dcfg, texts[::-1], cache), logits[::-1] + 1.0)
    more = [texts[1], "The deficit doubled in four years."]  # ... and only new ones are scored
    both = teacher_logits(dcfg, more, cache)
    assert both[0] == logits[1] + 1.0 and both[1] > 0
    assert sorted(np.load(cache)["texts"].tolist()) == sorted([*texts, more[1]])
    info = teacher_info(dcfg)
    assert info["teacher_encoder"] == "all-MiniLM-L6-v2, lower 4 layers" and 0.7 < info["teacher_grouped_f1"] < 0.8


def test_a_refit_fits_every_block_and_freezes_the_choices_of_the_run_it_refits() -> None:
    """`--refit`: the lab's train and dev sentences all fitted on (or all but one check block), the epoch,
    calibration and threshold taken from the finished model; a recipe that is not that model's stops it."""
    import pytest

    from unspin.train.checkthat import LabelledSentence
    from unspin.train.claims_refit import frozen_choices, refit_rows
    from unspin.train.common import load_config

    rows = {
        "train": [LabelledSentence(str(i), f"s{i}", i % 2) for i in (9, 3, 0, 7, 1)],
        "dev": [LabelledSentence(str(i), f"s{i}", i % 2) for i in (8, 2, 6, 5, 4)],
    }
    fit, check = refit_rows(rows, {"blocks": 5, "held": [1, 4]}, None)
    assert [r.sentence_id for r in fit] == [str(i) for i in range(10)] and check == []
    fit, check = refit_rows(rows, {"blocks": 5, "held": [1, 4]}, 4)
    assert [r.sentence_id for r in check] == ["8", "9"] and len(fit) == 8

    shipped = json.loads((ROOT / "src" / "unspin" / "models" / "claims" / "config.json").read_text(encoding="utf-8"))
    cfg = load_config(ROOT / "configs" / "claims.toml")
    cfg["distill"]["teacher_work"] = "elsewhere/claims-teacher"  # where the teacher lies may change ...
    frozen = frozen_choices(cfg, shipped, "claims")
    assert frozen == {
        "epoch": shipped["best_epoch"],
        "a": shipped["calibration"]["a"],
        "b": shipped["calibration"]["b"],
        "threshold": shipped["threshold"],
    }
    cfg["train"]["epochs"] = 3  # ... what it learns from may not
    with pytest.raises(SystemExit, match=r"\[train\] differs"):
        frozen_choices(cfg, shipped, "claims")


def test_a_refits_card_keeps_the_held_out_tables_and_adds_its_own(tmp_path: Path) -> None:
    from unspin.train.claims_card import render_card

    config = json.loads((ROOT / "src" / "unspin" / "models" / "claims" / "config.json").read_text(encoding="utf-8"))
    shipped = render_card(config)
    assert "validation blocks too" in shipped and "block 9 (2,353 sentences, 627 Yes)" in shipped  # the refit's check
    config.pop("refit")
    held_out = render_card(config)
    assert "validation blocks too" not in held_out
    m = {"n": 318, "positives": 108, "f1": 0.8712, "precision": 0.9, "recall": 0.85, "ece": 0.07, "ece_raw": 0.08}
    config["refit"] = {
        "fitted_on": {"sentences": 23533, "yes": 5651},
        "check_block": None,
        "check": None,
        "metrics": {"int8": {"dev-test": m}},
        "training_seconds": 1300.0,
    }
    card = render_card(config)
    assert "on 23,533 sentences (5,651 Yes)" in card and "| dev-test | 318 (108 Yes) | 0.871 |" in card
    tables = [line for line in held_out.splitlines() if line.startswith("| ")]
    assert len(tables) == 10 and all(line in card for line in tables)  # the held-out run's tables stay
    assert "--refit runs/claims/held-out" in card and "--refit" not in held_out
