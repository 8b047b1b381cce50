"""Refitting the claims model on every block of its data, with the choices of a finished run frozen
(`python -m unspin.train.claims --refit MODEL_DIR`). No torch here, so the tests read it without it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from unspin.models.base import sha256_file
from unspin.train.checkthat import LabelledSentence, grouped_holdout

REFIT_FROZEN = ("model", "split", "train", "export")


def _without_threads(section: Any) -> Any:
    """A recipe section as far as it decides the weights (the number of CPU threads does not)."""
    return {k: v for k, v in section.items() if k != "threads"} if isinstance(section, dict) else section


def frozen_choices(
    cfg: dict[str, Any], frozen: dict[str, Any], where: str, sections: tuple[str, ...] = REFIT_FROZEN
) -> dict[str, Any]:
    """What a refit takes unchanged from the finished model it refits (`frozen`, its config.json, read
    from `where`): its epoch, calibration and threshold. The recipe must be the one that model was
    trained by (its `sections`, and the teacher's part but its whereabouts), else it stops."""
    recipe = frozen["train_config"]
    for key in sections:
        if _without_threads(cfg.get(key)) != _without_threads(recipe.get(key)):
            raise SystemExit(f"--refit {where}: the recipe's [{key}] differs from the one that model was trained by")
    mine, theirs = cfg.get("distill", {}), recipe.get("distill", {})
    for key in ("weight", "news_dirs", "news_sentences"):
        if mine.get(key) != theirs.get(key):
            raise SystemExit(
                f"--refit {where}: the recipe's [distill] {key} differs from the one that model was trained by"
            )
    return {
        "epoch": int(frozen["best_epoch"]),
        "a": float(frozen["calibration"]["a"]),
        "b": float(frozen["calibration"]["b"]),
        "threshold": float(frozen["threshold"]),
    }


def refit_rows(
    rows_by: dict[str, list[LabelledSentence]], split_cfg: dict[str, Any], check_block: int | None
) -> tuple[list[LabelledSentence], list[LabelledSentence]]:
    """(fitted on, checked on) for a refit: the lab's train and dev sentences, every grouped block
    fitted on; with `check_block`, that one block is held out to check the refit (sorted by id)."""
    pool = rows_by["train"] + rows_by["dev"]
    if check_block is None:
        return sorted(pool, key=lambda r: int(r.sentence_id)), []
    return grouped_holdout(pool, int(split_cfg["blocks"]), [check_block])


def refit_config(
    frozen: dict[str, Any],
    int8_path: Path,
    data: dict[str, Any],
    results: dict[str, Any],
    drop: float,
    history: list[dict[str, Any]],
    distilled: dict[str, Any] | None,
    check_block: int | None,
) -> dict[str, Any]:
    """A refit's config.json: the refitted model's file, and every choice and number of the run that held
    the grouped validation out (`frozen`, that model's config.json), with what the refit itself measured
    under `refit`."""
    config = json.loads(json.dumps(frozen))
    config.update(model_file=int8_path.name, model_sha256=sha256_file(int8_path), model_bytes=int8_path.stat().st_size)
    config["refit"] = refit_record(
        frozen["model_sha256"],
        data["train"]["labels"],
        data["dev"]["labels"],
        check_block,
        results,
        history,
        sum(h["seconds"] for h in history),
    )
    config["refit"].update(int8_vs_fp32_devtest_f1_drop=drop, distill=distilled)
    return config


def refit_record(
    refits_sha256: str,
    fit_labels: Any,
    check_labels: Any,
    check_block: int | None,
    metrics: dict[str, Any],
    history: list[dict[str, Any]],
    seconds: float,
) -> dict[str, Any]:
    """What a config.json says of its refit (its `refit` entry), for the claims model and the fast head."""
    return {
        "refits_sha256": refits_sha256,
        "fitted_on": {"sentences": len(fit_labels), "yes": int(sum(fit_labels))},
        "check_block": check_block,
        "check": {"sentences": len(check_labels), "yes": int(sum(check_labels))} if check_block is not None else None,
        "metrics": metrics,
        "history": history,
        "training_seconds": seconds,
    }
