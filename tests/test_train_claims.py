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
