"""The `head` stage: a span head over the tagger's own hidden states, baked into its graph."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from unspin.formats.semeval import PTC_TECHNIQUES, LabelSpan
from unspin.models.base import sha256_file
from unspin.train.common import config_json, load_ptc
from unspin.train.techniques.data import (
    OUTPUTS,
    _gold,
    _split,
    base_dir_for,
)
from unspin.train.techniques.decoding import _tune_flc_relabel

LOG = logging.getLogger("unspin.train.techniques")


def set_extra_output(model_path: Path, projection: np.ndarray | None = None, hidden: bool = False) -> None:
    """Give an exported tagger graph its further outputs: "span_head" (the last hidden states times
    `projection`, [d, 14]: the span head's hidden-state part) when a projection is given, and "hidden"
    (the encoder's last hidden states, the output of its last LayerNormalization: to fit a span head,
    and for the stages that read the tagger's pass) with `hidden`. The logits do not change."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(model_path), load_external_data=False)  # frozen tensors stay placeholders
    g = model.graph
    for out in [o for o in g.output if o.name in ("hidden", "span_head")]:
        g.output.remove(out)
    for node in [n for n in g.node if n.name in ("hidden", "span_head")]:
        g.node.remove(node)
    for init in [t for t in g.initializer if t.name == "span_head_weights"]:
        g.initializer.remove(init)
    norms = [n for n in g.node if n.op_type == "LayerNormalization"]
    if not norms:
        raise SystemExit(f"{model_path}: no LayerNormalization node, so no hidden states to expose")
    last = norms[-1].output[0]
    if projection is not None:
        g.initializer.append(numpy_helper.from_array(projection.astype(np.float32), "span_head_weights"))
        g.node.append(helper.make_node("MatMul", [last, "span_head_weights"], ["span_head"], name="span_head"))
        g.output.append(helper.make_tensor_value_info("span_head", onnx.TensorProto.FLOAT, None))
    if hidden:
        g.node.append(helper.make_node("Identity", [last], ["hidden"], name="hidden"))
        g.output.append(helper.make_tensor_value_info("hidden", onnx.TensorProto.FLOAT, None))
    onnx.save(model, str(model_path))


def _span_head_x(text: str, lowered: str, tp, start: int, end: int) -> np.ndarray | None:
    """A span's input to the span head: its tokens' mean hidden state, then its `span_features`."""
    from unspin.techniques.features import span_features
    from unspin.techniques.runner import token_range

    feat = span_features(text, lowered, tp, start, end)
    if feat is None or tp.hidden is None:
        return None
    lo, hi = token_range(tp, start, end)
    return np.concatenate([tp.hidden[lo:hi].astype(np.float32).mean(axis=0), feat])


def fit_span_head(
    articles: dict[str, str], labels: dict[str, list[LabelSpan]], probs: dict, c: float
) -> tuple[np.ndarray, dict[str, Any], int]:
    """The span head: multinomial logistic regression (L2, inverse strength `c`) over `_span_head_x` of
    every gold span of `probs`'s articles (their `hidden` states). Its hidden-state part is linear, so
    it is split off: returns (projection [d, 14], the rest as config.json stores it for
    `unspin.techniques.tagger.span_head_logprobs`, the number of spans fitted on)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    techs = list(PTC_TECHNIQUES)
    xs, ys = [], []
    for aid, tp in probs.items():
        text = articles[aid]
        lowered = text.lower()
        for g in labels.get(aid, []):
            x = _span_head_x(text, lowered, tp, g.start, g.end)
            if x is not None:
                xs.append(x)
                ys.append(techs.index(g.technique))
    x, y = np.array(xs, dtype=np.float64), np.array(ys)
    scaler = StandardScaler().fit(x)
    lr = LogisticRegression(C=c, max_iter=3000).fit(scaler.transform(x), y)
    w = np.zeros((x.shape[1], len(techs)))
    b = np.full(len(techs), -30.0)  # a technique without training spans is never predicted
    w[:, lr.classes_] = lr.coef_.T
    b[lr.classes_] = lr.intercept_
    d = x.shape[1] - (2 * len(OUTPUTS) + 5)  # hidden size: the rest are `span_features`
    mean, std = scaler.mean_, scaler.scale_
    projection = (w[:d] / std[:d, None]).astype(np.float32)  # ((h - mean) / std) @ w = h @ projection - offset
    head = {
        "classes": techs,
        "features": "mean over the span's tokens of the graph's span_head output, plus span_features",
        "c": c,
        "hidden_dim": int(d),
        "W": np.round(w[d:], 6).tolist(),
        "b": np.round(b - (mean[:d] / std[:d]) @ w[:d], 6).tolist(),
        "mean": np.round(mean[d:], 6).tolist(),
        "std": np.round(std[d:], 6).tolist(),
    }
    return projection, head, len(y)


def _project(probs: dict, projection: np.ndarray) -> None:
    """Set each TokenProbs' span-head scores from its hidden states (what the graph's "span_head"
    output computes once the projection is in it)."""
    for tp in probs.values():
        tp.head = tp.hidden.astype(np.float32) @ projection if len(tp.hidden) else np.zeros((0, projection.shape[1]))


def _hidden_states(
    cfg: dict[str, Any], tagger, articles: dict[str, str], split: dict[str, list[str]], model_path: Path
) -> tuple[dict, dict[str, str], dict]:
    """The tagger's token probabilities with hidden states on the train and dev articles: (train
    probabilities, dev texts, dev probabilities); stops when the graph's "hidden" output is not the
    encoder's hidden size."""
    t0 = time.time()
    train_probs = dict(
        zip(split["train"], tagger.token_probs([articles[a] for a in split["train"]], hidden=True), strict=True)
    )
    texts = {a: articles[a] for a in split["dev"]}
    probs = dict(zip(texts, tagger.token_probs(list(texts.values()), hidden=True), strict=True))
    dim = next(p.hidden.shape[1] for p in probs.values() if p.hidden is not None and len(p.hidden))
    hidden_size = json.loads((base_dir_for(cfg) / "config.json").read_text())["hidden_size"]
    if dim != hidden_size:
        raise SystemExit(f"{model_path}: 'hidden' has {dim} features, the encoder {hidden_size}")
    LOG.info(
        "head: hidden states of %d train and %d dev articles in %.1fs", len(train_probs), len(texts), time.time() - t0
    )
    return train_probs, texts, probs


def _try_span_heads(
    cs: list[float],
    articles: dict[str, str],
    labels: dict[str, list[LabelSpan]],
    train_probs: dict,
    texts: dict[str, str],
    probs: dict,
    params,
) -> tuple[dict[float, tuple[float, np.ndarray, dict[str, Any], dict[str, Any]]], int]:
    """A span head fitted on the train split for each C in `cs`, with `flc_keep` and the calibration
    chosen on dev through it (`params` keeps the last). Returns, by C, (dev FLC F1, or -1 when no
    `flc_keep` helps; projection; head; dev numbers), and the number of training spans."""
    from unspin.eval.spans import score_tc
    from unspin.techniques.tc import span_head_logprobs

    gold_dev = _gold(labels, list(texts))
    tried: dict[float, tuple[float, np.ndarray, dict[str, Any], dict[str, Any]]] = {}
    n_spans = 0
    for c in cs:
        projection, head, n_spans = fit_span_head(articles, labels, train_probs, float(c))
        _project(probs, projection)
        params.tc.span_head = head
        dev = _tune_flc_relabel(texts, probs, labels, params, None)
        tc_pred = []
        for a, text in texts.items():
            spans = labels.get(a, [])
            lp = span_head_logprobs(text, probs[a], [(g.start, g.end) for g in spans], head)
            tc_pred.extend(
                LabelSpan(a, g.start, g.end, PTC_TECHNIQUES[int(k)]) for g, k in zip(spans, lp.argmax(1), strict=True)
            )
        dev["span_head_tc_f1"] = round(score_tc(gold_dev, tc_pred).f1, 4)
        LOG.info("head: C %s, %d training spans; dev %s", c, n_spans, dev)
        tried[float(c)] = (dev["flc_f1"] if params.relabel is not None else -1.0, projection, head, dev)
    return tried, n_spans


def stage_head(cfg: dict[str, Any], data_dir: Path, work: Path, out: Path) -> None:
    """FLC through a span head (`[tc] span_head`): a softmax regression over the tagger's own last
    hidden states averaged over a span (and the span's token probabilities, length and recurrence) is
    fitted on the train split's gold spans for each C in `[tc] span_head_c`. The C and `flc_keep` with
    the best dev FLC F1 are kept, with the confidence calibration refitted, when that beats the model's
    FLC without a span head (without relabelling, or through the span classifier's TC step if
    `[tc] relabel`: then the head need only come within `[tc] span_head_tolerance` of it). The head's
    hidden-state part goes into the graph (output "span_head"), so it runs no second model; the span
    classifier still names the technique of given spans (`unspin semeval tc`)."""
    import copy

    from unspin.techniques.classifier import SpanClassifier
    from unspin.techniques.tagger import TechniqueTagger

    tc = cfg.get("tc", {})
    if not tc.get("span_head"):
        LOG.info("head: no [tc] span_head in the config; nothing to do")
        return
    model_path = out / "model.onnx"
    cfg_json = json.loads((out / "config.json").read_text())

    def save_config() -> None:
        cfg_json["files"]["model.onnx"] = sha256_file(model_path)
        (out / "config.json").write_text(config_json(cfg_json))

    # `[export] hidden_output`: the shipped graph keeps its "hidden" output (English framing reads it)
    keep_hidden = bool(cfg.get("export", {}).get("hidden_output", False))
    set_extra_output(model_path, hidden=True)
    cfg_json["decode"].pop("span_head", None)  # a head from an earlier run of this stage
    cfg_json.pop("crossfit", None)  # decoding is chosen on dev again
    save_config()
    threads = int(cfg["train"].get("threads", 1))
    tagger = TechniqueTagger(out, threads=threads)
    params = tagger.params
    articles, labels = load_ptc(data_dir)
    train_probs, texts, probs = _hidden_states(cfg, tagger, articles, _split(work), model_path)
    # the reference: FLC without a span head, chosen afresh on these dev probabilities
    clf = None
    if params.tc.span_classifier and tc.get("relabel", True):
        clf = SpanClassifier.load(params.tc.span_classifier, threads=threads)
    ref_dev = _tune_flc_relabel(texts, probs, labels, params, clf, relabel=clf is not None)
    reference = copy.deepcopy(params)
    LOG.info("head: without a span head (span classifier: %s), dev %s", clf is not None, ref_dev)
    tried, n_spans = _try_span_heads(
        tc.get("span_head_c", [0.003, 0.01, 0.03]), articles, labels, train_probs, texts, probs, params
    )
    best_c = max(tried, key=lambda k: tried[k][0])
    # The head runs no second model: it is kept unless the reference beats it on dev by more than
    # `[tc] span_head_tolerance` (a 37-article dev split does not separate smaller differences).
    tolerance = float(tc.get("span_head_tolerance", 0.0)) if clf is not None else 0.0
    for key in ("flc_f1_span_classifier", "span_head_tolerance", "span_head_c", "span_head_tc_f1", "span_head_spans"):
        cfg_json.setdefault("dev", {}).pop(key, None)
    if tried[best_c][0] < 0 or tried[best_c][0] + tolerance <= ref_dev["flc_f1"]:
        LOG.info("head: no C comes within %s of %.4f on dev FLC; no span head", tolerance, ref_dev["flc_f1"])
        set_extra_output(model_path, hidden=keep_hidden)
        cfg_json["decode"] = reference.to_config()
        cfg_json["dev"].update(ref_dev)
        save_config()
        return
    _, projection, head, chosen = tried[best_c]
    _project(probs, projection)  # the chosen head's scores (the loop left the last C's)
    set_extra_output(model_path, projection, hidden=keep_hidden)
    cfg_json["decode"]["span_head"] = head
    save_config()
    # dev again through the graph's own "span_head" output: choose `flc_keep` and the calibration on it
    tagger = TechniqueTagger(out, threads=threads)
    params = tagger.params
    graph_probs = dict(zip(texts, tagger.token_probs(list(texts.values())), strict=True))
    gap = max(float(np.abs(graph_probs[a].head - probs[a].head).max()) for a in texts if len(probs[a].head))
    LOG.info("head: graph output against hidden states x projection: max |diff| %.4f", gap)
    if gap > 0.05:
        raise SystemExit(f"{model_path}: the graph's span_head output differs from the fitted head by {gap:.3f}")
    dev = _tune_flc_relabel(texts, graph_probs, labels, params, None)
    dev.update(span_head_c=best_c, span_head_tc_f1=chosen["span_head_tc_f1"], span_head_spans=n_spans)
    if clf is not None:
        dev.update(flc_f1_span_classifier=ref_dev["flc_f1"], span_head_tolerance=tolerance)
    cfg_json["decode"] = params.to_config()
    cfg_json["dev"].update(dev)
    save_config()
    LOG.info("head: C %s, relabelling %s; dev %s", best_c, params.relabel, dev)
