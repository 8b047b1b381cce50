"""The `precise` stage: the operating point that `analyze` and the article page show by default.

The decoding the other stages choose is set for the best FLC F1, which leaves about four spans in five
wrong. The default view shows fewer, surer spans: each span's calibrated confidence is the expected share
of it that annotators marked with its technique, so a threshold on it buys precision at the cost of recall.
The thresholds (one for all techniques, or one per technique where the technique has enough spans) maximise
F-beta (beta < 1 weighs precision above recall; the official FLC metric, merging included) on the dev
split's cross-fitted spans (each article decoded with choices made on the other folds), and their
precision and recall are estimated by a 10-fold cross-validation over the dev articles (each fold's spans
kept by thresholds chosen on the other folds). A fixed precision target
(0.5) was the first aim: no threshold on these confidences reaches it on dev with more than a few spans
(docs/techniques.md). The test split is not read here: the `test` stage scores it once at both operating
points.
"""

from __future__ import annotations

import json
import logging
import random
import time
from pathlib import Path
from typing import Any

import numpy as np

from unspin.eval.spans import score_flc
from unspin.formats.semeval import PTC_TECHNIQUES, LabelSpan
from unspin.train.common import config_json, load_ptc
from unspin.train.techniques.data import _gold, write_split

LOG = logging.getLogger("unspin.train.techniques")

GRID = np.round(np.arange(0.0, 1.0, 0.01), 2)
NOTHING = 1.01  # a threshold no calibrated score reaches: the technique is not shown by default


def kept_spans(raw: list, thresholds: dict[str, float]) -> list[LabelSpan]:
    """The FLC spans of (article, Span) pairs whose confidence reaches their technique's threshold."""
    return [
        LabelSpan(a, sp.start, sp.end, sp.technique) for a, sp in raw if sp.score >= thresholds.get(sp.technique, 0.0)
    ]


def f_beta(p: float, r: float, beta: float) -> float:
    return (1 + beta**2) * p * r / (beta**2 * p + r) if p + r > 0 else 0.0


def _best(raw: list, gold: list[LabelSpan], beta: float) -> float:
    """The threshold of GRID at which the spans of `raw` kept have the best FLC F-beta (the lowest of
    equals; NOTHING without spans)."""
    scores = np.array([sp.score for _, sp in raw])
    best, best_t = -1.0, NOTHING
    for t in GRID:
        keep = scores >= t
        if not keep.any():
            break
        r = score_flc(gold, kept_spans([x for x, k in zip(raw, keep, strict=True) if k], {}))
        f = f_beta(r.precision, r.recall, beta)
        if f > best:
            best, best_t = f, float(t)
    return best_t


def choose_thresholds(raw: list, gold: list[LabelSpan], beta: float, mode: str, min_spans: int) -> dict[str, float]:
    """Per technique, the confidence a span needs to be shown by default. `global`: one threshold, the
    best F-beta of every kept span together. `technique`: for a technique with at least `min_spans`
    predicted spans, the best F-beta of its own spans; the others take the global threshold."""
    common = _best(raw, gold, beta)
    out = {t: common for t in PTC_TECHNIQUES}
    if mode == "technique":
        for t in PTC_TECHNIQUES:
            mine = [r for r in raw if r[1].technique == t]
            if len(mine) >= min_spans:
                out[t] = _best(mine, [g for g in gold if g.technique == t], beta)
    elif mode != "global":
        raise ValueError(f"unknown precise mode {mode!r}")
    return out


def view_summary(
    gold: list[LabelSpan], pred: list[LabelSpan], n_articles: int, beta: float | None = None
) -> dict[str, Any]:
    """FLC P, R, F1 (and F-beta with `beta`) of the spans `pred`, and how many there are per article."""
    r = score_flc(gold, pred)
    out = {"p": round(r.precision, 4), "r": round(r.recall, 4), "f1": round(r.f1, 4)}
    if beta is not None:
        out[f"f{beta:g}"] = round(f_beta(r.precision, r.recall, beta), 4)
    out["spans_per_article"] = round(len(pred) / max(n_articles, 1), 2)
    return out


def cross_validated(
    raw: list, gold: list[LabelSpan], ids: list[str], folds: int, seed: int, beta: float, mode: str, min_spans: int
) -> dict[str, Any]:
    """FLC P/R/F1 of the default view, each fold's spans kept by thresholds chosen on the other folds."""
    order = list(ids)
    random.Random(seed).shuffle(order)
    kept: list[LabelSpan] = []
    for f in range(folds):
        held = set(order[f::folds])
        fit = [r for r in raw if r[0] not in held]
        th = choose_thresholds(fit, [g for g in gold if g.article_id not in held], beta, mode, min_spans)
        kept += kept_spans([r for r in raw if r[0] in held], th)
    return view_summary(gold, kept, len(ids), beta)


def stage_precise(cfg: dict[str, Any], data_dir: Path, work: Path, out: Path) -> None:
    """Choose the default view's thresholds (`[precise]`: beta, the modes tried, min_spans) on the dev
    split's cross-fitted spans, the mode by cross-validated F-beta; writes them to config.json ("decode"
    → "precise") with the estimate ("precise")."""
    from unspin.train.techniques.crossfit import crossfit_scores, dev_probs

    pc = cfg.get("precise")
    if not pc:
        LOG.info("precise: no [precise] in the config; nothing to do")
        return
    beta, min_spans = float(pc.get("beta", 0.5)), int(pc.get("min_spans", 40))
    modes = list(pc.get("modes", ["global", "technique"]))
    xc = cfg.get("crossfit", {})
    folds, seed = int(xc.get("folds", 10)) or 10, int(xc.get("seed", 2020))
    articles, labels = load_ptc(data_dir)
    dev_ids = write_split(cfg, articles, work)["dev"]  # as `train` wrote it; `test` reads it
    texts = {a: articles[a] for a in dev_ids}
    t0 = time.time()
    params, clf, probs = dev_probs(cfg, out, texts)
    # every dev article decoded with the decoding chosen on the other folds: confidences as on new articles
    flc, _, raw = crossfit_scores(texts, probs, labels, params, folds, seed, clf)
    LOG.info("precise: cross-fitted spans of %d dev articles in %.1fs", len(texts), time.time() - t0)
    gold = _gold(labels, dev_ids)
    every = view_summary(gold, flc, len(dev_ids), beta)
    estimates = {m: cross_validated(raw, gold, dev_ids, folds, seed + 1, beta, m, min_spans) for m in modes}
    LOG.info("precise: cross-validated default view by mode %s; every span %s", estimates, every)
    key = f"f{beta:g}"
    mode = max(modes, key=lambda m: (estimates[m][key], -modes.index(m)))  # the first of equals
    thresholds = choose_thresholds(raw, gold, beta, mode, min_spans)
    LOG.info("precise: mode %s, thresholds %s", mode, thresholds)
    config = json.loads((out / "config.json").read_text())
    config["decode"]["precise"] = {"beta": beta, "mode": mode, "thresholds": thresholds}
    config["precise"] = {
        "chosen_on": "dev",
        "articles": len(dev_ids),
        "folds": folds,
        "min_spans": min_spans,
        "dev_cv": estimates,
        "dev_every_span": every,
    }
    (out / "config.json").write_text(config_json(config))
