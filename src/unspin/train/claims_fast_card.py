"""The fast claims head's model card (MODEL_CARD.md): the template `unspin/train/cards/claims_fast.md`
with the numbers of the head's config.json, beside the claims model's (no torch needed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from unspin.train.cards import render

CLAIMS_CONFIG = Path(__file__).resolve().parents[1] / "models" / "claims" / "config.json"


def render_card(c: dict[str, Any]) -> str:
    full = json.loads(CLAIMS_CONFIG.read_text(encoding="utf-8")) if CLAIMS_CONFIG.is_file() else None
    return render("claims_fast.md", c=c, t=c["train_config"], d=c["data"], m=c["metrics"], full=full)


def write_card(path: Path, c: dict[str, Any]) -> None:
    path.write_text(render_card(c), encoding="utf-8")
