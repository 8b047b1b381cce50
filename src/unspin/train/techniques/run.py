"""The stage registry and the command line of the technique recipe (`python -m unspin.train.techniques`)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from unspin.train.common import load_config
from unspin.train.techniques.crossfit import stage_crossfit
from unspin.train.techniques.evaluate import stage_test
from unspin.train.techniques.export import stage_export, stage_smooth
from unspin.train.techniques.head import stage_head
from unspin.train.techniques.hysteresis import stage_hysteresis
from unspin.train.techniques.precise import stage_precise
from unspin.train.techniques.refit import stage_refit
from unspin.train.techniques.tc import stage_tc, stage_tc_refit
from unspin.train.techniques.teacher import stage_teacher
from unspin.train.techniques.training import stage_train
from unspin.train.techniques.tune import stage_tune

LOG = logging.getLogger("unspin.train.techniques")

DESCRIPTION = "Train, export, tune and evaluate the propaganda-technique taggers (`fast`, `minilm-l6`, `accurate`)."


@dataclass(frozen=True)
class Run:
    """What a stage is given: the training config, the PTC folder, the work folder (checkpoints, the
    split, the log), the model folder it writes, and the config file's path (named in the model card)."""

    cfg: dict[str, Any]
    data_dir: Path
    work: Path
    out: Path
    config_path: Path


@dataclass(frozen=True)
class Stage:
    """One stage of the recipe; `in_full_run` False: it runs only when `--stages` names it."""

    name: str
    run: Callable[[Run], None]
    in_full_run: bool = True


# In recipe order: each stage reads what the ones before it wrote, so a stage can be re-run alone.
REGISTRY: tuple[Stage, ...] = (
    Stage("teacher", lambda r: stage_teacher(r.cfg, r.data_dir, r.work)),
    Stage("train", lambda r: stage_train(r.cfg, r.data_dir, r.work)),
    Stage("export", lambda r: stage_export(r.cfg, r.data_dir, r.work, r.out)),
    Stage("tune", lambda r: stage_tune(r.cfg, r.data_dir, r.work, r.out)),
    Stage("smooth", lambda r: stage_smooth(r.cfg, r.data_dir, r.work, r.out)),
    # `tune` already chooses the TC step in a full run; `tc` refits it alone on a tuned model
    Stage("tc", lambda r: stage_tc(r.cfg, r.data_dir, r.work, r.out), in_full_run=False),
    Stage("head", lambda r: stage_head(r.cfg, r.data_dir, r.work, r.out)),
    Stage("hysteresis", lambda r: stage_hysteresis(r.cfg, r.data_dir, r.work, r.out)),
    Stage("crossfit", lambda r: stage_crossfit(r.cfg, r.data_dir, r.work, r.out)),
    Stage("precise", lambda r: stage_precise(r.cfg, r.data_dir, r.work, r.out)),
    # a model with its choices frozen, fitted again on more articles (`--fit-on`): teacher,train,export,refit[,test]
    Stage("refit", lambda r: stage_refit(r.cfg, r.data_dir, r.work, r.out, r.config_path), in_full_run=False),
    Stage("test", lambda r: stage_test(r.cfg, r.data_dir, r.work, r.out, r.config_path)),
    # the TC model fitted again, everything frozen, on dev and test (after `test` scored it): `[tc] refit_on`
    Stage("tc_refit", lambda r: stage_tc_refit(r.cfg, r.data_dir, r.out), in_full_run=False),
)
STAGES = tuple(s.name for s in REGISTRY)


def select_stages(spec: str) -> list[Stage]:
    """The stages `--stages` asks for, in recipe order: "all" (every stage of a full run) or a
    comma-separated list of names. ValueError names the first unknown one."""
    if spec == "all":
        return [s for s in REGISTRY if s.in_full_run]
    names = [s.strip() for s in spec.split(",")]
    for name in names:
        if name not in STAGES:
            raise ValueError(f"unknown stage {name!r}")
    return [s for s in REGISTRY if s.name in names]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m unspin.train.techniques", description=DESCRIPTION)
    ap.add_argument("--config", required=True, type=Path)
    ap.add_argument("--data-dir", required=True, type=Path, help="PTC folder (train-articles/, *.labels)")
    ap.add_argument("--out", required=True, type=Path, help="model folder to write")
    ap.add_argument("--stages", default="all", help=f"comma-separated subset of {','.join(STAGES)}, or all")
    ap.add_argument("--seed", type=int, default=None, help="training seed (replaces [train] seed; the split stays)")
    ap.add_argument(
        "--fit-on",
        default=None,
        help="splits whose labelled articles the weights are fitted on (comma-separated; default train): "
        "with the `refit` stage, the recipe's choices are frozen from --decoding-from and only the weights and "
        "the span head are fitted again",
    )
    ap.add_argument(
        "--decoding-from",
        type=Path,
        default=None,
        help="`refit`: the model folder (trained on the train split) whose decoding is kept (default: --out)",
    )
    ap.add_argument("--work", type=Path, default=None, help="work folder (replaces [train] work_dir)")
    args = ap.parse_args(argv)
    cfg = load_config(args.config, args.seed)
    if args.fit_on:
        cfg["train"]["fit_on"] = [s.strip() for s in args.fit_on.split(",")]
    if args.work:
        cfg["train"]["work_dir"] = str(args.work)
    if args.decoding_from:
        cfg.setdefault("refit", {})["decoding_from"] = str(args.decoding_from)
    work = Path(cfg["train"]["work_dir"])
    work.mkdir(parents=True, exist_ok=True)
    if not logging.getLogger().handlers:  # as logging.basicConfig, without opening a log file it would not use
        logging.basicConfig(
            level=logging.INFO,
            format="%(asctime)s %(levelname)s %(message)s",
            handlers=[logging.FileHandler(work / "train.log"), logging.StreamHandler(sys.stderr)],
        )
    try:
        stages = select_stages(args.stages)
    except ValueError as e:
        ap.error(str(e))
    LOG.info("stages %s, config %s", tuple(s.name for s in stages), cfg)
    run = Run(cfg, args.data_dir, work, args.out, args.config)
    for stage in stages:
        stage.run(run)
    return 0
