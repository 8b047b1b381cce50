"""The `test` stage: the official span metrics on the held-out test split, then the model card."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from unspin.formats.semeval import PTC_TECHNIQUES, LabelSpan
from unspin.train.common import config_json, load_ptc
from unspin.train.techniques.card import write_model_card
from unspin.train.techniques.data import (
    _gold,
    _split,
    unlabeled_texts,
)
from unspin.train.techniques.decoding import _predict_all, _span_ece, vars_short

LOG = logging.getLogger("unspin.train.techniques")


def every_sentence_baseline(texts: dict[str, str]) -> list[LabelSpan]:
    """The SI baseline: every non-empty line (sentence) of each article is one propaganda span."""
    base = []
    for a, text in texts.items():
        pos = 0
        for line in text.split("\n"):
            if line.strip():
                base.append(LabelSpan(a, pos, pos + len(line)))
            pos += len(line) + 1
    return base


def _dev_scores(tagger, articles: dict[str, str], labels: dict, dev_ids: list[str], span_lp) -> dict[str, float]:
    """Dev SI and FLC F1 of the shipped model (`tune` scored dev before `smooth` changed the weights)."""
    from unspin.eval.spans import score_flc, score_si

    dev_texts = {a: articles[a] for a in dev_ids}
    dev_probs = dict(zip(dev_texts, tagger.token_probs(list(dev_texts.values())), strict=True))
    dev_flc, dev_si, _ = _predict_all(dev_texts, dev_probs, tagger.params, span_lp)
    dev_gold = _gold(labels, dev_ids)
    return {
        "si_f1": round(score_si(dev_gold, dev_si).f1, 4),
        "flc_f1": round(score_flc(dev_gold, dev_flc).f1, 4),
    }


def precise_results(params, raw: list, gold: list[LabelSpan], n_articles: int) -> dict[str, Any]:
    """FLC P/R/F1 and spans per article at both operating points: every span (the F1-tuned decoding)
    and the default view (the spans the precise operating point keeps); {} without one."""
    from unspin.train.techniques.precise import kept_spans, view_summary

    view = params.precise
    if view is None:
        return {}
    return {
        "beta": view.beta,
        "mode": view.mode,
        "every_span": view_summary(gold, kept_spans(raw, {}), n_articles),
        "default_view": view_summary(gold, kept_spans([(a, sp) for a, sp in raw if view.keeps(sp)], {}), n_articles),
    }


def _use_crossfit_scores(results: dict[str, Any], crossfit: dict[str, Any]) -> None:
    """The dev estimate the `crossfit` stage made beside the test scores (which it never changes: the test
    split is scored once, with the decoding chosen on dev)."""
    if crossfit.get("chosen_on") != "dev":
        raise ValueError("config.json carries a decoding chosen with the test split; re-run the crossfit stage")
    results["crossfit"] = {k: crossfit[k] for k in ("chosen_on", "articles", "folds", "dev_crossfit") if k in crossfit}


def stage_test(cfg: dict[str, Any], data_dir: Path, work: Path, out: Path, config_path: Path) -> None:
    """The held-out test split, scored once with the shipped decoding: SI, FLC and TC scores, the
    every-sentence baseline, calibration error and speed; written to the work folder's
    test_results.json and the model's config.json, then the model card."""
    from unspin.eval.spans import score_flc, score_si, score_tc
    from unspin.techniques.tagger import TechniqueTagger
    from unspin.techniques.tc import classify_from_probs

    articles, labels = load_ptc(data_dir)
    test_ids = _split(work)["test"]
    tagger = TechniqueTagger(out, threads=2)
    params = tagger.params
    texts = {a: articles[a] for a in test_ids}
    t0 = time.time()
    probs = dict(zip(texts, tagger.token_probs(list(texts.values())), strict=True))
    elapsed = time.time() - t0
    gold = _gold(labels, test_ids)
    span_lp = tagger.span_logprobs if params.relabel is not None else None
    flc, si, raw = _predict_all(texts, probs, params, span_lp)
    tc_pred = []
    for a in texts:
        spans = labels.get(a, [])
        given = [(s.start, s.end) for s in spans]
        labs = classify_from_probs(texts[a], probs[a], given, params, tagger.span_logprobs(texts[a], given))
        tc_pred.extend(LabelSpan(a, s.start, s.end, lab) for s, lab in zip(spans, labs, strict=True))
    r_si, r_flc, r_tc = score_si(gold, si), score_flc(gold, flc), score_tc(gold, tc_pred)
    precise = precise_results(params, raw, gold, len(texts))
    r_base = score_si(gold, every_sentence_baseline(texts))
    # the dev estimate of the decoding `crossfit` chose on dev, reported beside the test scores
    crossfit = json.loads((out / "config.json").read_text()).get("crossfit")
    # dev again, with the shipped model, where `tune` scored dev before the `smooth` stage changed the weights
    dev_shipped: dict[str, float] = {}
    if cfg.get("export", {}).get("smooth_ffn_output") is not None and not crossfit:
        dev_shipped = _dev_scores(tagger, articles, labels, _split(work)["dev"], span_lp)
    ece = _span_ece(gold, raw)
    n_tokens = sum(len(p.offsets) for p in probs.values())
    n_words = sum(len(t.split()) for t in texts.values())
    # training facts: from this run's work folder, or as the model's config recorded them last time
    shipped = json.loads((out / "config.json").read_text())
    meta = (
        json.loads((work / "best.json").read_text()) if (work / "best.json").exists() else shipped.get("training", {})
    )
    results = {
        "test_articles": len(test_ids),
        "si": vars_short(r_si),
        "flc": vars_short(r_flc),
        "tc": vars_short(r_tc),
        "si_baseline_every_sentence": vars_short(r_base),
        "ece": round(ece, 4),
        **({"precise": precise} if precise else {}),
        **({"dev_shipped": dev_shipped} if dev_shipped else {}),
        "per_technique": {
            t: {
                "flc_f1": round(r_flc.per_technique[t].f1, 4) if t in r_flc.per_technique else 0.0,
                "tc_f1": round(r_tc.per_technique[t].f1, 4) if t in r_tc.per_technique else 0.0,
                "n_gold": sum(1 for g in gold if g.technique == t),
            }
            for t in PTC_TECHNIQUES
        },
        "speed_2_threads": {
            "articles_per_s": round(len(texts) / elapsed, 2),
            "tokens_per_s": round(n_tokens / elapsed, 1),
            "mean_words_per_article": round(n_words / len(texts), 1),
        },
        "training": meta,
        **({"distil_unlabeled_articles": len(unlabeled_texts(cfg, data_dir))} if "distil" in cfg else {}),
    }
    if crossfit:
        _use_crossfit_scores(results, crossfit)
    (work / "test_results.json").write_text(json.dumps(results, indent=1))
    LOG.info("test results %s", json.dumps(results))
    cfg_json = json.loads((out / "config.json").read_text())
    # everything the model card shows, so that a refit's card (`refit` stage) can show this run's numbers
    # (the training facts and the dev estimate have their own records: "training", "crossfit")
    cfg_json["test"] = {k: v for k, v in results.items() if k not in ("training", "crossfit")}
    cfg_json["training"] = {k: v for k, v in meta.items() if k in ("epoch", "train_seconds", "total_train_seconds")}
    (out / "config.json").write_text(config_json(cfg_json))
    write_model_card(cfg, out, results, cfg_json, config_path)
