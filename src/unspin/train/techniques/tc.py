"""The TC step: softmax regressions that name the technique of a span (over the tagger's
probabilities, a words-only model and the span classifier), and the `tc` stage that refits it."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from unspin.formats.semeval import PTC_TECHNIQUES, LabelSpan
from unspin.train.common import config_json, load_ptc
from unspin.train.techniques.data import write_split
from unspin.train.techniques.decoding import _tune_flc_relabel

LOG = logging.getLogger("unspin.train.techniques")


# SemEval-2021 Task 6 (meme texts) technique names -> PTC labels; techniques PTC does not have
# (Smears, Glittering generalities, Obfuscation) are left out.
TASK6_TO_PTC = {
    "Appeal to authority": "Appeal_to_Authority",
    "Appeal to fear/prejudice": "Appeal_to_fear-prejudice",
    "Bandwagon": "Bandwagon,Reductio_ad_hitlerum",
    "Reductio ad hitlerum": "Bandwagon,Reductio_ad_hitlerum",
    "Black-and-white Fallacy/Dictatorship": "Black-and-White_Fallacy",
    "Causal Oversimplification": "Causal_Oversimplification",
    "Doubt": "Doubt",
    "Exaggeration/Minimisation": "Exaggeration,Minimisation",
    "Flag-waving": "Flag-Waving",
    "Loaded Language": "Loaded_Language",
    "Name calling/Labeling": "Name_Calling,Labeling",
    "Repetition": "Repetition",
    "Slogans": "Slogans",
    "Thought-terminating cliché": "Thought-terminating_Cliches",
    "Whataboutism": "Whataboutism,Straw_Men,Red_Herring",
    "Misrepresentation of Someone's Position (Straw Man)": "Whataboutism,Straw_Men,Red_Herring",
    "Presenting Irrelevant Data (Red Herring)": "Whataboutism,Straw_Men,Red_Herring",
}


def task6_spans(folder: Path) -> list[tuple[str, str]]:
    """(span text, PTC label) of every mappable span in SemEval-2021 Task 6's task-2 train and dev files."""
    out = []
    for name in ("training_set_task2.txt", "dev_set_task2.txt"):
        path = folder / "data" / name
        if not path.is_file():
            continue
        for item in json.loads(path.read_text(encoding="utf-8")):
            for lab in item.get("labels", []):
                ptc = TASK6_TO_PTC.get(lab["technique"])
                if ptc:
                    out.append((item["text"][lab["start"] : lab["end"]], ptc))
    return out


def fit_lexical(
    articles: dict[str, str],
    labels: dict[str, list[LabelSpan]],
    ids: list[str],
    techs: list[str],
    l2: float,
    extra: list[tuple[str, str]] = (),
) -> dict[str, Any]:
    """The words-only TC model (`lexical_features` -> softmax), fitted on the gold spans of `ids` and
    any `extra` (span text, label) pairs."""
    from unspin.techniques.features import LEXICAL_DIM, lexical_features
    from unspin.train.fitting import fit_softmax

    spans = [(articles[g.article_id][g.start : g.end], g.technique) for a in ids for g in labels.get(a, [])]
    spans += list(extra)
    x = np.stack([lexical_features(text) for text, _ in spans])
    y = np.array([techs.index(t) for _, t in spans])
    w, b, m, sd = fit_softmax(x, y, len(techs), l2=l2, iters=300)
    return {
        "dim": LEXICAL_DIM,
        "l2": l2,
        "W": np.round(w, 5).tolist(),
        "b": np.round(b, 5).tolist(),
        "mean": np.round(m, 6).tolist(),
        "std": np.round(sd, 6).tolist(),
    }


def _tune_tc_classifier(
    texts: dict[str, str],
    probs: dict,
    labels: dict[str, list[LabelSpan]],
    techs: list[str],
    lexical: dict[str, Any] | None = None,
    span_lp: dict[str, np.ndarray] | None = None,
    groups: tuple[str, ...] | None = None,
) -> tuple[dict[str, Any] | None, float]:
    """Fit the TC span classifier on dev gold spans; its accuracy by 5-fold cross-validation over articles.
    With a `lexical` model (fitted on the train split, so unbiased on dev), its log-probabilities are
    features too; so are the span classifier's (`span_lp`: per article, one row per gold span)."""
    from unspin.techniques.features import span_features, tc_features
    from unspin.train.fitting import fit_softmax

    rows: list[tuple[int, np.ndarray, int]] = []
    for i, (aid, text) in enumerate(texts.items()):
        low = text.lower()
        for j, g in enumerate(labels.get(aid, [])):
            f = span_features(text, low, probs[aid], g.start, g.end)
            if f is not None:
                own = span_lp[aid][j] if span_lp is not None else None
                f = tc_features(f, text[g.start : g.end], lexical, own, groups)
                rows.append((i % 5, f, techs.index(g.technique)))
    if len(rows) < 50:
        return None, 0.0
    fold = np.array([r[0] for r in rows])
    x = np.stack([r[1] for r in rows]).astype(np.float64)
    y = np.array([r[2] for r in rows])
    best: tuple[float, float] = (-1.0, 1e-2)
    for l2 in (1e-3, 1e-2, 1e-1, 1.0):
        correct = 0
        for k in range(5):
            tr, te = fold != k, fold == k
            w, b, m, sd = fit_softmax(x[tr], y[tr], len(techs), l2=l2)
            correct += int((np.argmax(((x[te] - m) / sd) @ w + b, axis=1) == y[te]).sum())
        best = max(best, (correct / len(y), l2))
    w, b, m, sd = fit_softmax(x, y, len(techs), l2=best[1])
    model = {
        "classes": techs,
        **({"features": list(groups)} if groups else {}),
        "l2": best[1],
        "W": np.round(w, 5).tolist(),
        "b": np.round(b, 5).tolist(),
        "mean": np.round(m, 6).tolist(),
        "std": np.round(sd, 6).tolist(),
    }
    return model, best[0]


def _tune_tc_with_span_classifier(
    cfg: dict[str, Any],
    articles: dict[str, str],
    labels: dict[str, list[LabelSpan]],
    train_ids: list[str],
    texts: dict[str, str],
    probs: dict,
    params,
    current: float,
) -> float:
    """Fit TC models whose features include the span classifier's log-probabilities (with and without
    a words-only model fitted on the train split); adopt the best when its 5-fold dev accuracy beats
    `current`. Updates `params.tc` in place; returns the chosen dev accuracy."""
    from unspin.techniques.classifier import SpanClassifier

    name = cfg["tc"]["span_classifier"]
    clf = SpanClassifier.load(name, threads=int(cfg["train"].get("threads", 1)))
    techs = list(PTC_TECHNIQUES)
    if list(clf.labels)[: len(techs)] != techs:
        raise SystemExit(f"span classifier {name!r} has other labels than the PTC techniques")
    span_lp = {a: clf.log_probs(t, [(g.start, g.end) for g in labels.get(a, [])]) for a, t in texts.items()}
    alone = np.mean(
        [
            int(np.argmax(row)) == techs.index(g.technique)
            for a in texts
            for row, g in zip(span_lp[a], labels.get(a, []), strict=True)
        ]
    )
    LOG.info("TC: span classifier %s alone, dev accuracy %.3f", name, alone)
    best: tuple[float, dict[str, Any] | None, dict[str, Any] | None] = (current, None, None)
    lexical = fit_lexical(articles, labels, train_ids, techs, 0.1)
    # Few dev spans for many features: smaller feature sets are tried too (the span's shape carries
    # how often its text recurs, which a span classifier reading one line cannot see).
    for groups in (
        ("shape", "span_classifier"),
        ("mean", "shape", "span_classifier"),
        ("mean", "shape", "lexical", "span_classifier"),
        ("mean", "max", "shape", "lexical", "span_classifier"),
    ):
        lex = lexical if "lexical" in groups else None
        model, cv = _tune_tc_classifier(texts, probs, labels, techs, lex, span_lp, groups)
        LOG.info("TC model over %s: 5-fold dev accuracy %.3f", "+".join(groups), cv)
        if model is not None and cv > best[0]:
            best = (cv, model, {**lexical, "data": "PTC train"} if lex else None)
    if best[1] is None:
        LOG.info("TC: the span classifier does not beat %.3f on dev; not used", current)
        return current
    params.tc.model, params.tc.span_classifier = best[1], name
    params.tc.lexical = best[2]
    return best[0]


def stage_tc(cfg: dict[str, Any], data_dir: Path, work: Path, out: Path) -> None:
    """Refit only the TC step of a tuned model (`config.json` in `out`), with the span classifier that
    `[tc] span_classifier` names; thresholds, merging and calibration stay as they are."""
    from unspin.techniques.tagger import TechniqueTagger

    if not cfg.get("tc", {}).get("span_classifier"):
        raise SystemExit("the `tc` stage needs `[tc] span_classifier` in the config")
    articles, labels = load_ptc(data_dir)
    split = write_split(cfg, articles, work)
    tagger = TechniqueTagger(out, threads=int(cfg["train"].get("threads", 1)))
    params = tagger.params
    texts = {a: articles[a] for a in split["dev"]}
    probs = dict(zip(texts, tagger.token_probs(list(texts.values())), strict=True))
    cfg_json = json.loads((out / "config.json").read_text())
    before = float(cfg_json.get("dev", {}).get("tc_f1", 0.0))
    # the current TC step, re-scored on these probabilities (the config's dev number may be a rule's)
    params.tc.model = params.tc.lexical = params.tc.span_classifier = None
    params.tc.span_head = None  # `head` refits a span head
    chosen = _tune_tc_with_span_classifier(cfg, articles, labels, split["train"], texts, probs, params, -1.0)
    LOG.info("TC dev accuracy: %.3f before, %.3f with the span classifier", before, chosen)
    if chosen < before:
        LOG.info("no gain on dev: config.json left as it was")
        return
    dev = cfg_json.setdefault("dev", {})
    dev["tc_f1"] = round(chosen, 4)
    from unspin.techniques.classifier import SpanClassifier

    clf = SpanClassifier.load(params.tc.span_classifier, threads=int(cfg["train"].get("threads", 1)))
    relabel = bool(cfg["tc"].get("relabel", True))
    dev.update(_tune_flc_relabel(texts, probs, labels, params, clf, relabel))
    cfg_json["decode"] = params.to_config()
    (out / "config.json").write_text(config_json(cfg_json))
