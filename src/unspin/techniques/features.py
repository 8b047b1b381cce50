"""Features of a given span for technique classification (TC).

A TC model (`unspin.techniques.tc`) reads a span through feature groups (`TC_GROUPS`): the tagger's
mean and max output probabilities over the span's tokens, the span's shape (length, words, how often
its text recurs), the log-probabilities of a words-only model, and those of the span classifier
(`unspin.techniques.classifier`). The training recipe builds its examples with the same functions,
so training and inference read a span the same way.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from unspin.techniques.runner import TokenProbs, token_range
from unspin.techniques.words import WORD_RE

LEXICAL_DIM = 4096

# Feature groups a TC model may use: the tagger's mean and max output probabilities over the span, the
# span's shape (length, words, how often its text recurs), the words-only model's log-probabilities and
# the span classifier's log-probabilities.
TC_GROUPS = ("mean", "max", "shape", "lexical", "span_classifier")


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


def lexical_features(phrase: str, dim: int = LEXICAL_DIM) -> np.ndarray:
    """Hashed bag of the span's lower-cased words and word pairs (crc32, so stable across runs and
    machines), plus its shape: '!', '?', quotes, all-caps words."""
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
