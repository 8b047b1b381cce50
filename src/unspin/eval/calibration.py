"""Calibration of confidences, shared by every model's training and benchmark: the expected
calibration error, and Platt scaling (fitted here once, for the claims model and the technique spans)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def expected_calibration_error(confidence: Sequence[float], target: Sequence[float], bins: int = 10) -> float:
    """ECE over equal-width confidence bins: sum over bins of |B|/N * |mean confidence - mean target|.
    `target` is 0/1 labels or soft credit in [0, 1]."""
    conf = np.asarray(confidence, dtype=np.float64)
    y = np.asarray(target, dtype=np.float64)
    if len(conf) == 0:
        return 0.0
    idx = np.minimum((conf * bins).astype(int), bins - 1)
    ece = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            ece += m.mean() * abs(conf[m].mean() - y[m].mean())
    return float(ece)


def sigmoid(x: np.ndarray | float) -> np.ndarray:
    """The logistic function, without overflow for large |x|."""
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def fit_platt(scores: Sequence[float], targets: Sequence[float], iters: int = 200) -> tuple[float, float]:
    """Platt scaling: `(a, b)` such that `sigmoid(a * score + b)` fits `targets` (0/1 labels or soft
    credit in [0, 1]), by Newton's method on the log loss with a tiny L2 penalty for stability.
    Fewer than 5 points leave the scores as they are: `(1.0, 0.0)`."""
    z = np.asarray(scores, dtype=np.float64)
    y = np.asarray(targets, dtype=np.float64)
    a, b = 1.0, 0.0
    if len(z) < 5:
        return a, b
    reg = 1e-6
    for _ in range(iters):
        p = sigmoid(a * z + b)
        w = np.maximum(p * (1 - p), 1e-12)
        g = np.array([np.sum((p - y) * z) + reg * a, np.sum(p - y) + reg * b])
        h = np.array([[np.sum(w * z * z) + reg, np.sum(w * z)], [np.sum(w * z), np.sum(w) + reg]])
        step = np.linalg.solve(h, g)
        a, b = a - step[0], b - step[1]
        if np.max(np.abs(step)) < 1e-10:
            break
    return float(a), float(b)
