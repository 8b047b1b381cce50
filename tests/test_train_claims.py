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
