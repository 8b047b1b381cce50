"""Calibration error of confidences, shared by every model's training and benchmark."""

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
