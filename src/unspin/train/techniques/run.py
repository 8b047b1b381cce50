"""The stage list and the command line of the technique recipe (`python -m unspin.train.techniques`)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from unspin.train.common import load_config
from unspin.train.techniques.crossfit import stage_crossfit
from unspin.train.techniques.evaluate import stage_test
from unspin.train.techniques.export import stage_export, stage_smooth
from unspin.train.techniques.head import stage_head
from unspin.train.techniques.hysteresis import stage_hysteresis
from unspin.train.techniques.tc import stage_tc
from unspin.train.techniques.teacher import stage_teacher
from unspin.train.techniques.training import stage_train
from unspin.train.techniques.tune import stage_tune

LOG = logging.getLogger("unspin.train.techniques")

DESCRIPTION = "Train, export, tune and evaluate the propaganda-technique taggers (`fast`, `minilm-l6`, `accurate`)."
STAGES = ("teacher", "train", "export", "tune", "smooth", "tc", "head", "hysteresis", "crossfit", "test")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m unspin.train.techniques", description=DESCRIPTION)
    ap.add_argument("--config", required=True, type=Path)
    ap.add_argument("--data-dir", required=True, type=Path, help="PTC folder (train-articles/, *.labels)")
    ap.add_argument("--out", required=True, type=Path, help="model folder to write")
    ap.add_argument("--stages", default="all", help=f"comma-separated subset of {','.join(STAGES)}, or all")
    ap.add_argument("--seed", type=int, default=None, help="training seed (replaces [train] seed; the split stays)")
    args = ap.parse_args(argv)
    cfg = load_config(args.config, args.seed)
    work = Path(cfg["train"]["work_dir"])
    work.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        handlers=[logging.FileHandler(work / "train.log"), logging.StreamHandler(sys.stderr)],
    )
    stages = STAGES if args.stages == "all" else tuple(s.strip() for s in args.stages.split(","))
    for s in stages:
        if s not in STAGES:
            ap.error(f"unknown stage {s!r}")
    LOG.info("stages %s, config %s", stages, cfg)
    if "teacher" in stages:
        stage_teacher(cfg, args.data_dir, work)
    if "train" in stages:
        stage_train(cfg, args.data_dir, work)
    if "export" in stages:
        stage_export(cfg, args.data_dir, work, args.out)
    if "tune" in stages:
        stage_tune(cfg, args.data_dir, work, args.out)
    if "smooth" in stages:
        stage_smooth(cfg, args.data_dir, work, args.out)
    if "tc" in stages and args.stages != "all":  # `tune` already chose the TC step in a full run
        stage_tc(cfg, args.data_dir, work, args.out)
    if "head" in stages:
        stage_head(cfg, args.data_dir, work, args.out)
    if "hysteresis" in stages:
        stage_hysteresis(cfg, args.data_dir, work, args.out)
    if "crossfit" in stages:
        stage_crossfit(cfg, args.data_dir, work, args.out)
    if "test" in stages:
        stage_test(cfg, args.data_dir, work, args.out, args.config)
    return 0
