"""Small models fitted in NumPy by the training recipes: the TC softmax regression and its kind."""

from __future__ import annotations

import numpy as np


def fit_softmax(
    x: np.ndarray, y: np.ndarray, n_classes: int, l2: float = 1e-2, iters: int = 500, lr: float = 0.5
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Multinomial logistic regression by gradient descent on standardised features.

    Returns (W, b, mean, std): the model reads (x - mean) / std @ W + b, as the TC step does at
    inference (`unspin.techniques.tc`)."""
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
