"""The `hysteresis` stage: SI and technique-span seeds of a finished model, chosen on dev."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from unspin.train.common import config_json, load_ptc
from unspin.train.techniques.data import (
    _gold,
    _split,
)
from unspin.train.techniques.decoding import tune_flc_seed, tune_si

LOG = logging.getLogger("unspin.train.techniques")


def stage_hysteresis(cfg: dict[str, Any], data_dir: Path, work: Path, out: Path) -> None:
    """Hysteresis decoding of a finished model, chosen on dev with its own probabilities: the SI
    threshold and seed (`tune_si`) and the technique spans' seed factor (`tune_flc_seed`); the rest of
    its config.json stays."""
    from unspin.techniques.decoding import Decoding
    from unspin.techniques.tagger import TechniqueTagger

    articles, labels = load_ptc(data_dir)
    dev_ids = _split(work)["dev"]
    texts = {a: articles[a] for a in dev_ids}
    tagger = TechniqueTagger(out, threads=int(cfg["train"].get("threads", 1)))
    probs = dict(zip(texts, tagger.token_probs(list(texts.values())), strict=True))
    config = json.loads((out / "config.json").read_text())
    params = Decoding.from_config(config)
    span_lp = tagger.span_logprobs if params.relabel is not None else None
    gold = _gold(labels, dev_ids)
    before = (params.si.threshold, params.si.seed, params.techniques.seed)
    si_f1 = tune_si(texts, probs, gold, params)
    flc_f1 = tune_flc_seed(texts, probs, gold, params, span_lp)
    LOG.info(
        "SI threshold, SI seed, FLC seed factor: %s -> %s",
        before,
        (params.si.threshold, params.si.seed, params.techniques.seed),
    )
    config.pop("crossfit", None)  # decoding is chosen on dev again
    for key in ("si_source", "si_threshold", "si_seed", "flc_seed"):
        config["decode"].pop(key, None)
    config["decode"].update({k: v for k, v in params.to_config().items() if k.startswith("si_") or k == "flc_seed"})
    config.setdefault("dev", {}).update(si_f1=round(si_f1, 4), flc_f1=round(flc_f1, 4))
    (out / "config.json").write_text(config_json(config))
