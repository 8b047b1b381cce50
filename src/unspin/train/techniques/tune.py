"""The `tune` stage: a new model's decoding chosen on dev, written to config.json."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from unspin.eval.calibration import expected_calibration_error, fit_platt
from unspin.formats.semeval import PTC_TECHNIQUES, LabelSpan
from unspin.models.base import ENCODERS, sha256_file
from unspin.train.common import config_json, load_ptc
from unspin.train.techniques.data import (
    OUTPUTS,
    _gold,
    _split,
    token_targets,
)
from unspin.train.techniques.decoding import (
    _calibration_data,
    _predict_all,
    _tune_flc_relabel,
    tune_si,
    tune_thresholds,
)
from unspin.train.techniques.tc import _tune_tc_classifier, _tune_tc_with_span_classifier, fit_lexical, task6_spans

LOG = logging.getLogger("unspin.train.techniques")


def write_model_config(cfg: dict[str, Any], out: Path, decode: dict[str, Any], extra: dict[str, Any]) -> Path:
    enc = ENCODERS[cfg["model"]["base"]]
    config = {
        "name": cfg["model"]["name"],
        "task": "propaganda technique spans (SemEval-2020 Task 11 / PTC labels)",
        "labels": list(OUTPUTS),
        "window": cfg["model"]["window"],
        "stride": cfg["model"]["stride"],
        "onnx": "model.onnx",
        "files": {
            name: sha256_file(out / name)
            for name in ("model.onnx", "tokenizer.json", "frozen.json")
            if name != "frozen.json" or (out / name).is_file()
        },
        **({"frozen": "frozen.json"} if (out / "frozen.json").is_file() else {}),
        "base": {"name": enc.name, "package": enc.pip_name, "sha256": dict(enc.sha256)},
        "split": dict(cfg["split"]),
        "decode": decode,
        **extra,
    }
    path = out / "config.json"
    path.write_text(config_json(config))
    return path


def _tune_ensemble(
    cfg: dict[str, Any], texts: dict[str, str], probs: dict, labels: dict[str, list[LabelSpan]]
) -> list[dict[str, Any]]:
    """With `ensemble = ["fast", ...]` in [model]: the weight of each other shipped model's token
    probabilities (carried onto this model's tokens), chosen on dev by the mean binary cross-entropy of
    the 14 technique outputs. `probs` is updated in place to the combination; returns the config list."""
    from unspin.techniques.runner import project_probs
    from unspin.techniques.tagger import TechniqueTagger

    chosen: list[dict[str, Any]] = []
    for name in cfg["model"].get("ensemble", []):
        member = TechniqueTagger.load(name, threads=int(cfg["train"].get("threads", 1)))
        mprobs = dict(zip(texts, member.token_probs(list(texts.values())), strict=True))
        gold = {a: token_targets([tuple(o) for o in probs[a].offsets], labels.get(a, []))[:, :-1] for a in texts}
        projected = {a: project_probs(mprobs[a], probs[a].offsets, probs[a].probs) for a in texts}

        def bce(w: float, gold: dict = gold, projected: dict = projected) -> float:
            total, n = 0.0, 0
            for a in texts:
                p = np.clip((1 - w) * probs[a].probs[:, :-1] + w * projected[a][:, :-1], 1e-6, 1 - 1e-6)
                y = gold[a]
                total += float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).sum())
                n += y.size
            return total / max(n, 1)

        scores = {w: bce(w) for w in (0.0, 0.2, 0.35, 0.5, 0.65)}
        best = min(scores, key=scores.get)  # type: ignore[arg-type]
        LOG.info(
            "ensemble with %s: dev BCE by weight %s -> %.2f", name, {k: round(v, 5) for k, v in scores.items()}, best
        )
        if best > 0:
            for a in texts:
                probs[a].probs = (1 - best) * probs[a].probs + best * projected[a]
            chosen.append({"model": name, "weight": best})
    return chosen


def stage_tune(cfg: dict[str, Any], data_dir: Path, work: Path, out: Path) -> None:
    """A new model's decoding, chosen on dev with its own probabilities, step by step: the ensemble
    weights, per-technique thresholds, Repetition's mode, merging, SI, the TC step and the confidence
    calibration (with FLC through the TC step when the span classifier may relabel); writes config.json."""
    from unspin.techniques.decoding import Decoding, TechniqueSpans
    from unspin.techniques.tagger import TechniqueTagger

    articles, labels = load_ptc(data_dir)
    dev_ids = _split(work)["dev"]
    params = Decoding(labels=list(OUTPUTS), techniques=TechniqueSpans({t: 0.3 for t in PTC_TECHNIQUES}))
    write_model_config(cfg, out, params.to_config(), {})
    tagger = TechniqueTagger(out, threads=int(cfg["train"].get("threads", 1)))
    texts = {a: articles[a] for a in dev_ids}
    t0 = time.time()
    probs = dict(zip(texts, tagger.token_probs(list(texts.values())), strict=True))
    LOG.info("dev token probabilities for %d articles in %.1fs", len(texts), time.time() - t0)
    ensemble = _tune_ensemble(cfg, texts, probs, labels)
    if ensemble:
        write_model_config(cfg, out, params.to_config(), {"ensemble": ensemble})

    # 1. one threshold per technique (and Repetition's boost and damping)
    tuned = tune_thresholds(texts, probs, labels, params)
    _choose_repetition_mode(texts, probs, labels, params)
    # 2. merge gap, then span identification: the "any" output or the union of technique spans
    gold_all = _gold(labels, dev_ids)
    _choose_merging(texts, probs, gold_all, params)
    tune_si(texts, probs, gold_all, params)
    # 3. technique classification of given spans
    tc_f1 = _choose_tc_step(cfg, data_dir, _split(work)["train"], articles, labels, texts, probs, params)
    # 4. calibration of span scores against their precision credit
    dev = {**_fit_calibration(texts, probs, labels, params), "tc_f1": round(tc_f1, 4), "per_technique": tuned}
    dev = {k: dev[k] for k in ("si_f1", "flc_f1", "tc_f1", "ece_before", "ece_after", "per_technique")}
    if params.tc.span_classifier and cfg["tc"].get("relabel", True):
        from unspin.techniques.classifier import SpanClassifier

        clf = SpanClassifier.load(params.tc.span_classifier, threads=int(cfg["train"].get("threads", 1)))
        dev.update(_tune_flc_relabel(texts, probs, labels, params, clf))
    LOG.info("calibration %s; dev %s", params.calibration, dev)
    write_model_config(cfg, out, params.to_config(), {"dev": dev, **({"ensemble": ensemble} if ensemble else {})})


def _choose_repetition_mode(texts: dict[str, str], probs: dict, labels: dict[str, list[LabelSpan]], params) -> None:
    """Repetition from recurring phrases among the other techniques' spans, if that helps on dev."""
    from unspin.eval.spans import score_flc

    dev_ids = list(texts)
    best_rep = (-1.0, "model")
    for mode in ("model", "copy", "copy_all", "model+copy", "model+copy_all"):
        params.repetition.mode = mode
        flc, _, _ = _predict_all(texts, probs, params)
        f1 = score_flc(_gold(labels, dev_ids), flc).f1
        rep_f1 = score_flc(_gold(labels, dev_ids, "Repetition"), [s for s in flc if s.technique == "Repetition"]).f1
        LOG.info("repetition mode %s: dev FLC F1 %.4f, Repetition F1 %.4f", mode, f1, rep_f1)
        if f1 > best_rep[0]:
            best_rep = (f1, mode)
    params.repetition.mode = best_rep[1]


def _choose_merging(texts: dict[str, str], probs: dict, gold_all: list[LabelSpan], params) -> None:
    """The merge gap between same-technique fragments, then merging across words within a sentence."""
    from unspin.eval.spans import score_flc

    best_gap = (-1.0, params.merging.gap)
    for gap in (0, 1, 3, 6, 12):
        params.merging.gap = gap
        flc, _, _ = _predict_all(texts, probs, params)
        best_gap = max(best_gap, (score_flc(gold_all, flc).f1, gap))
    params.merging.gap = best_gap[1]
    LOG.info("merge gap %d (dev FLC F1 %.3f)", best_gap[1], best_gap[0])
    best_words = (-1.0, 0)
    for words in (0, 30, 50, 70, 100):
        params.merging.words = words
        flc, _, _ = _predict_all(texts, probs, params)
        best_words = max(best_words, (score_flc(gold_all, flc).f1, words))
    params.merging.words = best_words[1]
    LOG.info("merge across words within a sentence up to %d chars (dev FLC F1 %.3f)", *best_words[::-1])


def _choose_tc_step(
    cfg: dict[str, Any],
    data_dir: Path,
    train_ids: list[str],
    articles: dict[str, str],
    labels: dict[str, list[LabelSpan]],
    texts: dict[str, str],
    probs: dict,
    params,
) -> float:
    """The TC step with the best dev accuracy: the rule on mean probabilities, a softmax regression
    over them, with a words-only model's log-probabilities, or with the span classifier's. Sets it on
    `params`; returns its dev accuracy."""
    from unspin.eval.spans import score_tc
    from unspin.techniques.tc import classify_from_probs

    techs = list(PTC_TECHNIQUES)
    gold_all = _gold(labels, list(texts))
    best_tc = (-1.0, "raw", 1.0)
    for mode in ("raw", "ratio"):
        for rep in (1.0, 1.5, 2.0, 3.0, 5.0):
            params.tc.mode, params.tc.repetition = mode, rep
            pred = []
            for a in texts:
                spans = labels.get(a, [])
                labs = classify_from_probs(texts[a], probs[a], [(s.start, s.end) for s in spans], params)
                pred.extend(LabelSpan(a, s.start, s.end, lab) for s, lab in zip(spans, labs, strict=True))
            f1 = score_tc(gold_all, pred).f1
            if f1 > best_tc[0]:
                best_tc = (f1, mode, rep)
    params.tc.mode, params.tc.repetition = best_tc[1], best_tc[2]
    LOG.info("TC: mode %s, repetition x%.1f, dev accuracy %.3f", best_tc[1], best_tc[2], best_tc[0])
    tc_model, tc_cv = _tune_tc_classifier(texts, probs, labels, techs)
    LOG.info("TC span classifier: 5-fold dev accuracy %.3f vs rule %.3f", tc_cv, best_tc[0])
    if tc_model is not None and tc_cv > best_tc[0]:
        params.tc.model = tc_model
        best_tc = (tc_cv, "classifier", 0.0)
    # ... and with the words of the span (a words-only model fitted on the train split's gold spans)
    # (optionally with SemEval-2021 Task 6 meme spans, mapped to PTC labels, as extra word data)
    extra_dir = cfg.get("tune", {}).get("lexical_extra")
    extras: list[tuple[str, list[tuple[str, str]]]] = [("PTC train", [])]
    if extra_dir:
        task6 = task6_spans(data_dir.parent / extra_dir)
        if task6:
            extras.append((f"PTC train + {len(task6)} {extra_dir} spans", task6))
    for what, extra in extras:
        for l2 in (1e-2, 1e-1):
            lexical = fit_lexical(articles, labels, train_ids, techs, l2, extra)
            lex_model, lex_cv = _tune_tc_classifier(texts, probs, labels, techs, lexical)
            LOG.info("TC span classifier with words from %s (l2 %g): 5-fold dev accuracy %.3f", what, l2, lex_cv)
            if lex_model is not None and lex_cv > best_tc[0]:
                params.tc.model, params.tc.lexical = lex_model, {**lexical, "data": what}
                best_tc = (lex_cv, "classifier+words", 0.0)
    # ... and with the span classifier's log-probabilities (`[tc] span_classifier`)
    if cfg.get("tc", {}).get("span_classifier"):
        chosen = _tune_tc_with_span_classifier(cfg, articles, labels, train_ids, texts, probs, params, best_tc[0])
        best_tc = (chosen, "classifier+span classifier" if chosen > best_tc[0] else best_tc[1], 0.0)
    return best_tc[0]


def _fit_calibration(
    texts: dict[str, str], probs: dict, labels: dict[str, list[LabelSpan]], params
) -> dict[str, float]:
    """Platt scaling of span scores against their precision credit; returns dev SI and FLC F1 and the
    calibration error before and after."""
    from unspin.eval.spans import score_flc, score_si
    from unspin.techniques.decoding import Calibration

    gold_all = _gold(labels, list(texts))
    params.calibration = Calibration(1.0, 0.0)
    flc, si, raw = _predict_all(texts, probs, params)
    x, y = _calibration_data(raw, labels, params)
    params.calibration = Calibration(*fit_platt(x, y))
    conf = 1 / (1 + np.exp(-(params.calibration.a * x + params.calibration.b)))
    return {
        "si_f1": round(score_si(gold_all, si).f1, 4),
        "flc_f1": round(score_flc(gold_all, flc).f1, 4),
        "ece_before": round(expected_calibration_error(1 / (1 + np.exp(-x)), y), 4),
        "ece_after": round(expected_calibration_error(conf, y), 4),
    }
