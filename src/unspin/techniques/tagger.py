"""Torch-free propaganda-technique tagger: ONNX Runtime + tokenizers + numpy.

The model is a token tagger with one sigmoid output per technique (and one for "any technique").
A text of any length is tokenized once (the tokenizer's offset mapping gives each token's character
range in the *input string*), cut into overlapping windows of at most `window` tokens, and each text's
windows are run in batches of their own (so a text's result does not depend on the others of the call).
Probabilities of tokens seen by several windows are
averaged. For each technique, runs of tokens above that technique's threshold become spans, which are
snapped to word boundaries and merged when only a short gap of non-word characters separates them.
Repetition uses the article as a whole: tokens of content words that recur in the text get their
Repetition probability raised, others lowered (factors tuned on the dev split). Fragments made only of
function words are dropped.

The TC step (the technique of a given span) is a softmax over the span's features: its token
probabilities, its length and recurrence, and the log-probabilities of the span classifier
(`unspin.techniques.classifier`) when the model's config names one. With `flc_keep` set, the
tagger's own spans go through a TC step too (`relabel`): that softmax, or, for a model with a span
head (`span_head`), a softmax over the tagger's own last hidden states pooled over the span, which
costs no second model (its hidden-state part runs inside the tagger's graph).

`TechniqueTagger.load("fast")` loads a model folder once per process; `predict(texts)` returns
`Span`s with exact offsets into each input string; calling the tagger on a `Document` fills
`doc.spans`, the article scores in `doc.scores["article"]` and a score on every sentence.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from unspin.document import Document, Span
from unspin.eval.intervals import merge_intervals
from unspin.formats.semeval import PTC_TECHNIQUES
from unspin.techniques.taxonomy import BY_LABEL

MODELS_DIR = Path(__file__).resolve().parents[1] / "models" / "techniques"
WORD_RE = re.compile(r"\w+", re.UNICODE)

# Short function words that never make a phrase "recur" on their own.
STOPWORDS = frozenset(
    """a an and are as at be been but by can could did do does for from had has have he her his i if in into
    is it its may me might must my no nor not of on or our she should so than that the their them then there
    these they this those to too us was we were what when where which who whom why will with would you your
    said says also just about after all any been being more most other over such only own same some
    very""".split()
)


class ModelLoadError(RuntimeError):
    """The model folder is missing, incomplete, or a file does not match its recorded sha256."""


def special_token_ids(tok: Any) -> tuple[int, int, int]:
    """(cls, sep, pad) ids of a `tokenizers.Tokenizer`: the tokens its post-processor wraps a text in
    (BERT's [CLS]/[SEP], MPNet's <s>/</s>) and the padding token of the same vocabulary."""
    ids = tok.encode("", add_special_tokens=True).ids
    if len(ids) != 2:
        raise ModelLoadError(f"tokenizer wraps a text in {len(ids)} special tokens, expected 2")
    cls_id, sep_id = int(ids[0]), int(ids[1])
    pad = "<pad>" if tok.id_to_token(cls_id) == "<s>" else "[PAD]"
    pad_id = tok.token_to_id(pad)
    return cls_id, sep_id, int(pad_id if pad_id is not None else 0)


def window_starts(n_tokens: int, size: int, stride: int) -> list[int]:
    """Start of each window of `size` tokens, `stride` apart, the last one ending at `n_tokens`."""
    if n_tokens <= size:
        return [0]
    starts = list(range(0, n_tokens - size, stride))
    starts.append(n_tokens - size)
    return starts


def _logit(p: np.ndarray | float) -> np.ndarray | float:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _sigmoid(x: np.ndarray | float) -> np.ndarray | float:
    return 1.0 / (1.0 + np.exp(-x))


# --------------------------------------------------------------------------------------------- decoding


# Optional parts of the TC step kept in `DecodeParams.extra`: the softmax over span features, the
# words-only model whose log-probabilities are among those features, and the name of the span
# classifier (`unspin.techniques.classifier`) whose log-probabilities are too.
# `span_head`: the relabelling softmax over the tagger's own pooled hidden states (see `span_head_logprobs`).
TC_EXTRA_KEYS = ("tc_model", "tc_lexical", "tc_span_classifier", "span_head")


_HEAD_ARRAYS = ("W", "b", "mean", "std")


def _span_head_arrays(head: dict[str, Any]) -> dict[str, Any]:
    """The span head as config.json stores it, its weights as arrays, converted once at load rather than
    for every article (float64, so `to_config` writes back the same numbers)."""
    return {k: np.asarray(v, dtype=np.float64) if k in _HEAD_ARRAYS else v for k, v in head.items()}


def _json_lists(value: Any) -> Any:
    """`value` with numpy arrays in a dict turned back into lists (for config.json)."""
    if isinstance(value, dict):
        return {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in value.items()}
    return value


@dataclass
class DecodeParams:
    """Everything that turns token probabilities into spans (stored in the model's config.json)."""

    labels: list[str]
    thresholds: dict[str, float]
    si_threshold: float = 0.5
    si_source: str = "any"  # "any": the any-technique output; "union": merged technique spans
    # SI from "any": a span found at si_threshold is kept only when one of its tokens reaches this
    # (hysteresis; at or below si_threshold every span is kept)
    si_seed: float = 0.0
    # SI from "any": the column read is (1 - si_blend) * "any" + si_blend * the most likely technique's
    # probability (0: "any" alone)
    si_blend: float = 0.0
    # technique spans: kept only when one of their tokens reaches this factor times the technique's
    # threshold (at most 0.99; 1 or less: every span)
    flc_seed: float = 1.0
    merge_gap: int = 3  # merge same-technique fragments separated by at most this many non-word chars
    # ... and fragments separated by words, up to this many characters, inside one sentence (no line
    # break or sentence punctuation between them): gold spans are often whole clauses
    merge_words: int = 0
    repetition_boost: float = 1.0  # multiply P(Repetition) on tokens of recurring content words
    repetition_damp: float = 1.0  # ... and on all other tokens
    # Repetition spans: "model" (the Repetition output), "copy"/"copy_all" (recurring phrases among the
    # other techniques' spans, see `repetition_copies`), or "model+copy"/"model+copy_all" (both)
    repetition_mode: str = "model"
    tc_mode: str = "ratio"  # "raw": argmax mean prob; "ratio": argmax mean prob / threshold
    tc_repetition: float = 1.0  # TC: multiply Repetition's score when the span's text recurs
    # confidence = sigmoid(a * (logit(p) - logit(th)) + b [+ c * log q]), q the TC model's probability
    # of the span's technique when spans are relabelled (`flc_keep`)
    calibration: tuple[float, ...] = (1.0, 0.0)
    # FLC through the TC step: each technique span also takes the TC model's most likely technique, and
    # keeps its own only when the TC model gives it at least this probability (negative: off)
    flc_keep: float = -1.0
    # ... and drops a span when the span classifier says "no technique" with at least this probability
    flc_drop: float = 1.01
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> DecodeParams:
        d = cfg["decode"]
        return cls(
            labels=list(cfg["labels"]),
            thresholds={k: float(v) for k, v in d["thresholds"].items()},
            si_threshold=float(d.get("si_threshold", 0.5)),
            si_source=d.get("si_source", "any"),
            si_seed=float(d.get("si_seed", 0.0)),
            si_blend=float(d.get("si_blend", 0.0)),
            flc_seed=float(d.get("flc_seed", 1.0)),
            merge_gap=int(d.get("merge_gap", 3)),
            merge_words=int(d.get("merge_words", 0)),
            repetition_boost=float(d.get("repetition_boost", 1.0)),
            repetition_damp=float(d.get("repetition_damp", 1.0)),
            repetition_mode=d.get("repetition_mode", "model"),
            tc_mode=d.get("tc_mode", "ratio"),
            tc_repetition=float(d.get("tc_repetition", 1.0)),
            calibration=tuple(d.get("calibration", (1.0, 0.0))),
            flc_keep=float(d.get("flc_keep", -1.0)),
            flc_drop=float(d.get("flc_drop", 1.01)),
            extra={k: _span_head_arrays(d[k]) if k == "span_head" else d[k] for k in TC_EXTRA_KEYS if d.get(k)},
        )

    def to_config(self) -> dict[str, Any]:
        return {
            "thresholds": self.thresholds,
            "si_threshold": self.si_threshold,
            "si_source": self.si_source,
            **({"si_seed": self.si_seed} if self.si_seed > self.si_threshold else {}),
            **({"si_blend": self.si_blend} if self.si_blend > 0 else {}),
            **({"flc_seed": self.flc_seed} if self.flc_seed > 1 else {}),
            "merge_gap": self.merge_gap,
            "merge_words": self.merge_words,
            "repetition_boost": self.repetition_boost,
            "repetition_damp": self.repetition_damp,
            "repetition_mode": self.repetition_mode,
            "tc_mode": self.tc_mode,
            "tc_repetition": self.tc_repetition,
            "calibration": list(self.calibration),
            **({"flc_keep": self.flc_keep} if self.flc_keep >= 0 else {}),
            **({"flc_drop": self.flc_drop} if self.flc_drop <= 1 else {}),
            **{k: _json_lists(self.extra[k]) for k in TC_EXTRA_KEYS if self.extra.get(k)},
        }


@dataclass
class TokenProbs:
    """Per-token probabilities of one text: `offsets[i] = (start, end)` in the text, `probs[i, k]`."""

    offsets: np.ndarray  # [n, 2] int
    probs: np.ndarray  # [n, n_outputs] float32
    recurring: np.ndarray  # [n] bool: token lies in a content word that occurs again in the text
    head: np.ndarray | None = None  # [n, 14]: the span head's per-token scores (models with a span head)
    hidden: np.ndarray | None = None  # [n, d]: last hidden states (only to fit a span head)


def recurring_words(text: str) -> list[tuple[int, int]]:
    """Character ranges of content words that occur at least twice in the text (case-insensitive)."""
    words = [(m.start(), m.end(), m.group().lower()) for m in WORD_RE.finditer(text)]
    counts = Counter(w for _, _, w in words if len(w) >= 3 and w not in STOPWORDS and not w.isdigit())
    return [(a, b) for a, b, w in words if counts.get(w, 0) >= 2]


def function_words_only(phrase: str) -> bool:
    """True when every word of `phrase` is a function word or shorter than 3 letters ("for", "has",
    "a"), none of them in capitals ("NO" and "ALL" can be loaded). Such fragments are what a tagger's
    low thresholds leave behind; annotators mark them in under 1% of PTC spans."""
    return all(
        (w.lower() in STOPWORDS or len(w) < 3) and not (len(w) > 1 and w.isupper()) for w in WORD_RE.findall(phrase)
    )


def _mark_recurring(text: str, offsets: np.ndarray) -> np.ndarray:
    flags = np.zeros(len(offsets), dtype=bool)
    ranges = recurring_words(text)
    if not ranges or not len(offsets):
        return flags
    starts = np.array([a for a, _ in ranges])
    ends = np.array([b for _, b in ranges])
    # token i is inside the word whose start is the last start <= token start
    idx = np.searchsorted(starts, offsets[:, 0], side="right") - 1
    ok = idx >= 0
    flags[ok] = offsets[ok, 0] < ends[idx[ok]]
    return flags


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


_HYPHENS = "-\u2010\u2011"
_JOINERS = _HYPHENS + "'\u2019"  # hyphens and apostrophes inside a word: so-called, don't, Russia's


def _in_word(text: str, i: int) -> bool:
    """Is text[i] part of a word: a word character, or a hyphen/apostrophe between two of them."""
    ch = text[i]
    if _is_word(ch):
        return True
    return ch in _JOINERS and 0 < i < len(text) - 1 and _is_word(text[i - 1]) and _is_word(text[i + 1])


def snap_to_words(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen [start, end) to whole words (hyphenated words and contractions included), then trim
    surrounding whitespace and hyphens."""
    n = len(text)
    start, end = max(0, start), min(n, end)
    while start > 0 and start < n and _in_word(text, start) and _in_word(text, start - 1):
        start -= 1
    while end < n and end > 0 and _in_word(text, end) and _in_word(text, end - 1):
        end += 1
    while start < end and (text[start].isspace() or text[start] in _HYPHENS):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in _HYPHENS):
        end -= 1
    return start, end


def _runs(on: np.ndarray) -> Iterator[tuple[int, int]]:
    """[first, last] index pairs of consecutive True values."""
    if not on.any():
        return
    d = np.diff(np.concatenate([[0], on.astype(np.int8), [0]]))
    for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True):
        yield int(a), int(b) - 1


_SENTENCE_BREAK = re.compile(r"[.!?;:\n]")


def _gap_mergeable(text: str, a: int, b: int, max_gap: int, max_words: int = 0) -> bool:
    gap = text[a:b]
    if b - a <= max_gap and not any(_is_word(c) for c in gap) and "\n" not in gap:
        return True
    return b - a <= max_words and not _SENTENCE_BREAK.search(gap)


def decode_spans(
    text: str,
    tp: TokenProbs,
    column: np.ndarray,
    threshold: float,
    merge_gap: int,
    merge_words: int = 0,
) -> list[tuple[int, int, float]]:
    """Spans (start, end, mean token probability) where `column` (a [n] probability vector) ≥ threshold."""
    out: list[list[float]] = []
    for a, b in _runs(column >= threshold):
        s, e = snap_to_words(text, int(tp.offsets[a, 0]), int(tp.offsets[b, 1]))
        if e <= s:
            continue
        score = float(column[a : b + 1].mean())
        n = b - a + 1
        if out and (s <= out[-1][1] or _gap_mergeable(text, int(out[-1][1]), s, merge_gap, merge_words)):
            prev = out[-1]
            w = prev[3]
            prev[1] = max(prev[1], e)
            prev[2] = (prev[2] * w + score * n) / (w + n)
            prev[3] = w + n
        else:
            out.append([s, e, score, n])
    return [(int(s), int(e), float(p)) for s, e, p, _ in out]


def adjusted_column(tp: TokenProbs, k: int, label: str, params: DecodeParams) -> np.ndarray:
    col = tp.probs[:, k]
    if label == "Repetition" and (params.repetition_boost != 1.0 or params.repetition_damp != 1.0):
        factor = np.where(tp.recurring, params.repetition_boost, params.repetition_damp)
        col = np.clip(col * factor, 0.0, 1.0)
    return col


def calibrate(raw: float, threshold: float, calibration: Sequence[float], tc_prob: float | None = None) -> float:
    a, b = calibration[0], calibration[1]
    z = a * (float(_logit(raw)) - float(_logit(threshold))) + b
    if tc_prob is not None and len(calibration) > 2:
        z += calibration[2] * math.log(max(tc_prob, 1e-6))
    return float(_sigmoid(z))


def repetition_copies(text: str, spans: Sequence[Span], copy_all: bool) -> list[Span]:
    """Repetition spans from the other techniques' spans whose text recurs in the article.

    A loaded phrase or label that the article uses again is what annotators mark as Repetition; with
    `copy_all`, every occurrence of such a phrase is marked, not only the predicted one."""
    lowered = text.lower()
    taken = [(sp.start, sp.end) for sp in spans if sp.technique == "Repetition"]
    out: list[Span] = []

    def add(a: int, b: int, score: float) -> None:
        if any(a < e and b > s for s, e in taken):
            return
        taken.append((a, b))
        out.append(Span(a, b, "Repetition", score))

    for sp in spans:
        if sp.technique == "Repetition":
            continue
        phrase = lowered[sp.start : sp.end]
        words = [w for w in WORD_RE.findall(phrase) if len(w) >= 3 and w not in STOPWORDS]
        if not words or lowered.count(phrase) < 2:
            continue
        if not copy_all:
            add(sp.start, sp.end, sp.score)
            continue
        i = lowered.find(phrase)
        while i >= 0:
            a, b = snap_to_words(text, i, i + len(phrase))
            if (a, b) == (i, i + len(phrase)):  # whole words only
                add(a, b, sp.score)
            i = lowered.find(phrase, i + 1)
    return out


SpanLogprobs = Callable[[str, Sequence[tuple[int, int]]], "np.ndarray | None"]


def spans_from_probs(
    text: str, tp: TokenProbs, params: DecodeParams, span_lp: SpanLogprobs | None = None
) -> list[Span]:
    """Technique spans from token probabilities. With `params.flc_keep` set and `span_lp` (the span
    classifier's log-probabilities of given spans), spans go through the TC step (`relabel`)."""
    raw: list[tuple[int, int, str, float, float]] = []
    for k, label in enumerate(params.labels):
        if label not in params.thresholds:
            continue  # the "any" output
        th = params.thresholds[label]
        col = adjusted_column(tp, k, label, params)
        found = decode_spans(text, tp, col, th, params.merge_gap, params.merge_words)
        if params.flc_seed > 1:
            found = [(s, e, p) for s, e, p in found if column_peak(tp, col, s, e) >= min(0.99, params.flc_seed * th)]
        raw.extend((s, e, label, p, th) for s, e, p in found if not function_words_only(text[s:e]))
    if relabels(params, tp, span_lp):
        spans = relabel(text, tp, raw, params, span_lp)
    else:
        spans = [Span(s, e, lab, round(calibrate(p, th, params.calibration), 4)) for s, e, lab, p, th in raw]
    mode = params.repetition_mode
    if mode != "model":
        if not mode.startswith("model+"):
            spans = [sp for sp in spans if sp.technique != "Repetition"]
        spans.extend(repetition_copies(text, spans, copy_all=mode.endswith("copy_all")))
    spans.sort(key=lambda sp: (sp.start, sp.end, sp.technique))
    return spans


def relabels(params: DecodeParams, tp: TokenProbs, span_lp: SpanLogprobs | None) -> bool:
    """Whether predicted spans go through a TC step (`relabel`): `flc_keep` is set and either the model
    has a span head and `tp` carries hidden states, or a TC model and the span classifier are at hand."""
    if params.flc_keep < 0:
        return False
    if params.extra.get("span_head"):
        return tp.head is not None
    return span_lp is not None and bool(params.extra.get("tc_model"))


def relabel_probs(
    text: str, tp: TokenProbs, places: Sequence[tuple[int, int]], params: DecodeParams, span_lp: SpanLogprobs | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """([n, 14] technique probabilities of each span, [n] "no technique" probabilities or None) from
    the model's relabelling source: its span head, or else its TC model with the span classifier."""
    if params.extra.get("span_head"):
        return np.exp(span_head_logprobs(text, tp, places, params.extra["span_head"])), None
    from unspin.techniques.classifier import none_probs

    if span_lp is None:
        raise ValueError("this model's TC step needs the span classifier's log-probabilities")
    lp = span_lp(text, places)
    return tc_probabilities(text, tp, places, params, lp), none_probs(lp)


def relabel(
    text: str,
    tp: TokenProbs,
    raw: Sequence[tuple[int, int, str, float, float]],
    params: DecodeParams,
    span_lp: SpanLogprobs | None,
) -> list[Span]:
    """The TC step on predicted spans: each span (start, end, technique, mean prob, threshold) takes
    the TC model's most likely technique, and keeps its own when the TC model gives that at least
    `params.flc_keep`; a span the span classifier calls "no technique" with probability at least
    `params.flc_drop` goes. A token tagger finds *where* well but confuses neighbouring techniques; the
    TC model reads the span whole. Confidence adds the TC probability of the label to the calibration."""
    if not raw:
        return []
    places = sorted({(s, e) for s, e, *_ in raw})
    q, p_none = relabel_probs(text, tp, places, params, span_lp)
    row = {pl: i for i, pl in enumerate(places)}
    best: dict[tuple[int, int, str], float] = {}
    for s, e, label, p, th in raw:
        if p_none is not None and p_none[row[(s, e)]] >= params.flc_drop:
            continue
        probs = q[row[(s, e)]]
        labs = {PTC_TECHNIQUES[int(np.argmax(probs))]}
        if probs[PTC_TECHNIQUES.index(label)] >= params.flc_keep:
            labs.add(label)
        for lab in labs:
            conf = calibrate(p, th, params.calibration, float(probs[PTC_TECHNIQUES.index(lab)]))
            best[(s, e, lab)] = max(best.get((s, e, lab), 0.0), conf)
    return [Span(s, e, lab, round(c, 4)) for (s, e, lab), c in best.items()]


def si_column(tp: TokenProbs, params: DecodeParams) -> np.ndarray:
    """Each token's SI probability: the "any" output, blended with the most likely technique's
    probability when `params.si_blend` > 0."""
    k = params.labels.index("any")
    col = tp.probs[:, k]
    if params.si_blend > 0 and len(col):
        techniques = [i for i, label in enumerate(params.labels) if label != "any"]
        col = (1 - params.si_blend) * col + params.si_blend * tp.probs[:, techniques].max(axis=1)
    return col


def si_from_probs(text: str, tp: TokenProbs, params: DecodeParams) -> list[tuple[int, int]]:
    if params.si_source == "any" and "any" in params.labels:
        col = si_column(tp, params)
        spans = [
            (s, e)
            for s, e, _ in decode_spans(text, tp, col, params.si_threshold, params.merge_gap, params.merge_words)
            if not function_words_only(text[s:e])
        ]
        if params.si_seed > params.si_threshold:
            spans = [(s, e) for s, e in spans if column_peak(tp, col, s, e) >= params.si_seed]
        return spans
    return merge_intervals((sp.start, sp.end) for sp in spans_from_probs(text, tp, params))


def column_peak(tp: TokenProbs, column: np.ndarray, start: int, end: int) -> float:
    """The highest value of `column` ([n], one per token) among the tokens of characters start..end-1."""
    lo, hi = token_range(tp, start, end)
    return float(column[lo:hi].max()) if hi > lo else 0.0


def token_range(tp: TokenProbs, start: int, end: int) -> tuple[int, int]:
    """(lo, hi): tokens lo..hi-1 overlap characters start..end-1 (token offsets are sorted and do not
    overlap, so they are one run, found by binary search: a long text's thousands of spans stay cheap)."""
    if not len(tp.offsets):
        return 0, 0
    lo = int(np.searchsorted(tp.offsets[:, 1], start, side="right"))
    hi = int(np.searchsorted(tp.offsets[:, 0], end, side="left"))
    return lo, max(lo, hi)


def span_features(text: str, lowered: str, tp: TokenProbs, start: int, end: int) -> np.ndarray | None:
    """Features of a given span for TC: mean and max of every output over its tokens, its length,
    and how often its text recurs in the article. None when no token falls inside the span."""
    lo, hi = token_range(tp, start, end)
    if hi <= lo:
        return None
    p = tp.probs[lo:hi]
    phrase = lowered[start:end].strip()
    count = lowered.count(phrase) if phrase else 0
    n_words = len(phrase.split())
    return np.concatenate(
        [
            p.mean(axis=0),
            p.max(axis=0),
            [
                math.log1p(end - start),
                math.log1p(n_words),
                float(count >= 2),
                math.log1p(max(count - 1, 0)),
                float(tp.recurring[lo:hi].mean()),
            ],
        ]
    ).astype(np.float32)


def _heuristic_label(feat: np.ndarray, params: DecodeParams, recurs: bool) -> str:
    best, best_score = "Loaded_Language", -math.inf
    for k, lab in enumerate(params.labels):
        if lab not in params.thresholds:
            continue
        score = float(feat[k])
        if params.tc_mode == "ratio":
            score /= params.thresholds[lab]
        if lab == "Repetition" and recurs:
            score *= params.tc_repetition
        if score > best_score:
            best, best_score = lab, score
    return best


LEXICAL_DIM = 4096


def lexical_features(phrase: str, dim: int = LEXICAL_DIM) -> np.ndarray:
    """Hashed bag of the span's lower-cased words and word pairs (crc32, so stable across runs and
    machines), plus its shape: '!', '?', quotes, all-caps words."""
    import zlib

    words = WORD_RE.findall(phrase.lower())
    x = np.zeros(dim + 4, dtype=np.float64)
    for tok in [*words, *(f"{a} {b}" for a, b in zip(words, words[1:], strict=False))]:
        x[zlib.crc32(tok.encode("utf-8")) % dim] = 1.0
    x[dim] = float("!" in phrase)
    x[dim + 1] = float("?" in phrase)
    x[dim + 2] = float(any(q in phrase for q in '"“”«»'))
    x[dim + 3] = float(any(w.isupper() and len(w) > 1 for w in WORD_RE.findall(phrase)))
    return x


def lexical_logprobs(model: dict[str, Any], phrase: str) -> np.ndarray:
    """Log-probabilities of each technique from the span's words alone (the `tc_lexical` model)."""
    x = (lexical_features(phrase, int(model["dim"])) - np.asarray(model["mean"])) / np.asarray(model["std"])
    logits = x @ np.asarray(model["W"]) + np.asarray(model["b"])
    logits = logits - logits.max()
    return (logits - np.log(np.exp(logits).sum())).astype(np.float32)


# Feature groups a TC model may use: the tagger's mean and max output probabilities over the span, the
# span's shape (length, words, how often its text recurs), the words-only model's log-probabilities and
# the span classifier's log-probabilities.
TC_GROUPS = ("mean", "max", "shape", "lexical", "span_classifier")


def tc_features(
    feat: np.ndarray,
    phrase: str,
    lexical: dict[str, Any] | None,
    span_logprobs: np.ndarray | None,
    groups: Sequence[str] | None = None,
) -> np.ndarray:
    """The TC model's input, group by group (`TC_GROUPS`; by default every group that is available):
    parts of `span_features`, the words-only model's log-probabilities of the span's text (with a
    `lexical` model), the span classifier's log-probabilities (when given)."""
    n = (len(feat) - 5) // 2
    if groups is None:
        groups = ["mean", "max", "shape"] + (["lexical"] if lexical else [])
        groups += ["span_classifier"] if span_logprobs is not None else []
    parts = []
    for g in groups:
        if g == "mean":
            parts.append(feat[:n])
        elif g == "max":
            parts.append(feat[n : 2 * n])
        elif g == "shape":
            parts.append(feat[2 * n :])
        elif g == "lexical":
            if not lexical:
                raise ValueError("TC feature group 'lexical' needs the words-only model")
            parts.append(lexical_logprobs(lexical, phrase))
        elif g == "span_classifier":
            if span_logprobs is None:
                raise ValueError("TC feature group 'span_classifier' needs the span classifier's log-probabilities")
            parts.append(np.asarray(span_logprobs, dtype=np.float32))
        else:
            raise ValueError(f"unknown TC feature group {g!r}")
    return np.concatenate(parts).astype(np.float32)


def tc_probabilities(
    text: str, tp: TokenProbs, spans: Sequence[tuple[int, int]], params: DecodeParams, span_logprobs: np.ndarray | None
) -> np.ndarray:
    """[n, 14] the TC model's probability of each PTC technique for each span (the model must be a
    `tc_model`; a span without a token falls back to the span classifier alone, or to the most
    frequent technique)."""
    from unspin.techniques.classifier import technique_logprobs

    if span_logprobs is not None:
        span_logprobs = technique_logprobs(span_logprobs)
    model = params.extra["tc_model"]
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
        z = (
            (tc_features(feat, text[start:end], params.extra.get("tc_lexical"), own, model.get("features")) - mean)
            / std
        ) @ w + b
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


def classify_from_probs(
    text: str,
    tp: TokenProbs,
    spans: Sequence[tuple[int, int]],
    params: DecodeParams,
    span_logprobs: np.ndarray | None = None,
) -> list[str]:
    """TC: the technique of each given span.

    With a TC model in the config (`tc_model`: softmax regression over `span_features`, the words-only
    model's log-probabilities if `tc_lexical`, and the span classifier's `span_logprobs` [n, 14] if
    `tc_span_classifier`), use it; otherwise take the technique with the highest mean token probability
    (optionally divided by its threshold), Repetition's score multiplied when the span's text recurs."""
    model = params.extra.get("tc_model")
    if model:
        if params.extra.get("tc_span_classifier") and span_logprobs is None:
            raise ValueError("this model's TC step needs the span classifier's log-probabilities")
        q = tc_probabilities(text, tp, spans, params, span_logprobs)
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


def fit_softmax(
    x: np.ndarray, y: np.ndarray, n_classes: int, l2: float = 1e-2, iters: int = 500, lr: float = 0.5
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Multinomial logistic regression by gradient descent on standardised features.

    Returns (W, b, mean, std). Used by the training recipe to fit the TC span classifier."""
    mean = x.mean(axis=0)
    std = x.std(axis=0) + 1e-6
    z = (x - mean) / std
    w = np.zeros((z.shape[1], n_classes))
    b = np.zeros(n_classes)
    onehot = np.eye(n_classes)[y]
    for _ in range(iters):
        logits = z @ w + b
        logits -= logits.max(axis=1, keepdims=True)
        prob = np.exp(logits)
        prob /= prob.sum(axis=1, keepdims=True)
        g = (prob - onehot) / len(z)
        w -= lr * (z.T @ g + l2 * w)
        b -= lr * g.sum(axis=0)
    return w, b, mean, std


def project_probs(src: TokenProbs, dst_offsets: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Probabilities of another tokenization (`src`) carried onto tokens at `dst_offsets`: each
    destination token gets the mean over the source tokens that overlap its characters (its own
    `fallback` row where none does). Both token sequences are sorted and do not overlap themselves."""
    if not len(dst_offsets):
        return fallback
    if not len(src.offsets):
        return fallback
    starts, ends = src.offsets[:, 0], src.offsets[:, 1]
    lo = np.searchsorted(ends, dst_offsets[:, 0], side="right")
    hi = np.searchsorted(starts, dst_offsets[:, 1], side="left")
    csum = np.vstack([np.zeros((1, src.probs.shape[1]), dtype=np.float64), np.cumsum(src.probs, axis=0)])
    n = (hi - lo).astype(np.float64)
    ok = n > 0
    out = fallback.astype(np.float32).copy()
    out[ok] = ((csum[hi[ok]] - csum[lo[ok]]) / n[ok, None]).astype(np.float32)
    return out


# --------------------------------------------------------------------------------------------- the tagger


class TechniqueTagger:
    """Span-level propaganda-technique tagger. Load once with `TechniqueTagger.load(name)`."""

    _cache: dict[tuple[str, int | None], TechniqueTagger] = {}
    _lock = threading.RLock()  # re-entrant: an ensemble loads its members while loading

    def __init__(self, model_dir: str | Path, threads: int | None = None, batch_size: int = 16) -> None:
        from tokenizers import Tokenizer

        from unspin.models.folder import cpu_session, read_config

        self.model_dir = Path(model_dir)
        self.config: dict[str, Any] = read_config(self.model_dir, ModelLoadError, "technique model")
        self.params = DecodeParams.from_config(self.config)
        self.window = int(self.config["window"])
        self.stride = int(self.config["stride"])
        self.batch_size = batch_size
        tok = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
        tok.no_truncation()
        tok.no_padding()
        self.tokenizer = tok
        self.cls_id, self.sep_id, self.pad_id = special_token_ids(tok)
        # Base-encoder weights the model did not change are rebuilt from their package; they must
        # live as long as the session.
        what = f"model {self.config.get('name')!r}"
        self.session, self._base_values = cpu_session(self.model_dir, self.config, threads, ModelLoadError, what)
        # The TC step's span classifier, when the config names one (loaded on first use: only TC needs it).
        self._threads = threads
        self._span_classifier: Any = None
        # An ensemble: other shipped models whose token probabilities are averaged into this one's.
        self.members: list[tuple[TechniqueTagger, float]] = []
        for m in self.config.get("ensemble", []):
            member = TechniqueTagger.load(m["model"], threads=threads)
            if member.labels != self.labels:
                raise ModelLoadError(
                    f"ensemble member {m['model']!r} has other outputs than {self.config.get('name')!r}"
                )
            self.members.append((member, float(m["weight"])))
        # A model with a span head also returns each token's span-head scores (output "span_head"), which
        # `span_head_logprobs` averages over each predicted span.
        outputs = [o.name for o in self.session.get_outputs()]
        self._outputs = ["logits", "span_head"] if self.params.extra.get("span_head") else ["logits"]
        if "span_head" in self._outputs and "span_head" not in outputs:
            raise ModelLoadError(f"{what}: config.json has a span head but model.onnx has no 'span_head' output")

    @classmethod
    def load(cls, name: str = "fast", threads: int | None = None) -> TechniqueTagger:
        """The model `name` from unspin's model folder (or a path to a model folder), loaded once."""
        key = (name, threads)
        with cls._lock:
            if key not in cls._cache:
                path = Path(name) if ("/" in name or Path(name).is_dir()) else MODELS_DIR / name
                if not (path / "config.json").is_file():
                    shipped = sorted(p.name for p in MODELS_DIR.iterdir() if (p / "config.json").is_file())
                    raise ModelLoadError(
                        f"no technique model {name!r} in this installation (shipped: {', '.join(shipped)})"
                    )
                cls._cache[key] = cls(path, threads=threads)
            return cls._cache[key]

    @property
    def labels(self) -> list[str]:
        return self.params.labels

    # ---- probabilities

    def _encode(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        enc = self.tokenizer.encode(text, add_special_tokens=False)
        ids = np.asarray(enc.ids, dtype=np.int64)
        offsets = np.asarray(enc.offsets, dtype=np.int64).reshape(-1, 2)
        keep = offsets[:, 1] > offsets[:, 0]
        return ids[keep], offsets[keep]

    def token_probs(self, texts: Sequence[str], hidden: bool = False) -> list[TokenProbs]:
        """Averaged per-token probabilities of every text (a text's windows run in batches of its own),
        with the span head's per-token scores when the model has one; with `hidden`, the last hidden
        states instead (the training recipe fits the span head on them)."""
        size = self.window - 2
        encoded = [self._encode(t) for t in texts]
        n_out = len(self.params.labels)
        sums = [np.zeros((len(ids), n_out), dtype=np.float32) for ids, _ in encoded]
        outputs = ["logits", "hidden"] if hidden else self._outputs
        # a second output (span-head scores or hidden states): summed while a text's windows run
        extra: list[np.ndarray | None] = [None] * len(encoded)
        counts = [np.zeros(len(ids), dtype=np.float32) for ids, _ in encoded]
        # A batch never mixes two texts: int8 activations are quantised with one range per batch, so a
        # text's probabilities would otherwise depend on which other texts shared its batch.
        batches = []
        for i, (ids, _) in enumerate(encoded):
            starts = window_starts(len(ids), size, self.stride) if len(ids) else []
            for j in range(0, len(starts), self.batch_size):
                batches.append([(i, a) for a in starts[j : j + self.batch_size]])
        for batch in batches:
            lens = [min(size, len(encoded[i][0]) - a) for i, a in batch]
            width = max(lens) + 2
            input_ids = np.full((len(batch), width), self.pad_id, dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for r, ((i, a), n) in enumerate(zip(batch, lens, strict=True)):
                input_ids[r, 0] = self.cls_id
                input_ids[r, 1 : n + 1] = encoded[i][0][a : a + n]
                input_ids[r, n + 1] = self.sep_id
                mask[r, : n + 2] = 1
            results = self.session.run(outputs, {"input_ids": input_ids, "attention_mask": mask})
            probs = _sigmoid(results[0].astype(np.float32))
            for r, ((i, a), n) in enumerate(zip(batch, lens, strict=True)):
                sums[i][a : a + n] += probs[r, 1 : n + 1]
                counts[i][a : a + n] += 1
                if len(results) > 1:
                    e = extra[i]
                    if e is None:
                        e = extra[i] = np.zeros((len(encoded[i][0]), results[1].shape[-1]), dtype=np.float32)
                    e[a : a + n] += results[1][r, 1 : n + 1]
        out = []
        for i, (text, (_, offsets), s, c) in enumerate(zip(texts, encoded, sums, counts, strict=True)):
            tp = TokenProbs(offsets, s / np.maximum(c, 1)[:, None], _mark_recurring(text, offsets))
            e = extra[i]
            if e is not None:  # averaged over overlapping windows, like the probabilities
                e /= np.maximum(c, 1)[:, None]
            elif len(outputs) > 1:  # a text without tokens
                e = np.zeros((0, 1), dtype=np.float32)
            if hidden:
                tp.hidden = e
            else:
                tp.head = e
            out.append(tp)
        for member, weight in self.members:
            for tp, mtp in zip(out, member.token_probs(texts), strict=True):
                tp.probs = (1 - weight) * tp.probs + weight * project_probs(mtp, tp.offsets, tp.probs)
        return out

    # ---- public API

    def predict(self, texts: list[str]) -> list[list[Span]]:
        """Technique spans of each text, offsets into that text, scores calibrated to [0, 1]."""
        span_lp = self.span_logprobs if self.params.flc_keep >= 0 else None
        return [
            spans_from_probs(t, tp, self.params, span_lp) for t, tp in zip(texts, self.token_probs(texts), strict=True)
        ]

    def predict_si(self, text: str) -> list[tuple[int, int]]:
        """Span identification: (start, end) of text that uses any technique, overlaps merged."""
        return si_from_probs(text, self.token_probs([text])[0], self.params)

    def span_logprobs(self, text: str, spans: Sequence[tuple[int, int]]) -> np.ndarray | None:
        """The span classifier's log-probabilities of each span over all its classes ("none" too, if it
        has that class), or None when this model's TC step uses no span classifier."""
        name = self.params.extra.get("tc_span_classifier")
        if not name:
            return None
        if self._span_classifier is None:
            from unspin.techniques.classifier import SpanClassifier, SpanClassifierError

            try:
                with self._lock:  # documents in lanes (threads) share this tagger
                    if self._span_classifier is None:
                        self._span_classifier = SpanClassifier.load(name, threads=self._threads)
            except SpanClassifierError as exc:
                raise ModelLoadError(f"model {self.config.get('name')!r}: {exc}") from exc
        return self._span_classifier.all_log_probs(text, spans)

    def classify(self, text: str, spans: list[tuple[int, int]]) -> list[str]:
        """Technique classification: the most likely PTC label of each given span of `text`."""
        tp = self.token_probs([text])[0]
        return classify_from_probs(text, tp, spans, self.params, self.span_logprobs(text, spans))

    def __call__(self, doc: Document) -> Document:
        """Set `doc.spans` from `doc.text`, score every sentence and add `doc.scores["article"]`."""
        return self.annotate(doc)

    def annotate(self, doc: Document, min_score: float = 0.0) -> Document:
        """As calling the tagger, keeping only spans whose confidence reaches `min_score`: the sentence
        and article scores then describe the spans kept (the article scores record `min_score`)."""
        spans = self.predict([doc.text])[0]
        for sp in spans:
            t = BY_LABEL.get(sp.technique)
            if t is not None:
                sp.explanation = t.explanation()
        return set_technique_spans(doc, spans, min_score)


def set_technique_spans(doc: Document, spans: Sequence[Span], min_score: float = 0.0) -> Document:
    """Give `doc` these technique spans, those below `min_score` left out, and score its sentences
    (each its best span's confidence) and the article (`article_scores`) from the spans kept. Also
    narrows a finished analysis to its confident spans."""
    kept = [sp for sp in spans if sp.score >= min_score]
    doc.spans = kept
    doc.scores["article"] = article_scores(doc.text, kept)
    if min_score > 0:
        doc.scores["article"]["min_score"] = min_score
    for seg in doc.sentences:
        best = 0.0
        for sp in kept:
            if sp.start < seg.end and sp.end > seg.start:
                best = max(best, sp.score)
        seg.score = round(best, 4)
    return doc


SPACE_RUN_RE = re.compile(r"\s+")


def _space_count(text: str, start: int, end: int) -> int:
    return sum(m.end() - m.start() for m in SPACE_RUN_RE.finditer(text, start, end))


def article_scores(text: str, spans: Sequence[Span]) -> dict[str, Any]:
    """Share of characters under any technique, spans per technique, and each technique's share of them."""
    chars: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    for sp in spans:
        chars[sp.technique] += sp.end - sp.start
        counts[sp.technique] += 1
    # characters that are not white space (the regex's \s is str.isspace), in the text and under spans
    non_space = len(text) - _space_count(text, 0, len(text)) or 1
    covered_non_space = sum(
        e - s - _space_count(text, s, e) for s, e in merge_intervals((sp.start, sp.end) for sp in spans)
    )
    total = sum(chars.values()) or 1
    return {
        "share": round(covered_non_space / non_space, 4),
        "n_spans": len(spans),
        "counts": dict(sorted(counts.items())),
        "mix": {k: round(v / total, 4) for k, v in sorted(chars.items())},
        "max_score": round(max((sp.score for sp in spans), default=0.0), 4),
    }
