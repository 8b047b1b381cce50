"""Sentence embeddings from the all-MiniLM-L6-v2 weights in their package, computed with NumPy.

The package ships safetensors weights only; a six-layer BERT forward pass is small enough to run in
NumPy, so neither torch nor an exported graph is needed, and nothing derived from the weights has to
be stored in this repository. Mean pooling over tokens and L2 normalisation, as the model was
trained for, so cosine similarity is a dot product.
"""

from __future__ import annotations

import math
import threading
from functools import lru_cache

import numpy as np

from unspin.models.base import MINILM_L6, verified_file

LAYERS = 6
HEADS = 12
EPS = 1e-12


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + EPS) * w + b


def _gelu(x: np.ndarray) -> np.ndarray:
    # tanh form of GELU: within 1e-3 of the erf form, and a few NumPy passes instead of many
    return 0.5 * x * (1.0 + np.tanh(0.7978845608 * (x + 0.044715 * x * x * x)))


class SentenceEncoder:
    """`encode(texts) -> (n, 384)` unit vectors. Load once (`SentenceEncoder.load()`), reuse."""

    def __init__(self, weights: dict[str, np.ndarray], tokenizer, max_length: int = 128) -> None:
        self.w = weights
        self.tokenizer = tokenizer
        self.max_length = max_length
        self._lock = threading.Lock()

    @classmethod
    def load(cls, max_length: int = 128) -> SentenceEncoder:
        return _cached(max_length)

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w = self.w
        n, length = ids.shape
        x = w["embeddings.word_embeddings.weight"][ids]
        x = x + w["embeddings.position_embeddings.weight"][:length][None]
        x = x + w["embeddings.token_type_embeddings.weight"][0][None, None]
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        bias = (1.0 - mask[:, None, None, :].astype(np.float32)) * -1e9
        d = x.shape[-1] // HEADS
        for i in range(LAYERS):
            p = f"encoder.layer.{i}."

            def lin(h: np.ndarray, name: str, p: str = p) -> np.ndarray:
                return h @ w[p + name + ".weight"].T + w[p + name + ".bias"]

            q = lin(x, "attention.self.query").reshape(n, length, HEADS, d).transpose(0, 2, 1, 3)
            k = lin(x, "attention.self.key").reshape(n, length, HEADS, d).transpose(0, 2, 3, 1)
            v = lin(x, "attention.self.value").reshape(n, length, HEADS, d).transpose(0, 2, 1, 3)
            att = q @ k / math.sqrt(d) + bias
            att = np.exp(att - att.max(-1, keepdims=True))
            att /= att.sum(-1, keepdims=True)
            ctx = (att @ v).transpose(0, 2, 1, 3).reshape(n, length, HEADS * d)
            x = _layer_norm(
                x + lin(ctx, "attention.output.dense"),
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
            )
            h = _gelu(lin(x, "intermediate.dense"))
            x = _layer_norm(
                x + lin(h, "output.dense"), w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"]
            )
        m = mask[:, :, None].astype(np.float32)
        pooled = (x * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def encode(self, texts: list[str], batch_size: int = 16) -> np.ndarray:
        out = np.zeros((len(texts), 384), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with self._lock:
            for b in range(0, len(order), batch_size):
                idx = order[b : b + batch_size]
                enc = self.tokenizer.encode_batch([texts[i] or " " for i in idx])
                length = max(len(e.ids) for e in enc)
                ids = np.zeros((len(idx), length), dtype=np.int64)
                mask = np.zeros((len(idx), length), dtype=np.int64)
                for row, e in enumerate(enc):
                    ids[row, : len(e.ids)] = e.ids
                    mask[row, : len(e.ids)] = 1
                out[idx] = self._forward(ids, mask)
        return out


@lru_cache(maxsize=2)
def _cached(max_length: int) -> SentenceEncoder:
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer

    weights = {
        k: v.astype(np.float32) for k, v in load_file(str(verified_file(MINILM_L6, "model.safetensors"))).items()
    }
    tokenizer = Tokenizer.from_file(str(verified_file(MINILM_L6, "tokenizer.json")))
    tokenizer.enable_truncation(max_length=max_length)
    tokenizer.no_padding()
    return SentenceEncoder(weights, tokenizer, max_length)
