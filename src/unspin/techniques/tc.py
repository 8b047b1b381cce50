"""The TC step: which technique a given span uses.

Three ways, whichever the model's config holds:

* a TC model (`tc_model`): a softmax regression over the span's features (`unspin.techniques.features`),
  the words-only model's log-probabilities (`tc_lexical`) and the span classifier's (`tc_span_classifier`);
* a span head (`span_head`): a softmax over the tagger's own last hidden states pooled over the span,
  which costs no second model (its hidden-state part runs inside the tagger's graph);
* neither: the technique with the highest mean token probability (optionally divided by its threshold),
  Repetition's score multiplied when the span's text recurs.

Decoding (`unspin.techniques.decoding`) runs the tagger's own spans through this step when relabelling
is on; `classify_from_probs` answers the TC task for spans given from outside.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from unspin.formats.semeval import PTC_TECHNIQUES
from unspin.techniques.classifier import none_probs, technique_logprobs
from unspin.techniques.features import span_features, tc_features
from unspin.techniques.runner import TokenProbs, token_range

if TYPE_CHECKING:
    from unspin.techniques.decoding import Decoding

SpanLogprobs = Callable[[str, Sequence[tuple[int, int]]], "np.ndarray | None"]

_HEAD_ARRAYS = ("W", "b", "mean", "std")


def _span_head_arrays(head: dict[str, Any]) -> dict[str, Any]:
    """The span head as config.json stores it, its weights as arrays, converted once at load rather than
    for every article (float64, so `to_config` writes back the same numbers)."""
    return {k: np.asarray(v, dtype=np.float64) if k in _HEAD_ARRAYS else v for k, v in head.items()}


def _json_lists(value: dict[str, Any]) -> dict[str, Any]:
    """`value` with numpy arrays turned back into lists (for config.json)."""
    return {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in value.items()}


@dataclass
class TCStep:
    """How the technique of a span is chosen (stored flat in config.json's `decode`)."""

    mode: str = "ratio"  # without a TC model: "raw": argmax mean prob; "ratio": argmax mean prob / threshold
    repetition: float = 1.0  # ... and Repetition's score multiplied by this when the span's text recurs
    model: dict[str, Any] | None = None  # `tc_model`: classes, features, W, b, mean, std
    lexical: dict[str, Any] | None = None  # `tc_lexical`: the words-only model among its features
    span_classifier: str | None = None  # `tc_span_classifier`: the span classifier's name
    span_head: dict[str, Any] | None = None  # `span_head`: relabelling from the tagger's hidden states

    @classmethod
    def from_config(cls, decode: dict[str, Any]) -> TCStep:
        head = decode.get("span_head")
        return cls(
            mode=decode.get("tc_mode", "ratio"),
            repetition=float(decode.get("tc_repetition", 1.0)),
            model=decode.get("tc_model") or None,
            lexical=decode.get("tc_lexical") or None,
            span_classifier=decode.get("tc_span_classifier") or None,
            span_head=_span_head_arrays(head) if head else None,
        )

    def models_config(self) -> dict[str, Any]:
        """The models this step holds, under their config.json keys (absent ones left out)."""
        out: dict[str, Any] = {}
        if self.model:
            out["tc_model"] = self.model
        if self.lexical:
            out["tc_lexical"] = self.lexical
        if self.span_classifier:
            out["tc_span_classifier"] = self.span_classifier
        if self.span_head:
            out["span_head"] = _json_lists(self.span_head)
        return out


def tc_probabilities(
    text: str, tp: TokenProbs, spans: Sequence[tuple[int, int]], tc: TCStep, span_logprobs: np.ndarray | None
) -> np.ndarray:
    """[n, 14] the TC model's probability of each PTC technique for each span (the step must have a
    `model`; a span without a token falls back to the span classifier alone, or to the most frequent
    technique)."""
    if span_logprobs is not None:
        span_logprobs = technique_logprobs(span_logprobs)
    model = tc.model
    if model is None:
        raise ValueError("this model has no TC model")
    if list(model["classes"]) != list(PTC_TECHNIQUES):
        raise ValueError("the TC model's classes are not the 14 PTC techniques in their usual order")
    lowered = text.lower()
    out = np.zeros((len(spans), len(PTC_TECHNIQUES)))
    w, b = np.asarray(model["W"]), np.asarray(model["b"])
    mean, std = np.asarray(model["mean"]), np.asarray(model["std"])
    for i, (start, end) in enumerate(spans):
        own = span_logprobs[i] if span_logprobs is not None else None
        feat = span_features(text, lowered, tp, start, end)
        if feat is None:
            if own is not None:
                out[i] = np.exp(own)
            else:
                out[i, PTC_TECHNIQUES.index("Loaded_Language")] = 1.0
            continue
        z = ((tc_features(feat, text[start:end], tc.lexical, own, model.get("features")) - mean) / std) @ w + b
        z = np.exp(z - z.max())
        out[i] = z / z.sum()
    return out


def span_head_logprobs(text: str, tp: TokenProbs, spans: Sequence[tuple[int, int]], head: dict[str, Any]) -> np.ndarray:
    """[n, 14] log-probabilities of the PTC techniques for each span from the span head: a softmax
    regression over the tagger's last hidden states averaged over the span's tokens and the span's
    `span_features`, fitted on the training split's gold spans. The hidden-state part is linear, so it
    runs inside the tagger's graph (output "span_head": each token's hidden state times the head's
    weights), and here only that output is averaged over the span (`tp.head`) and added to the
    `span_features` part. A span with no token gets the head's bias alone."""
    if list(head["classes"]) != list(PTC_TECHNIQUES):
        raise ValueError("the span head's classes are not the 14 PTC techniques in their usual order")
    if tp.head is None:
        raise ValueError("the span head needs the tagger's 'span_head' output (TokenProbs.head)")
    w, b = np.asarray(head["W"], dtype=np.float32), np.asarray(head["b"], dtype=np.float32)
    mean, std = np.asarray(head["mean"], dtype=np.float32), np.asarray(head["std"], dtype=np.float32)
    lowered = text.lower()
    z = np.tile(b, (len(spans), 1))
    for i, (start, end) in enumerate(spans):
        feat = span_features(text, lowered, tp, start, end)
        if feat is not None:
            lo, hi = token_range(tp, start, end)
            z[i] += tp.head[lo:hi].mean(axis=0) + ((feat - mean) / std) @ w
    z -= z.max(axis=1, keepdims=True)
    return (z - np.log(np.exp(z).sum(axis=1, keepdims=True))).astype(np.float32)


def relabel_probs(
    text: str, tp: TokenProbs, places: Sequence[tuple[int, int]], tc: TCStep, span_lp: SpanLogprobs | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """([n, 14] technique probabilities of each span, [n] "no technique" probabilities or None) from
    the step's relabelling source: its span head, or else its TC model with the span classifier."""
    if tc.span_head is not None:
        return np.exp(span_head_logprobs(text, tp, places, tc.span_head)), None
    if span_lp is None:
        raise ValueError("this model's TC step needs the span classifier's log-probabilities")
    lp = span_lp(text, places)
    return tc_probabilities(text, tp, places, tc, lp), none_probs(lp) if lp is not None else None


def _heuristic_label(feat: np.ndarray, params: Decoding, recurs: bool) -> str:
    best, best_score = "Loaded_Language", -math.inf
    thresholds = params.techniques.thresholds
    for k, lab in enumerate(params.labels):
        if lab not in thresholds:
            continue
        score = float(feat[k])
        if params.tc.mode == "ratio":
            score /= thresholds[lab]
        if lab == "Repetition" and recurs:
            score *= params.tc.repetition
        if score > best_score:
            best, best_score = lab, score
    return best


def classify_from_probs(
    text: str,
    tp: TokenProbs,
    spans: Sequence[tuple[int, int]],
    params: Decoding,
    span_logprobs: np.ndarray | None = None,
) -> list[str]:
    """TC: the technique of each given span, by the TC model when the config has one (the span
    classifier's `span_logprobs` [n, 14] are then needed if it names one), else by the heuristic."""
    tc = params.tc
    if tc.model:
        if tc.span_classifier and span_logprobs is None:
            raise ValueError("this model's TC step needs the span classifier's log-probabilities")
        q = tc_probabilities(text, tp, spans, tc, span_logprobs)
        return [PTC_TECHNIQUES[int(k)] for k in q.argmax(axis=1)] if len(spans) else []
    lowered = text.lower()
    out: list[str] = []
    for start, end in spans:
        feat = span_features(text, lowered, tp, start, end)
        if feat is None:
            out.append("Loaded_Language")  # the most frequent technique, for spans with no token
        else:
            recurs = bool(feat[2 * len(params.labels) + 2] > 0)
            out.append(_heuristic_label(feat, params, recurs))
    return out
