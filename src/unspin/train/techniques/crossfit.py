"""The `crossfit` stage: decoding chosen on the dev split alone, estimated there by cross-fitting."""

from __future__ import annotations

import json
import logging
import random
import time
from pathlib import Path
from typing import Any

from unspin.formats.semeval import LabelSpan
from unspin.train.common import config_json, load_ptc
from unspin.train.techniques.data import (
    _gold,
    _split,
)
from unspin.train.techniques.decoding import _predict_all, _scores, memo_span_logprobs, tune_decoding

LOG = logging.getLogger("unspin.train.techniques")


def crossfit_scores(
    texts: dict[str, str], probs: dict, labels: dict[str, list[LabelSpan]], params: Any, folds: int, seed: int, clf=None
) -> tuple[list[LabelSpan], list[LabelSpan], list]:
    """Cross-fitted predictions: the articles are dealt into `folds` folds (shuffled with `seed`); each
    fold is decoded with the decoding `tune_decoding` chooses on the other folds. Returns the FLC
    spans, SI spans and (article, Span) pairs of every article, each predicted without its own labels."""
    import copy

    ids = list(texts)
    random.Random(seed).shuffle(ids)
    span_lp = memo_span_logprobs(clf) if clf is not None else None
    flc: list[LabelSpan] = []
    si: list[LabelSpan] = []
    raw: list = []
    for f in range(folds):
        held = set(ids[f::folds])
        fit = {a: texts[a] for a in ids if a not in held}
        p = copy.deepcopy(params)
        tune_decoding(fit, probs, labels, p, clf)
        out = _predict_all({a: texts[a] for a in ids[f::folds]}, probs, p, span_lp)
        flc += out[0]
        si += out[1]
        raw += out[2]
        LOG.info(
            "crossfit fold %d/%d: SI threshold %.2f seed %s, FLC seed %s, relabelling %s",
            f + 1,
            folds,
            p.si.threshold,
            p.si.seed,
            p.techniques.seed,
            p.relabel,
        )
    return flc, si, raw


def relabelling_classifier(params: Any, threads: int) -> Any:
    """The span classifier that relabels FLC spans during decoding, where the model uses one (no span
    head, relabelling on); None otherwise."""
    from unspin.techniques.classifier import SpanClassifier

    if params.tc.span_head is None and params.tc.span_classifier and params.relabel is not None:
        return SpanClassifier.load(params.tc.span_classifier, threads=threads)
    return None


def dev_probs(cfg: dict[str, Any], out: Path, texts: dict[str, str]) -> tuple[Any, Any, dict]:
    """The decoding of the model in `out`, the relabelling classifier it uses (or None) and its token
    probabilities of `texts`, with `[train] threads`."""
    from unspin.techniques.tagger import TechniqueTagger

    threads = int(cfg["train"].get("threads", 1))
    tagger = TechniqueTagger(out, threads=threads)
    probs = dict(zip(texts, tagger.token_probs(list(texts.values())), strict=True))
    return tagger.params, relabelling_classifier(tagger.params, threads), probs


def stage_crossfit(cfg: dict[str, Any], data_dir: Path, work: Path, out: Path) -> None:
    """Decoding (thresholds, seeds, calibration, SI) chosen on the dev split alone, and measured there by
    cross-fitting (`[crossfit]` folds: each fold decoded with choices made on the others), so that the
    estimate comes from articles the choice did not see. The test split is not read: the `test` stage
    scores it once with what this stage chose. Records the choice and the dev estimate in config.json
    ("crossfit"), where `test` and the model card report them."""
    xc = cfg.get("crossfit")
    if not xc:
        LOG.info("crossfit: no [crossfit] in the config; nothing to do")
        return
    folds, seed = int(xc.get("folds", 10)), int(xc.get("seed", 2020))
    articles, labels = load_ptc(data_dir)
    dev_ids = _split(work)["dev"]
    texts = {a: articles[a] for a in dev_ids}
    t0 = time.time()
    params, clf, probs = dev_probs(cfg, out, texts)
    LOG.info("crossfit: token probabilities of %d dev articles in %.1fs", len(texts), time.time() - t0)
    record: dict[str, Any] = {"chosen_on": "dev", "articles": len(dev_ids), "folds": folds, "seed": seed}
    if folds > 1:  # folds = 0: choose without the estimate (it costs `folds` more choices)
        flc, si, raw = crossfit_scores(texts, probs, labels, params, folds, seed, clf)
        record["dev_crossfit"] = _scores(_gold(labels, dev_ids), flc, si, raw)
        LOG.info("crossfit: dev, cross-fitted: %s", {k: record["dev_crossfit"][k] for k in ("si", "flc", "ece")})
    tune_decoding(texts, probs, labels, params, clf)
    LOG.info(
        "crossfit: chosen on all dev: SI threshold %.2f seed %s, FLC seed %s, relabelling %s; thresholds %s",
        params.si.threshold,
        params.si.seed,
        params.techniques.seed,
        params.relabel,
        params.techniques.thresholds,
    )
    config = json.loads((out / "config.json").read_text())
    config["decode"] = params.to_config()
    config["crossfit"] = record
    (out / "config.json").write_text(config_json(config))
