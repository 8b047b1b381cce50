"""The check-worthiness classifier's model card (MODEL_CARD.md): the template
`unspin/train/cards/claims.md` with the tables computed here from the model's config.json, which holds
the per-epoch training history too (no torch needed, so `--card-only` and the tests run without it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from unspin.train.cards import render


def _pct(x: float) -> str:
    return f"{x:.3f}"


def metric_rows(metrics: dict[str, Any]) -> list[str]:
    """The results table's rows: each model variant (int8, fp32, torch) on dev-test, then dev."""
    rows = []
    for variant in ("int8", "fp32", "torch"):
        for split in ("dev-test", "dev"):
            m = metrics[variant][split]
            rows.append(
                f"| {variant} | {split} | {m['n']} ({m['positives']} Yes) | {_pct(m['f1'])} "
                f"| {_pct(m['precision'])} | {_pct(m['recall'])} | {_pct(m['ece_raw'])} | {_pct(m['ece'])} |"
            )
    return rows


def history_rows(history: list[dict[str, Any]]) -> list[str]:
    """The training table's rows: one per epoch."""
    return [f"| {h['epoch']} | {h['train_loss']:.4f} | {h['dev_f1']:.4f} | {h['seconds']:.0f} |" for h in history]


def render_card(c: dict[str, Any]) -> str:
    """The card's text: `c` the model's config.json. A refit's card keeps the tables of the run that held
    the grouped validation out (its choices are frozen in the refit) and adds what the refit measured."""
    refit = c.get("refit")
    return render(
        "claims.md",
        c=c,
        t=c["train_config"],
        d=c["data"],
        metric_rows=metric_rows(c["metrics"]),
        history_rows=history_rows(c["history"]),
        refit=refit,
        refit_rows=refit_rows(refit) if refit else [],
    )


def refit_rows(refit: dict[str, Any]) -> list[str]:
    """The refit's table: the int8 model with the frozen threshold on dev-test and on its check block."""
    rows = []
    for split in ("check", "dev-test"):
        m = refit["metrics"]["int8"].get(split)
        if m:
            rows.append(
                f"| {split} | {m['n']} ({m['positives']} Yes) | {_pct(m['f1'])} | {_pct(m['precision'])} "
                f"| {_pct(m['recall'])} | {_pct(m['ece'])} |"
            )
    return rows


def write_card(path: Path, c: dict[str, Any]) -> None:
    path.write_text(render_card(c), encoding="utf-8")
