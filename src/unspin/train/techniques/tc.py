"""The TC step: softmax regressions that name the technique of a span (over the tagger's
probabilities, a words-only model and the span classifier), and the `tc` stage that refits it."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
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


TASK6_FILES = ("training_set_task2.txt", "dev_set_task2.txt")


def task6_items(folder: Path, files: tuple[str, ...] = TASK6_FILES) -> list[tuple[str, int, int, str]]:
    """(meme text, start, end, PTC label) of every mappable span in SemEval-2021 Task 6's task-2 files
    (`files` under `folder/data`; by default train and dev)."""
    out = []
    for name in files:
        path = folder / "data" / name
        if not path.is_file():
            continue
        for item in json.loads(path.read_text(encoding="utf-8")):
            for lab in item.get("labels", []):
                ptc = TASK6_TO_PTC.get(lab["technique"])
                if ptc and item["text"][lab["start"] : lab["end"]].strip():
                    out.append((item["text"], int(lab["start"]), int(lab["end"]), ptc))
    return out


def task6_spans(folder: Path) -> list[tuple[str, str]]:
    """(span text, PTC label) of every mappable span in SemEval-2021 Task 6's task-2 train and dev files."""
    return [(text[s:e], label) for text, s, e, label in task6_items(folder)]


def softmax_record(w: np.ndarray, b: np.ndarray, m: np.ndarray, sd: np.ndarray) -> dict[str, Any]:
    """A fitted softmax (`fit_softmax`'s W, b, mean, std) as a model config stores it."""
    return {
        "W": np.round(w, 5).tolist(),
        "b": np.round(b, 5).tolist(),
        "mean": np.round(m, 6).tolist(),
        "std": np.round(sd, 6).tolist(),
    }


def heldout_correct(x: np.ndarray, y: np.ndarray, fit: np.ndarray, held: np.ndarray, n_classes: int, l2: float) -> int:
    """How many `held` rows a softmax fitted on the `fit` rows names right."""
    from unspin.train.fitting import fit_softmax

    w, b, m, sd = fit_softmax(x[fit], y[fit], n_classes, l2=l2)
    return int((np.argmax(((x[held] - m) / sd) @ w + b, axis=1) == y[held]).sum())


def tc_rows(
    texts: dict[str, str],
    probs: dict,
    labels: dict[str, list[LabelSpan]],
    techs: list[str],
    lexical: dict[str, Any] | None,
    span_lp: dict[str, np.ndarray] | None,
    groups: Sequence[str] | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The TC model's features (`groups`), the technique index and the article's index (in `texts`) of
    every gold span of `texts` that has a token."""
    from unspin.techniques.features import span_features, tc_features

    xs, ys, arts = [], [], []
    for i, (aid, text) in enumerate(texts.items()):
        low = text.lower()
        for j, g in enumerate(labels.get(aid, [])):
            f = span_features(text, low, probs[aid], g.start, g.end)
            if f is not None:
                own = span_lp[aid][j] if span_lp is not None else None
                xs.append(tc_features(f, text[g.start : g.end], lexical, own, groups))
                ys.append(techs.index(g.technique))
                arts.append(i)
    if not xs:
        return np.zeros((0, 0)), np.zeros(0, int), np.zeros(0, int)
    return np.stack(xs).astype(np.float64), np.array(ys), np.array(arts)


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
    return {"dim": LEXICAL_DIM, "l2": l2, **softmax_record(w, b, m, sd)}


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
    from unspin.train.fitting import fit_softmax

    x, y, art = tc_rows(texts, probs, labels, techs, lexical, span_lp, groups)
    if len(y) < 50:
        return None, 0.0
    fold = art % 5
    best: tuple[float, float] = (-1.0, 1e-2)
    for l2 in (1e-3, 1e-2, 1e-1, 1.0):
        correct = sum(heldout_correct(x, y, fold != k, fold == k, len(techs), l2) for k in range(5))
        best = max(best, (correct / len(y), l2))
    w, b, m, sd = fit_softmax(x, y, len(techs), l2=best[1])
    model = {
        "classes": techs,
        **({"features": list(groups)} if groups else {}),
        "l2": best[1],
        **softmax_record(w, b, m, sd),
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
    cfg_json.pop("tc_refit", None)  # a TC model chosen and fitted on dev again: no longer refitted
    (out / "config.json").write_text(config_json(cfg_json))


def learning_check(
    x: np.ndarray, y: np.ndarray, art: np.ndarray, n_classes: int, l2: float, few: int, seed: int = 0, repeats: int = 5
) -> dict[str, float | int]:
    """Whether the TC softmax gains from more articles: 5-fold cross-validation over articles, each
    held-out fold scored by a softmax fitted on `few` articles of the other folds (as many as dev has)
    and by one fitted on all of them; accuracies averaged over `repeats` shuffles."""
    rng = np.random.default_rng(seed)
    n_art = int(art.max()) + 1
    correct = {"few": 0, "all": 0}
    for _ in range(repeats):
        fold_of = np.empty(n_art, int)
        fold_of[rng.permutation(n_art)] = np.arange(n_art) % 5
        f = fold_of[art]
        for k in range(5):
            te = f == k
            others = np.unique(art[~te])
            for key, keep in (("few", rng.permutation(others)[:few]), ("all", others)):
                correct[key] += heldout_correct(x, y, np.isin(art, keep), te, n_classes, l2)
    total = repeats * len(y)
    n_all = round(n_art * 4 / 5)
    return {
        "few_articles": few,
        "few_accuracy": round(correct["few"] / total, 4),
        "all_articles": n_all,
        "all_accuracy": round(correct["all"] / total, 4),
    }


def stage_tc_refit(cfg: dict[str, Any], data_dir: Path, out: Path) -> None:
    """The TC model of a finished model (`out/config.json`), fitted again with everything frozen (its
    feature groups, its L2 strength, the span classifier) on the gold spans of more articles: `[tc]
    refit_on`, by default dev and test, the articles the span classifier never trained on (its
    log-probabilities on its own training spans would be overconfident, so the train split is refused).
    The test numbers stay those of the TC model fitted on dev alone, scored before this stage; the
    number of spans it is fitted on and the splits are recorded in config.json (`tc_refit`)."""
    from unspin.techniques.classifier import SpanClassifier
    from unspin.techniques.tagger import TechniqueTagger
    from unspin.train.fitting import fit_softmax
    from unspin.train.techniques.data import ptc_split

    names = list(cfg.get("tc", {}).get("refit_on", ["dev", "test"]))
    if "train" in names or not set(names) <= {"dev", "test"}:
        raise SystemExit(f"[tc] refit_on {names}: dev and/or test only (the span classifier was fitted on train)")
    path = out / "config.json"
    cfg_json = json.loads(path.read_text())
    tagger = TechniqueTagger(out, threads=int(cfg["train"].get("threads", 1)))
    tc = tagger.params.tc
    if tc.model is None or tc.span_classifier is None:
        raise SystemExit(f"{out}: its TC step has no model over the span classifier to refit")
    if "test" in names and "tc" not in cfg_json.get("test", {}):
        raise SystemExit(f"{out}: score the test split (`test` stage) before fitting the TC model on it")
    articles, labels = load_ptc(data_dir)
    split = ptc_split(cfg, articles)
    ids = sorted(a for n in names for a in split[n])
    texts = {a: articles[a] for a in ids}
    probs = dict(zip(texts, tagger.token_probs(list(texts.values())), strict=True))
    clf = SpanClassifier.load(tc.span_classifier, threads=int(cfg["train"].get("threads", 1)))
    span_lp = {a: clf.log_probs(t, [(g.start, g.end) for g in labels.get(a, [])]) for a, t in texts.items()}
    techs = list(tc.model["classes"])
    x, y, art = tc_rows(texts, probs, labels, techs, tc.lexical, span_lp, tc.model.get("features"))
    l2 = float(tc.model["l2"])
    few = int(cfg.get("tc", {}).get("refit_check_articles", len(split["dev"])))
    check = learning_check(x, y, art, len(techs), l2, few)
    LOG.info(
        "TC, 5-fold over these articles: accuracy %.3f fitted on %d of them, %.3f on %d",
        check["few_accuracy"],
        check["few_articles"],
        check["all_accuracy"],
        check["all_articles"],
    )
    w, b, m, sd = fit_softmax(x, y, len(techs), l2=l2)
    tc.model = {**tc.model, **softmax_record(w, b, m, sd)}
    agree = float(np.mean(np.argmax(((x - m) / sd) @ w + b, axis=1) == y))
    LOG.info(
        "TC model refitted on %s: %d spans of %d articles (in-sample accuracy %.3f)", names, len(y), len(ids), agree
    )
    cfg_json["decode"] = tagger.params.to_config()
    cfg_json["tc_refit"] = {"fit_on": names, "articles": len(ids), "spans": int(len(y)), "l2": l2, "check": check}
    path.write_text(config_json(cfg_json))
