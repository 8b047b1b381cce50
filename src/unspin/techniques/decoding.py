"""From token probabilities to technique spans: the decoding rules and their parameters.

For each technique, runs of tokens above that technique's threshold become spans, which are snapped
to word boundaries and merged when only a short gap separates them. Repetition uses the article as a
whole: tokens of content words that recur in the text get their Repetition probability raised, others
lowered. Fragments made only of function words are dropped. With relabelling on (`Relabelling`), the
spans go through the TC step (`unspin.techniques.tc`), which can change or add a span's technique.

The parameters come in small typed groups, one per concern, stored flat in a model's config.json under
`decode` (`Decoding.from_config` reads them, `Decoding.to_config` writes the same keys back). A rule that
is off is `None`, never a magic number.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from unspin.document import Span
from unspin.eval.intervals import merge_intervals
from unspin.formats.semeval import PTC_TECHNIQUES
from unspin.techniques.runner import TokenProbs, sigmoid, token_range
from unspin.techniques.tc import TCStep, relabel_probs
from unspin.techniques.words import STOPWORDS, WORD_RE, function_words_only, is_word_char, snap_to_words

# --------------------------------------------------------------------------------------------- parameters


@dataclass
class Merging:
    """When two fragments of one technique become one span."""

    gap: int = 3  # separated by at most this many non-word characters (no line break)
    # ... or by words, up to this many characters, inside one sentence (no line break or sentence
    # punctuation between them): gold spans are often whole clauses (0: never)
    words: int = 0


@dataclass
class TechniqueSpans:
    """Where each technique's spans are: its threshold on its own output column."""

    thresholds: dict[str, float]
    # a span is kept only when one of its tokens reaches this factor times its technique's threshold
    # (at most 0.99); None: every span
    seed: float | None = None


@dataclass
class SpanIdentification:
    """SI: where any technique is used."""

    threshold: float = 0.5
    source: str = "any"  # "any": the any-technique output; "union": merged technique spans
    # from "any": a span found at `threshold` is kept only when one of its tokens reaches this
    # (hysteresis); None: every span
    seed: float | None = None
    # from "any": the column read is (1 - blend) * "any" + blend * the most likely technique's
    # probability; None: "any" alone
    blend: float | None = None


@dataclass
class RepetitionRule:
    """How Repetition reads the article as a whole."""

    boost: float = 1.0  # multiply P(Repetition) on tokens of recurring content words
    damp: float = 1.0  # ... and on all other tokens
    # "model" (the Repetition output), "copy"/"copy_all" (recurring phrases among the other
    # techniques' spans, see `repetition_copies`), or "model+copy"/"model+copy_all" (both)
    mode: str = "model"


@dataclass
class Calibration:
    """confidence = sigmoid(a * (logit(p) - logit(threshold)) + b [+ tc * log q]), q the TC step's
    probability of the span's technique when spans are relabelled; `tc` None: no such term."""

    a: float = 1.0
    b: float = 0.0
    tc: float | None = None

    @classmethod
    def from_list(cls, values: Sequence[float]) -> Calibration:
        return cls(float(values[0]), float(values[1]), float(values[2]) if len(values) > 2 else None)

    def to_list(self) -> list[float]:
        return [self.a, self.b] if self.tc is None else [self.a, self.b, self.tc]


@dataclass
class Relabelling:
    """FLC through the TC step: each technique span also takes the TC step's most likely technique, and
    keeps its own only when the TC step gives it at least `keep`; with `drop`, a span the span classifier
    calls "no technique" with at least that probability goes (None: none goes)."""

    keep: float
    drop: float | None = None


@dataclass
class PreciseView:
    """The default view's operating point: a span is shown by default when its confidence reaches its
    technique's threshold, chosen for the best F-beta (beta < 1: precision weighs more than recall; the
    official FLC metric) on articles the choice did not see (the `precise` stage of the technique recipe)."""

    beta: float
    mode: str  # "global" (one threshold) or "technique" (one per technique with enough spans)
    thresholds: dict[str, float]

    @classmethod
    def from_config(cls, d: dict[str, Any] | None) -> PreciseView | None:
        if not d:
            return None
        return cls(float(d["beta"]), str(d["mode"]), {k: float(v) for k, v in d["thresholds"].items()})

    def keeps(self, span: Span) -> bool:
        return span.score >= self.thresholds.get(span.technique, 1.01)

    def to_config(self) -> dict[str, Any]:
        return {"beta": self.beta, "mode": self.mode, "thresholds": dict(self.thresholds)}


@dataclass
class Decoding:
    """Everything that turns token probabilities into spans (stored in the model's config.json)."""

    labels: list[str]
    techniques: TechniqueSpans
    si: SpanIdentification = field(default_factory=SpanIdentification)
    merging: Merging = field(default_factory=Merging)
    repetition: RepetitionRule = field(default_factory=RepetitionRule)
    tc: TCStep = field(default_factory=TCStep)
    calibration: Calibration = field(default_factory=Calibration)
    relabel: Relabelling | None = None
    precise: PreciseView | None = None

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> Decoding:
        """The decoding of a model's config.json (its `labels` and `decode`), absent keys at their
        defaults; a stored value that means "off" (a seed at or below its threshold, a negative
        `flc_keep`, an `flc_drop` above 1, a zero blend) becomes None."""
        d = cfg["decode"]
        si_threshold = float(d.get("si_threshold", 0.5))
        si_seed = float(d.get("si_seed", 0.0))
        si_blend = float(d.get("si_blend", 0.0))
        flc_seed = float(d.get("flc_seed", 1.0))
        flc_keep = float(d.get("flc_keep", -1.0))
        flc_drop = float(d.get("flc_drop", 1.01))
        return cls(
            labels=list(cfg["labels"]),
            techniques=TechniqueSpans(
                thresholds={k: float(v) for k, v in d["thresholds"].items()},
                seed=flc_seed if flc_seed > 1 else None,
            ),
            si=SpanIdentification(
                threshold=si_threshold,
                source=d.get("si_source", "any"),
                seed=si_seed if si_seed > si_threshold else None,
                blend=si_blend if si_blend > 0 else None,
            ),
            merging=Merging(gap=int(d.get("merge_gap", 3)), words=int(d.get("merge_words", 0))),
            repetition=RepetitionRule(
                boost=float(d.get("repetition_boost", 1.0)),
                damp=float(d.get("repetition_damp", 1.0)),
                mode=d.get("repetition_mode", "model"),
            ),
            tc=TCStep.from_config(d),
            calibration=Calibration.from_list(d.get("calibration", (1.0, 0.0))),
            relabel=Relabelling(flc_keep, flc_drop if flc_drop <= 1 else None) if flc_keep >= 0 else None,
            precise=PreciseView.from_config(d.get("precise")),
        )

    def to_config(self) -> dict[str, Any]:
        """The `decode` section of config.json, keys as `from_config` reads them (rules that are off
        are left out, as their absence means)."""
        si, tech, rel = self.si, self.techniques, self.relabel
        return {
            "thresholds": tech.thresholds,
            "si_threshold": si.threshold,
            "si_source": si.source,
            **({"si_seed": si.seed} if si.seed is not None else {}),
            **({"si_blend": si.blend} if si.blend is not None else {}),
            **({"flc_seed": tech.seed} if tech.seed is not None else {}),
            "merge_gap": self.merging.gap,
            "merge_words": self.merging.words,
            "repetition_boost": self.repetition.boost,
            "repetition_damp": self.repetition.damp,
            "repetition_mode": self.repetition.mode,
            "tc_mode": self.tc.mode,
            "tc_repetition": self.tc.repetition,
            "calibration": self.calibration.to_list(),
            **({"flc_keep": rel.keep} if rel is not None else {}),
            **({"flc_drop": rel.drop} if rel is not None and rel.drop is not None else {}),
            **self.tc.models_config(),
            **({"precise": self.precise.to_config()} if self.precise is not None else {}),
        }


# --------------------------------------------------------------------------------------------- decoding


def _logit(p: np.ndarray | float) -> np.ndarray | float:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _runs(on: np.ndarray) -> Iterator[tuple[int, int]]:
    """[first, last] index pairs of consecutive True values."""
    if not on.any():
        return
    d = np.diff(np.concatenate([[0], on.astype(np.int8), [0]]))
    for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True):
        yield int(a), int(b) - 1


_SENTENCE_BREAK = re.compile(r"[.!?;:\n]")


def _gap_mergeable(text: str, a: int, b: int, merging: Merging) -> bool:
    gap = text[a:b]
    if b - a <= merging.gap and not any(is_word_char(c) for c in gap) and "\n" not in gap:
        return True
    return b - a <= merging.words and not _SENTENCE_BREAK.search(gap)


def decode_spans(
    text: str, tp: TokenProbs, column: np.ndarray, threshold: float, merging: Merging
) -> list[tuple[int, int, float]]:
    """Spans (start, end, mean token probability) where `column` (a [n] probability vector) ≥ threshold."""
    out: list[list[float]] = []
    for a, b in _runs(column >= threshold):
        s, e = snap_to_words(text, int(tp.offsets[a, 0]), int(tp.offsets[b, 1]))
        if e <= s:
            continue
        score = float(column[a : b + 1].mean())
        n = b - a + 1
        if out and (s <= out[-1][1] or _gap_mergeable(text, int(out[-1][1]), s, merging)):
            prev = out[-1]
            w = prev[3]
            prev[1] = max(prev[1], e)
            prev[2] = (prev[2] * w + score * n) / (w + n)
            prev[3] = w + n
        else:
            out.append([s, e, score, n])
    return [(int(s), int(e), float(p)) for s, e, p, _ in out]


def adjusted_column(tp: TokenProbs, k: int, label: str, rule: RepetitionRule) -> np.ndarray:
    """Output column `k` (technique `label`), Repetition's raised on recurring words and lowered elsewhere."""
    col = tp.probs[:, k]
    if label == "Repetition" and (rule.boost != 1.0 or rule.damp != 1.0):
        factor = np.where(tp.recurring, rule.boost, rule.damp)
        col = np.clip(col * factor, 0.0, 1.0)
    return col


def calibrate(raw: float, threshold: float, calibration: Calibration, tc_prob: float | None = None) -> float:
    """A span's confidence from its mean token probability (see `Calibration`)."""
    z = calibration.a * (float(_logit(raw)) - float(_logit(threshold))) + calibration.b
    if tc_prob is not None and calibration.tc is not None:
        z += calibration.tc * math.log(max(tc_prob, 1e-6))
    return float(sigmoid(z))


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


def spans_from_probs(text: str, tp: TokenProbs, params: Decoding, span_lp: SpanLogprobs | None = None) -> list[Span]:
    """Technique spans from token probabilities. With relabelling on and the TC step's inputs at hand
    (`relabels`), spans go through the TC step (`relabel`)."""
    raw: list[tuple[int, int, str, float, float]] = []
    seed = params.techniques.seed
    for k, label in enumerate(params.labels):
        if label not in params.techniques.thresholds:
            continue  # the "any" output
        th = params.techniques.thresholds[label]
        col = adjusted_column(tp, k, label, params.repetition)
        found = decode_spans(text, tp, col, th, params.merging)
        if seed is not None:
            found = [(s, e, p) for s, e, p in found if column_peak(tp, col, s, e) >= min(0.99, seed * th)]
        raw.extend((s, e, label, p, th) for s, e, p in found if not function_words_only(text[s:e]))
    if relabels(params, tp, span_lp):
        spans = relabel(text, tp, raw, params, span_lp)
    else:
        spans = [Span(s, e, lab, round(calibrate(p, th, params.calibration), 4)) for s, e, lab, p, th in raw]
    mode = params.repetition.mode
    if mode != "model":
        if not mode.startswith("model+"):
            spans = [sp for sp in spans if sp.technique != "Repetition"]
        spans.extend(repetition_copies(text, spans, copy_all=mode.endswith("copy_all")))
    spans.sort(key=lambda sp: (sp.start, sp.end, sp.technique))
    return spans


def relabels(params: Decoding, tp: TokenProbs, span_lp: SpanLogprobs | None) -> bool:
    """Whether predicted spans go through the TC step (`relabel`): relabelling is on and either the model
    has a span head and `tp` carries its output, or a TC model and the span classifier are at hand."""
    if params.relabel is None:
        return False
    if params.tc.span_head is not None:
        return tp.head is not None
    return span_lp is not None and params.tc.model is not None


def relabel(
    text: str,
    tp: TokenProbs,
    raw: Sequence[tuple[int, int, str, float, float]],
    params: Decoding,
    span_lp: SpanLogprobs | None,
) -> list[Span]:
    """The TC step on predicted spans: each span (start, end, technique, mean prob, threshold) takes
    the TC step's most likely technique, and keeps its own when the TC step gives that at least
    `relabel.keep`; a span the span classifier calls "no technique" with probability at least
    `relabel.drop` goes. A token tagger finds *where* well but confuses neighbouring techniques; the
    TC step reads the span whole. Confidence adds the TC probability of the label to the calibration."""
    rel = params.relabel
    if rel is None:
        raise ValueError("relabelling is off in these decoding parameters")
    if not raw:
        return []
    places = sorted({(s, e) for s, e, *_ in raw})
    q, p_none = relabel_probs(text, tp, places, params.tc, span_lp)
    row = {pl: i for i, pl in enumerate(places)}
    best: dict[tuple[int, int, str], float] = {}
    for s, e, label, p, th in raw:
        if p_none is not None and rel.drop is not None and p_none[row[(s, e)]] >= rel.drop:
            continue
        probs = q[row[(s, e)]]
        labs = {PTC_TECHNIQUES[int(np.argmax(probs))]}
        if probs[PTC_TECHNIQUES.index(label)] >= rel.keep:
            labs.add(label)
        for lab in labs:
            conf = calibrate(p, th, params.calibration, float(probs[PTC_TECHNIQUES.index(lab)]))
            best[(s, e, lab)] = max(best.get((s, e, lab), 0.0), conf)
    return [Span(s, e, lab, round(c, 4)) for (s, e, lab), c in best.items()]


def si_column(tp: TokenProbs, params: Decoding) -> np.ndarray:
    """Each token's SI probability: the "any" output, blended with the most likely technique's
    probability when `si.blend` is set."""
    k = params.labels.index("any")
    col = tp.probs[:, k]
    blend = params.si.blend
    if blend is not None and len(col):
        techniques = [i for i, label in enumerate(params.labels) if label != "any"]
        col = (1 - blend) * col + blend * tp.probs[:, techniques].max(axis=1)
    return col


def si_from_probs(text: str, tp: TokenProbs, params: Decoding) -> list[tuple[int, int]]:
    """Span identification: (start, end) of text that uses any technique."""
    si = params.si
    if si.source == "any" and "any" in params.labels:
        col = si_column(tp, params)
        spans = [
            (s, e)
            for s, e, _ in decode_spans(text, tp, col, si.threshold, params.merging)
            if not function_words_only(text[s:e])
        ]
        if si.seed is not None:
            spans = [(s, e) for s, e in spans if column_peak(tp, col, s, e) >= si.seed]
        return spans
    return merge_intervals((sp.start, sp.end) for sp in spans_from_probs(text, tp, params))


def column_peak(tp: TokenProbs, column: np.ndarray, start: int, end: int) -> float:
    """The highest value of `column` ([n], one per token) among the tokens of characters start..end-1."""
    lo, hi = token_range(tp, start, end)
    return float(column[lo:hi].max()) if hi > lo else 0.0
