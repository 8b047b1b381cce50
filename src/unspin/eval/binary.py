"""Scores of a yes/no decision (is this sentence a check-worthy claim?): precision, recall and F1 of
the "yes" class, and the threshold on a confidence that gives the best F1."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def prf(labels: Sequence[int], predicted: Sequence[bool]) -> dict[str, float]:
    """Precision, recall and F1 of the positive ("Yes") class."""
    y = np.asarray(labels, dtype=bool)
    p = np.asarray(predicted, dtype=bool)
    tp = int(np.sum(y & p))
    fp = int(np.sum(~y & p))
    fn = int(np.sum(y & ~p))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn}


def best_threshold(labels: Sequence[int], probs: Sequence[float]) -> tuple[float, float]:
    """The threshold on `probs` with the best F1 of the Yes class: midway between neighbouring
    scores, so that small score changes (e.g. fp32 vs int8) do not flip the decision at the edge."""
    y = np.asarray(labels, dtype=int)
    p = np.asarray(probs, dtype=np.float64)
    cands = np.unique(p)
    mids = np.concatenate([[cands[0] - 1e-6], (cands[:-1] + cands[1:]) / 2]) if len(cands) else np.array([0.5])
    best_t, best_f1 = 0.5, -1.0
    for t in mids:
        f1 = prf(y, p >= t)["f1"]
        if f1 > best_f1 + 1e-12:
            best_t, best_f1 = float(t), f1
    return best_t, best_f1
