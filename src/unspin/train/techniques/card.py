"""The technique tagger's model card (MODEL_CARD.md), written by the `test` stage.

The text is the template `unspin/train/cards/technique_tagger.md`; the functions here gather what it
shows (the training config, the model's config.json, the test results, the model's size and the
benchmark table) and compute its tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from unspin.models.base import ENCODERS
from unspin.techniques.taxonomy import BY_LABEL
from unspin.train.cards import render

BASE_DESCRIPTIONS = {"minilm-l6": "MiniLM-L6, 22.7M parameters", "mpnet-base": "MPNet-base, 110M parameters"}


def _fmt(x: float) -> str:
    return f"{x:.3f}"


def score_rows(res: dict[str, Any]) -> list[str]:
    """The held-out table's rows: precision, recall and F1 of each task and of the baseline."""
    tasks = [
        ("SI (span identification)", "si"),
        ("SI baseline: every sentence is one span", "si_baseline_every_sentence"),
        ("FLC (spans with their technique)", "flc"),
        ("TC (technique of gold spans, micro-F1)", "tc"),
    ]
    return [f"| {name} | {_fmt(res[k]['p'])} | {_fmt(res[k]['r'])} | {_fmt(res[k]['f1'])} |" for name, k in tasks]


def technique_rows(res: dict[str, Any], thresholds: dict[str, float]) -> list[str]:
    """The per-technique table's rows: gold spans in test, FLC and TC F1, and the decoding threshold."""
    return [
        f"| {BY_LABEL[t].name} (`{t}`) | {v['n_gold']} | {_fmt(v['flc_f1'])} | {_fmt(v['tc_f1'])} "
        f"| {thresholds[t]:.2f} |"
        for t, v in res["per_technique"].items()
    ]


def calibration_terms(decode: dict[str, Any]) -> tuple[float, float, float | None]:
    """(a, b, c) of the confidence: sigmoid(a * margin + b [+ c * log q]); c is None without the TC term."""
    cal = decode["calibration"]
    return cal[0], cal[1], cal[2] if len(cal) > 2 else None


def unlabeled_folders(distil: dict[str, Any] | None) -> str:
    """The distillation's unlabelled folders as the card names them (relative to the data folder)."""
    folders = (distil or {}).get("unlabeled", [])
    return ", ".join("`" + Path(u).as_posix().replace("../", "") + "`" for u in folders)


def train_minutes(training: dict[str, Any]) -> float:
    return training.get("total_train_seconds", training.get("train_seconds", 0)) / 60


def render_model_card(
    cfg: dict[str, Any],
    cfg_json: dict[str, Any],
    res: dict[str, Any],
    config_path: Path | str,
    model_mb: float,
    bench: str = "",
) -> str:
    """The card's text: `cfg` the training config, `cfg_json` the model's config.json, `res` the `test`
    stage's results, `model_mb` the size of model.onnx in MB, `bench` the benchmark table (or "")."""
    crossfit = res.get("crossfit")
    return render(
        "technique_tagger.md",
        model=cfg["model"],
        train=cfg["train"],
        split=cfg["split"],
        export=cfg.get("export", {}),
        distil=cfg.get("distil"),
        frozen=int(cfg["train"].get("frozen_layers", 0)),
        base=cfg_json["base"],
        base_description=BASE_DESCRIPTIONS.get(cfg["model"]["base"], cfg["model"]["base"]),
        base_in_parts=bool(ENCODERS[cfg["model"]["base"]].parts),
        decode=cfg_json["decode"],
        dev=cfg_json.get("dev", {}),
        ensemble=cfg_json.get("ensemble", []),
        results=res,
        crossfit=crossfit,
        precise_dev=cfg_json.get("precise"),
        fit_on=cfg_json.get("fit_on"),
        tc_refit=cfg_json.get("tc_refit"),
        chosen_on="dev",
        calibration=calibration_terms(cfg_json["decode"]),
        unlabeled_folders=unlabeled_folders(cfg.get("distil")),
        score_rows=score_rows(res),
        technique_rows=technique_rows(res, cfg_json["decode"]["thresholds"]),
        training=res.get("training", {}),
        train_minutes=train_minutes(res.get("training", {})),
        model_mb=model_mb,
        bench=bench,
        config_path=config_path,
    )


def write_model_card(
    cfg: dict[str, Any], out: Path, res: dict[str, Any], cfg_json: dict[str, Any], config_path: Path
) -> None:
    """Write `out`/MODEL_CARD.md; the benchmark table comes from `bench.txt` in the work folder, if there."""
    bench_file = Path(cfg["train"]["work_dir"]) / "bench.txt"
    bench = bench_file.read_text().rstrip() if bench_file.is_file() else ""
    model_mb = (out / "model.onnx").stat().st_size / 1e6
    (out / "MODEL_CARD.md").write_text(render_model_card(cfg, cfg_json, res, config_path, model_mb, bench))
