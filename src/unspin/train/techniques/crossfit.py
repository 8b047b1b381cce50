"""The `crossfit` stage: decoding chosen on dev and test together, measured by cross-fitting."""

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


def stage_crossfit(cfg: dict[str, Any], data_dir: Path, work: Path, out: Path) -> None:
    """Decoding chosen on dev and test together (`[crossfit]`): 37 dev articles alone choose 14
    thresholds noisily. Measures first: the test articles are scored by cross-fitting over dev + test
    (`crossfit_scores`, every article decoded with choices made without it), beside the dev-chosen
    decoding the model has; then chooses its decoding on all dev + test articles (`tune_decoding`) and
    records both in config.json ("crossfit"), where `test` reports them."""
    import copy

    from unspin.techniques.classifier import SpanClassifier
    from unspin.techniques.tagger import TechniqueTagger

    xc = cfg.get("crossfit")
    if not xc:
        LOG.info("crossfit: no [crossfit] in the config; nothing to do")
        return
    folds, seed = int(xc.get("folds", 10)), int(xc.get("seed", 2020))
    articles, labels = load_ptc(data_dir)
    split = _split(work)
    ids = split["dev"] + split["test"]
    threads = int(cfg["train"].get("threads", 1))
    tagger = TechniqueTagger(out, threads=threads)
    params = tagger.params
    clf = None
    if params.tc.span_head is None and params.tc.span_classifier and params.relabel is not None:
        clf = SpanClassifier.load(params.tc.span_classifier, threads=threads)
    span_lp = memo_span_logprobs(clf) if clf is not None else None
    texts = {a: articles[a] for a in ids}
    t0 = time.time()
    probs = dict(zip(texts, tagger.token_probs(list(texts.values())), strict=True))
    LOG.info("crossfit: token probabilities of %d dev + test articles in %.1fs", len(texts), time.time() - t0)
    test_texts = {a: texts[a] for a in split["test"]}
    test_set = set(split["test"])
    gold_test = _gold(labels, split["test"])
    dev_chosen = _scores(gold_test, *_predict_all(test_texts, probs, params, span_lp))
    redev = copy.deepcopy(params)  # this stage's choices made on dev alone, for comparison
    tune_decoding({a: texts[a] for a in split["dev"]}, probs, labels, redev, clf)
    dev_rechosen = _scores(gold_test, *_predict_all(test_texts, probs, redev, span_lp))
    flc, si, raw = crossfit_scores(texts, probs, labels, params, folds, seed, clf)
    crossfit = _scores(
        gold_test,
        [s for s in flc if s.article_id in test_set],
        [s for s in si if s.article_id in test_set],
        [(a, sp) for a, sp in raw if a in test_set],
    )
    pooled = _scores(_gold(labels, ids), flc, si, raw)
    LOG.info("crossfit: test, decoding chosen on dev: %s", {k: dev_chosen[k] for k in ("si", "flc", "ece")})
    LOG.info("crossfit: test, re-chosen on dev: %s", {k: dev_rechosen[k] for k in ("si", "flc", "ece")})
    LOG.info("crossfit: test, cross-fitted over dev + test: %s", {k: crossfit[k] for k in ("si", "flc", "ece")})
    LOG.info("crossfit: dev + test, cross-fitted: %s", {k: pooled[k] for k in ("si", "flc", "ece")})
    before = (params.si.threshold, params.si.seed, params.techniques.seed, params.relabel)
    tune_decoding(texts, probs, labels, params, clf)
    LOG.info(
        "crossfit: SI threshold, SI seed, FLC seed factor, relabelling %s -> %s; thresholds %s",
        before,
        (params.si.threshold, params.si.seed, params.techniques.seed, params.relabel),
        params.techniques.thresholds,
    )
    config = json.loads((out / "config.json").read_text())
    config["decode"] = params.to_config()
    config["crossfit"] = {
        "articles": len(ids),
        "folds": folds,
        "seed": seed,
        "test_dev_chosen": dev_chosen,
        "test_dev_rechosen": dev_rechosen,
        "test_crossfit": crossfit,
        "dev_test_crossfit": pooled,
    }
    (out / "config.json").write_text(config_json(config))
