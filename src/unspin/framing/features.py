"""Feature vectors for the framing heads, pooled from one encoder pass over the article.

The encoder (`unspin.models.e5`) gives a state per token with its character offsets; everything the
framing heads see is a mean of such states, so an article costs one pass however many mentions and
narratives it has. Training (`unspin.train.framing`) and inference call these same functions.

* a mention: [its own tokens, the tokens around it (`WINDOW` each side), all mentions of the same
  entity in the article] — the role of an entity is set by how the text treats it throughout, not by
  one phrase;
* an article: the mean of all its tokens;
* a sentence: the mean of its tokens (scored by the narrative heads for evidence).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

WINDOW = 16


def token_range(offsets: np.ndarray, start: int, end: int) -> tuple[int, int]:
    """[first, last + 1) of the tokens overlapping text[start:end]; the nearest token when none does
    (a span of spaces), so every span pools something."""
    hit = np.nonzero((offsets[:, 0] < end) & (offsets[:, 1] > start))[0]
    if len(hit):
        return int(hit[0]), int(hit[-1]) + 1
    i = int(np.clip(np.searchsorted(offsets[:, 0], start), 0, len(offsets) - 1))
    return i, i + 1


def span_mean(states: np.ndarray, offsets: np.ndarray, start: int, end: int) -> np.ndarray:
    a, b = token_range(offsets, start, end)
    return states[a:b].mean(axis=0)


def mention_vectors(
    states: np.ndarray, offsets: np.ndarray, groups: Sequence[Sequence[tuple[int, int]]]
) -> list[np.ndarray]:
    """One (3 * H) vector per mention, in the order of `groups` (a list of entities, each a list of
    (start, end) mentions), flattened."""
    if len(states) == 0:
        return [np.zeros(3 * states.shape[1], np.float32) for g in groups for _ in g]
    out: list[np.ndarray] = []
    for group in groups:
        own = [token_range(offsets, s, e) for s, e in group]
        entity = np.mean([states[a:b].mean(axis=0) for a, b in own], axis=0)
        for a, b in own:
            context = states[max(0, a - WINDOW) : b + WINDOW].mean(axis=0)
            out.append(np.concatenate([states[a:b].mean(axis=0), context, entity]).astype(np.float32))
    return out


def sentence_vectors(states: np.ndarray, offsets: np.ndarray, sentences: Sequence[tuple[int, int]]) -> np.ndarray:
    """(n, H) mean state of each sentence."""
    if len(states) == 0 or not sentences:
        return np.zeros((len(sentences), states.shape[1]), np.float32)
    return np.array([span_mean(states, offsets, s, e) for s, e in sentences], np.float32)


def article_vector(states: np.ndarray) -> np.ndarray:
    """(H) vector of the article: the mean of its token states."""
    if len(states) == 0:
        return np.zeros(states.shape[1], np.float32)
    return states.mean(axis=0).astype(np.float32)
