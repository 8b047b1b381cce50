"""Choosing a model's decoding on labelled articles: thresholds, seeds, SI source, the TC step's
`flc_keep` and the confidence calibration; shared by the tune, tc, head, hysteresis, crossfit and
test stages."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from unspin.eval.calibration import expected_calibration_error, fit_platt
from unspin.formats.semeval import PTC_TECHNIQUES, LabelSpan
from unspin.train.techniques.data import (
    _gold,
)

LOG = logging.getLogger("unspin.train.techniques")


THRESHOLD_GRID = [0.02, 0.04, 0.06, 0.08, 0.1, 0.13, 0.16, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]


def _flc_for(texts: dict[str, str], probs: dict, params, label: str) -> list[LabelSpan]:
    from unspin.techniques.decoding import adjusted_column, decode_spans

    k = params.labels.index(label)
    out = []
    for aid, text in texts.items():
        col = adjusted_column(probs[aid], k, label, params.repetition)
        out.extend(
            LabelSpan(aid, s, e, label)
            for s, e, _ in decode_spans(text, probs[aid], col, params.techniques.thresholds[label], params.merging)
        )
    return out


def _predict_all(
    texts: dict[str, str], probs: dict, params, span_lp=None
) -> tuple[list[LabelSpan], list[LabelSpan], list]:
    from unspin.techniques.decoding import si_from_probs, spans_from_probs

    flc, si, raw = [], [], []
    for aid, text in texts.items():
        for sp in spans_from_probs(text, probs[aid], params, span_lp):
            flc.append(LabelSpan(aid, sp.start, sp.end, sp.technique))
            raw.append((aid, sp))
        si.extend(LabelSpan(aid, s, e) for s, e in si_from_probs(text, probs[aid], params))
    return flc, si, raw


def _credit(aid: str, start: int, end: int, technique: str, gold_by: dict) -> float:
    """Share of the span's characters inside gold spans of the same technique (its precision credit)."""
    covered = np.zeros(end - start, dtype=bool)
    for g in gold_by.get((aid, technique), []):
        a, b = max(g.start, start), min(g.end, end)
        if b > a:
            covered[a - start : b - start] = True
    return float(covered.mean()) if end > start else 0.0


def _calibration_data(raw: list, labels: dict[str, list[LabelSpan]], params) -> tuple[np.ndarray, np.ndarray]:
    gold_by: dict[tuple[str, str], list[LabelSpan]] = {}
    for spans in labels.values():
        for g in spans:
            gold_by.setdefault((g.article_id, g.technique), []).append(g)
    xs, ys = [], []
    for aid, sp in raw:
        # spans carry the identity calibration while tuning: score = sigmoid(logit(p) - logit(th))
        xs.append(float(np.log(sp.score / (1 - sp.score))) if 0 < sp.score < 1 else 0.0)
        ys.append(_credit(aid, sp.start, sp.end, sp.technique, gold_by))
    return np.array(xs), np.array(ys)


def fit_logistic(x: np.ndarray, y: np.ndarray, iters: int = 200) -> tuple[np.ndarray, float]:
    """Fit sigmoid(x @ w + b) to soft targets y (x: [n, k]) by Newton's method on the log loss."""
    z = np.hstack([x, np.ones((len(x), 1))])
    theta = np.zeros(z.shape[1])
    theta[0] = 1.0
    for _ in range(iters):
        p = 1 / (1 + np.exp(-(z @ theta)))
        g = z.T @ (p - y)
        h = (z * (p * (1 - p) + 1e-9)[:, None]).T @ z + 1e-6 * np.eye(z.shape[1])
        step = np.linalg.solve(h, g)
        theta -= step
        if np.abs(step).max() < 1e-8:
            break
    return theta[:-1], float(theta[-1])


def memo_span_logprobs(clf):
    """The span classifier's log-probabilities, remembered per (text, start, end): tuning asks for
    the same spans many times."""
    memo: dict[tuple[int, int, int], np.ndarray] = {}

    def span_lp(text: str, places):
        key = id(text)
        if not len(places):
            return np.zeros((0, len(clf.labels)), dtype=np.float32)
        todo = [pl for pl in places if (key, *pl) not in memo]
        if todo:
            for pl, row in zip(todo, clf.all_log_probs(text, todo), strict=True):
                memo[(key, *pl)] = row
        return np.array([memo[(key, *pl)] for pl in places]).reshape(len(places), -1)

    return span_lp


def _relabelling(keep: float, drop: float):
    """Relabelling with `flc_keep` and `flc_drop` as the tuning grids (and config.json) write them:
    a negative keep is no relabelling, a drop above 1 drops nothing."""
    from unspin.techniques.decoding import Relabelling

    return Relabelling(keep, drop if drop <= 1 else None) if keep >= 0 else None


def _tune_flc_relabel(
    texts: dict[str, str], probs: dict, labels: dict[str, list[LabelSpan]], params, clf, relabel: bool = True
) -> dict:
    """FLC through the TC step (`flc_keep`, see `unspin.techniques.tagger.relabel`), chosen
    on dev FLC F1 against not relabelling (the only choice when not `relabel`: a model that must stay
    fast); then the confidence calibration is refitted, with the TC probability of each span's label as
    a second input when spans are relabelled. Updates `params`; returns dev numbers."""
    from unspin.eval.spans import score_flc, score_si
    from unspin.techniques.classifier import NONE
    from unspin.techniques.decoding import Calibration
    from unspin.techniques.tc import relabel_probs

    # without a span classifier, the model's span head is the TC step (`clf` None)
    span_lp = memo_span_logprobs(clf) if clf is not None else None
    gold = _gold(labels, list(texts))
    params.calibration = Calibration(1.0, 0.0, 0.0)  # identity while choosing: score = sigmoid(logit(p) - logit(th))
    # then the span classifier may also drop spans (`flc_drop`)
    has_none = relabel and clf is not None and NONE in clf.labels
    scores: dict[tuple[float, float], float] = {}
    for keep in (-1.0, 0.2, 0.15, 0.1, 0.05, 0.0) if relabel else (-1.0,):
        for drop in (1.01, 0.9, 0.8, 0.7, 0.6, 0.5) if has_none and keep >= 0 else (1.01,):
            params.relabel = _relabelling(keep, drop)
            scores[(keep, drop)] = score_flc(gold, _predict_all(texts, probs, params, span_lp)[0]).f1
    chosen = max(scores, key=scores.get)
    params.relabel = _relabelling(*chosen)
    LOG.info(
        "FLC through the TC step: dev F1 by (flc_keep, flc_drop) %s -> %s",
        {k: round(v, 4) for k, v in scores.items()},
        chosen,
    )
    flc, si, raw = _predict_all(texts, probs, params, span_lp)
    x, y = _calibration_data(raw, labels, params)
    if params.relabel is None:
        params.calibration = Calibration(*fit_platt(x, y))
        return {"flc_f1": round(scores[(-1.0, 1.01)], 4), "si_f1": round(score_si(gold, si).f1, 4)}
    places = [(sp.start, sp.end) for _, sp in raw]
    tc_q = np.zeros(len(raw))
    for aid in texts:  # the TC probability of each span's technique, one article at a time
        idx = [i for i, (a, _) in enumerate(raw) if a == aid]
        if idx:
            mine = [places[i] for i in idx]
            q, _ = relabel_probs(texts[aid], probs[aid], mine, params.tc, span_lp)
            tc_q[idx] = [q[r, PTC_TECHNIQUES.index(raw[i][1].technique)] for r, i in enumerate(idx)]
    feats = np.c_[x, np.log(np.clip(tc_q, 1e-6, 1.0))]
    w, b = fit_logistic(feats, y)
    params.calibration = Calibration(float(w[0]), b, float(w[1]))
    conf = 1 / (1 + np.exp(-(feats @ w + b)))
    dev = {
        "flc_f1": round(scores[chosen], 4),
        "flc_f1_without_relabel": round(scores[(-1.0, 1.01)], 4),
        "si_f1": round(score_si(gold, si).f1, 4),
        "ece_before": round(expected_calibration_error(1 / (1 + np.exp(-x)), y), 4),
        "ece_after": round(expected_calibration_error(conf, y), 4),
    }
    LOG.info("relabelled FLC: calibration %s; dev %s", params.calibration, dev)
    return dev


def _technique_output(texts: dict[str, str], probs: dict, params: Any, tech: str, span_lp=None) -> list[LabelSpan]:
    """The FLC spans that one technique's output gives, as `analyze` shows them: after the seed
    filter and the TC step, which may name another technique."""
    from dataclasses import replace

    from unspin.techniques.decoding import spans_from_probs

    one = replace(
        params,
        techniques=replace(params.techniques, thresholds={tech: params.techniques.thresholds[tech]}),
        repetition=replace(params.repetition, mode="model"),
    )
    return [
        LabelSpan(a, sp.start, sp.end, sp.technique)
        for a, text in texts.items()
        for sp in spans_from_probs(text, probs[a], one, span_lp)
    ]


def tune_thresholds(
    texts: dict[str, str],
    probs: dict,
    labels: dict[str, list[LabelSpan]],
    params: Any,
    output: bool = False,
    span_lp=None,
) -> dict[str, dict[str, float]]:
    """Choose one threshold per technique (and Repetition's boost and damping) on the labelled
    articles `texts`, for micro FLC F1. The FLC sums (credit of predictions, credit of gold, number of
    predictions) add up over techniques, so the micro-F1 of any threshold combination is cheap to
    compute: start from each technique's own best F1, then coordinate ascent on the micro-F1. Sets
    them on `params`; returns each technique's threshold and own F1.

    `output`: score each technique's spans as the model outputs them (`_technique_output`: seed
    filter and TC step included, with `params`' `flc_seed` and `flc_keep`), against every technique's
    gold; the sums still add up over the techniques whose outputs the spans came from. Without it,
    each output is scored raw against its own technique's gold, as before a TC step exists."""
    from unspin.eval.spans import _group, _partial_credit

    ids = list(texts)
    techs = list(PTC_TECHNIQUES)
    n_gold_all = len(_gold(labels, ids))
    gold_all = _group(_gold(labels, ids), by_technique=True)
    table: dict[str, dict[tuple[float, float, float], tuple[float, float, int, float]]] = {}
    for tech in techs:
        gold_t = gold_all if output else _group(_gold(labels, ids, tech), by_technique=True)
        grid_rep = [(1.0, 1.0)]
        if tech == "Repetition":
            grid_rep = [(b, d) for b in (1.0, 1.5, 2.0, 3.0, 5.0) for d in (1.0, 0.5, 0.25)]
        table[tech] = {}
        for boost, damp in grid_rep:
            params.repetition.boost, params.repetition.damp = boost, damp
            for th in THRESHOLD_GRID:
                params.techniques.thresholds[tech] = th
                if output:
                    found = _technique_output(texts, probs, params, tech, span_lp)
                else:
                    found = _flc_for(texts, probs, params, tech)
                pred_t = _group(found, by_technique=True)
                ps, rs, npred, ngold = _partial_credit(pred_t, gold_t)
                p = ps / npred if npred else 0.0
                r = rs / ngold if ngold else 0.0
                table[tech][(th, boost, damp)] = (ps, rs, npred, 2 * p * r / (p + r) if p + r else 0.0)
    choice = {t: max(table[t], key=lambda k, t=t: table[t][k][3]) for t in techs}

    def micro(ch: dict[str, tuple[float, float, float]]) -> float:
        ps = sum(table[t][ch[t]][0] for t in techs)
        rs = sum(table[t][ch[t]][1] for t in techs)
        npred = sum(table[t][ch[t]][2] for t in techs)
        p, r = (ps / npred if npred else 0.0), rs / max(n_gold_all, 1)
        return 2 * p * r / (p + r) if p + r else 0.0

    LOG.info("FLC micro-F1 with per-technique best thresholds: %.4f", micro(choice))
    for _ in range(3):
        for t in techs:
            choice[t] = max(table[t], key=lambda k, t=t: micro({**choice, t: k}))
    LOG.info("FLC micro-F1 after coordinate ascent: %.4f", micro(choice))
    tuned: dict[str, dict[str, float]] = {}
    for t in techs:
        th, boost, damp = choice[t]
        params.techniques.thresholds[t] = th
        if t == "Repetition":
            params.repetition.boost, params.repetition.damp = boost, damp
        tuned[t] = {"dev_f1": round(table[t][choice[t]][3], 4), "threshold": th}
        LOG.debug("tune %s: threshold %.2f, F1 %.3f (boost %.1f damp %.2f)", t, th, tuned[t]["dev_f1"], boost, damp)
    return tuned


SEED_GRID = [0.3, 0.35, 0.4, 0.5, 0.6]


# the most likely technique's share of the SI column (`si_blend`); cross-fitted SI over dev + test for
# `accurate` at a fixed share: 0 0.454, 0.25 0.453, 0.5 0.464, 0.65 0.465, 0.8 0.449, 1 0.446
SI_BLEND_GRID = [0.0, 0.25, 0.5, 0.65]


def tune_si(
    texts: dict[str, str],
    probs: dict,
    gold: list[LabelSpan],
    params: Any,
    sources: tuple[str, ...] = ("any", "union"),
    blends: tuple[float, ...] | list[float] = (0.0,),
) -> float:
    """Choose SI decoding on dev: the source ("any" output or merged technique spans), the "any"
    threshold, and a seed (a span is kept only when one of its tokens reaches it: hysteresis; the
    threshold itself means no seed); among `blends`, the most likely technique's share of the SI
    column (`si_blend`). Sets them on `params`; returns the dev SI F1."""
    from unspin.eval.spans import score_si
    from unspin.techniques.decoding import si_from_probs

    best = (-1.0, "any", 0.5, 0.0, 0.0)
    for source in sources:
        params.si.source = source
        for blend in blends if source == "any" else [0.0]:
            params.si.blend = blend if blend > 0 else None
            for th in THRESHOLD_GRID if source == "any" else [0.0]:
                params.si.threshold = th
                for seed in [0.0] + ([x for x in SEED_GRID if x > th] if source == "any" else []):
                    params.si.seed = seed if seed > th else None
                    si = [LabelSpan(a, s, e) for a in texts for s, e in si_from_probs(texts[a], probs[a], params)]
                    f1 = score_si(gold, si).f1
                    if f1 > best[0]:
                        best = (f1, source, th, seed, blend)
    _, params.si.source, params.si.threshold, seed, blend = best
    params.si.seed = seed if seed > params.si.threshold else None
    params.si.blend = blend if blend > 0 else None
    LOG.info("SI: %s threshold %.2f seed %.2f blend %.2f, F1 %.4f", best[1], best[2], best[3], best[4], best[0])
    return best[0]


FLC_SEED_GRID = [1.0, 1.1, 1.25, 1.5, 2.0]


def tune_flc_seed(texts: dict[str, str], probs: dict, gold: list[LabelSpan], params: Any, span_lp=None) -> float:
    """Choose on dev the factor of each technique's threshold that one token of a technique span must
    reach (`flc_seed`; 1: no such condition). Sets it on `params`; returns the dev FLC F1."""
    from unspin.eval.spans import score_flc

    best = (-1.0, 1.0)
    for m in FLC_SEED_GRID:
        params.techniques.seed = m if m > 1 else None
        f1 = score_flc(gold, _predict_all(texts, probs, params, span_lp)[0]).f1
        if f1 > best[0]:
            best = (f1, m)
    params.techniques.seed = best[1] if best[1] > 1 else None
    LOG.info("technique spans: seed factor %.2f, dev FLC F1 %.4f", best[1], best[0])
    return best[0]


def tune_decoding(
    texts: dict[str, str], probs: dict, labels: dict[str, list[LabelSpan]], params: Any, clf=None
) -> None:
    """Choose a finished model's decoding on the labelled articles `texts`, in the order the training
    stages choose it: per-technique thresholds (`tune_thresholds`), the technique spans' seed factor,
    the TC step's `flc_keep` with the confidence calibration, then SI's threshold and seed. What the
    model learned (its weights, span head, TC model, merging and ensemble) stays. `clf`: the span
    classifier, for a model whose TC step runs through it rather than a span head."""
    span_lp = memo_span_logprobs(clf) if clf is not None else None
    tune_thresholds(texts, probs, labels, params, output=True, span_lp=span_lp)
    tune_flc_seed(texts, probs, _gold(labels, list(texts)), params, span_lp)
    relabel = params.tc.span_head is not None or clf is not None
    _tune_flc_relabel(texts, probs, labels, params, clf, relabel=relabel)
    # SI from the "any" output: technique spans, tuned for FLC, won SI in most folds on the articles
    # that chose but lost on the held-out fold (cross-fitted SI over dev + test: 0.441 against 0.454)
    # and blended with the most likely technique's probability when that helps (`SI_BLEND_GRID`)
    any_out = "any" in params.labels
    tune_si(texts, probs, _gold(labels, list(texts)), params, ("any",) if any_out else ("union",), SI_BLEND_GRID)


def vars_short(s) -> dict[str, float]:
    return {"p": round(s.precision, 4), "r": round(s.recall, 4), "f1": round(s.f1, 4)}


def _span_ece(gold: list[LabelSpan], raw: list) -> float:
    """Expected calibration error of the (article, Span) pairs' confidences against their precision credit."""
    gold_by: dict[tuple[str, str], list[LabelSpan]] = {}
    for g in gold:
        gold_by.setdefault((g.article_id, g.technique), []).append(g)
    conf = np.array([sp.score for _, sp in raw])
    credit = np.array([_credit(a, sp.start, sp.end, sp.technique, gold_by) for a, sp in raw])
    return expected_calibration_error(conf, credit)


def _scores(gold: list[LabelSpan], flc: list[LabelSpan], si: list[LabelSpan], raw: list) -> dict[str, Any]:
    from unspin.eval.spans import score_flc, score_si

    r_flc = score_flc(gold, flc)
    return {
        "si": vars_short(score_si(gold, si)),
        "flc": vars_short(r_flc),
        "ece": round(_span_ece(gold, raw), 4),
        "flc_per_technique": {
            t: round(r_flc.per_technique[t].f1, 4) if t in r_flc.per_technique else 0.0 for t in PTC_TECHNIQUES
        },
    }
