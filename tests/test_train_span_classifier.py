"""The span-classifier recipe's model card, rendered without torch."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_shipped_span_classifier_card_renders_from_its_record() -> None:
    """The shipped config.json (dev and test scores) with the per-technique test scores and the
    training history (kept as a fixture: the recipe's work folder is not shipped) give the shipped card."""
    from unspin.train.common import load_config
    from unspin.train.span_classifier import render_model_card

    model_dir = ROOT / "src" / "unspin" / "models" / "span-classifier"
    config = json.loads((model_dir / "config.json").read_text())
    record = json.loads((ROOT / "tests" / "fixtures" / "span-classifier-card.json").read_text())
    results = {part: dict(scores) for part, scores in config["results"].items()}
    results["test"]["per_technique"] = record["test_per_technique"]
    card = render_model_card(
        load_config(ROOT / "configs" / "span-classifier.toml"),
        results,
        {"best_epoch": record["best_epoch"]},
        record["history"],
        "configs/span-classifier.toml",
        "src/unspin/models/span-classifier",
        (model_dir / "model.onnx").stat().st_size / 1e6,
    )
    assert card == (model_dir / "MODEL_CARD.md").read_text()


def test_a_classifier_without_negatives_has_no_none_class_in_its_card() -> None:
    from unspin.train.common import load_config
    from unspin.train.span_classifier import class_names, render_model_card

    cfg = load_config(ROOT / "configs" / "span-classifier.toml")
    cfg["model"]["negatives"] = 0
    scores = {"articles": 3, "spans": 10, "accuracy": 0.5, "spans_per_s": 40.0}
    results = {"dev": dict(scores), "test": {**scores, "per_technique": {}}}
    results["test"]["per_technique"] = {t: {"f1": 0.25, "n_gold": 2} for t in class_names(cfg)}
    card = render_model_card(cfg, results, {}, [], "c.toml", "out", 11.0)
    assert "(14 logits: the 14 techniques)." in card and "Negatives:" not in card
    assert '"none" detection' not in card and "Kept: epoch ?." in card
    assert "| dev | 10 | 0.500 |\n| test | 10 | **0.500** |\n\nPer technique on test" in card
