"""Technique classification of given spans: a fine-tuned encoder that reads the span and its sentence.

The token taggers see a technique token by token; deciding *which* technique a whole fragment uses is
easier when the model reads the fragment as one unit. For every span this model reads

    [CLS] the span's own words [SEP] the span in its line (the words around it) [SEP]

(token types 0 and 1), pools the span's tokens and the whole input, and gives one logit per PTC
technique (and, for a model trained on negative spans too, one for "none": no technique). Its
technique log-probabilities join the tagger's span features in the TC classifier that a technique
model's config names (`decode.tc_span_classifier`), see `unspin.techniques.tc`; its
"none" probability can drop a predicted span (`decode.flc_drop`).

`span_inputs` builds one model input; the training recipe (`unspin.train.span_classifier`) uses the
same function, so training and inference read a span the same way. Inference is torch-free (ONNX
Runtime, int8); the base encoder's embeddings are rebuilt from its package and checked by hash.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from unspin.models.base import ENCODERS, ModelFilesError, verified_file

MODELS_DIR = Path(__file__).resolve().parents[1] / "models"
DEFAULT_MODEL = "span-classifier"
NONE = "none"  # the class of spans that use no technique, after the 14 (when a model has it)
N_TECHNIQUES = 14


class SpanClassifierError(RuntimeError):
    """The span classifier's folder is missing or incomplete, or a file does not match its hash."""


@dataclass(frozen=True)
class InputShape:
    """How much of a span and its line the model reads (stored in the model's config.json)."""

    max_span: int = 40  # tokens of the span itself (longer spans keep their first and last halves)
    max_len: int = 128  # tokens in all, [CLS] and both [SEP] included


# Context is read from at most this many characters on each side of the span (cut at a space): far more
# than the tokens that fit, and a text with no line breaks is not tokenized whole for every span.
CONTEXT_CHARS = 1000


def _line_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    a = text.rfind("\n", 0, start) + 1
    b = text.find("\n", end)
    b = len(text) if b < 0 else b
    if start - a > CONTEXT_CHARS:
        cut = text.find(" ", start - CONTEXT_CHARS, start)
        a = cut + 1 if cut >= 0 else start - CONTEXT_CHARS
    if b - end > CONTEXT_CHARS:
        cut = text.rfind(" ", end, end + CONTEXT_CHARS)
        b = cut if cut >= 0 else end + CONTEXT_CHARS
    return a, b


def _head_tail(ids: list[int], n: int) -> list[int]:
    if len(ids) <= n:
        return ids
    return ids[: n // 2] + ids[len(ids) - (n - n // 2) :]


def span_inputs(
    tok: Any, text: str, start: int, end: int, cls_id: int, sep_id: int, shape: InputShape = InputShape()
) -> tuple[list[int], list[int], int]:
    """(token ids, token type ids, number of span tokens) of one span of `text`.

    The first segment is the span alone; the second is the span inside its line(s), with as many words
    on each side as fit (balanced, the rest going to the side that has more)."""

    def ids_of(s: str) -> list[int]:
        return tok.encode(s, add_special_tokens=False).ids if s else []

    full = ids_of(text[start:end])
    span = _head_tail(full, shape.max_span)
    a, b = _line_bounds(text, start, end)
    left, right = ids_of(text[a:start]), ids_of(text[end:b])
    room = max(shape.max_len - 3 - len(span), 0)
    middle = _head_tail(full, room)
    room -= len(middle)
    n_right = min(len(right), room - min(len(left), room // 2))
    n_left = min(len(left), room - n_right)
    context = left[len(left) - n_left :] + middle + right[:n_right]
    ids = [cls_id, *span, sep_id, *context, sep_id]
    types = [0] * (len(span) + 2) + [1] * (len(context) + 1)
    return ids, types, len(span)


def batch_arrays(rows: Sequence[tuple[list[int], list[int], int]], pad_id: int) -> dict[str, np.ndarray]:
    """The model's four inputs for a batch of `span_inputs` rows, padded to the longest."""
    width = max(len(r[0]) for r in rows)
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    types = np.zeros((len(rows), width), dtype=np.int64)
    span_mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, (x, t, n) in enumerate(rows):
        ids[i, : len(x)] = x
        mask[i, : len(x)] = 1
        types[i, : len(t)] = t
        span_mask[i, 1 : 1 + n] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types, "span_mask": span_mask}


def log_softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def technique_logprobs(lp: np.ndarray) -> np.ndarray:
    """Log-probabilities of the 14 techniques alone (renormalised without "none"), [n, 14]."""
    return log_softmax(np.asarray(lp, dtype=np.float64)[..., :N_TECHNIQUES]).astype(np.float32)


def none_probs(lp: np.ndarray) -> np.ndarray | None:
    """Probability that each span uses no technique, from a full [n, 15] log-probability matrix;
    None for a model without the "none" class."""
    lp = np.asarray(lp)
    return np.exp(lp[..., N_TECHNIQUES]) if lp.shape[-1] > N_TECHNIQUES else None


class SpanClassifier:
    """Loads once per process (`SpanClassifier.load()`); `log_probs(text, spans)` gives [n, 14]."""

    _cache: dict[tuple[str, int | None], SpanClassifier] = {}
    _lock = threading.Lock()

    def __init__(self, model_dir: str | Path, threads: int | None = None, batch_size: int = 32) -> None:
        from tokenizers import Tokenizer

        from unspin.models.folder import cpu_session, read_config
        from unspin.techniques.runner import special_token_ids

        self.model_dir = Path(model_dir)
        self.config: dict[str, Any] = read_config(self.model_dir, SpanClassifierError, "span classifier")
        self.labels: list[str] = list(self.config["labels"])
        self.shape = InputShape(**self.config.get("input", {}))
        self.batch_size = batch_size
        try:
            tok_path = verified_file(ENCODERS[self.config["base_key"]], "tokenizer.json")
        except ModelFilesError as exc:
            raise SpanClassifierError(f"span classifier: {exc}") from exc
        tok = Tokenizer.from_file(str(tok_path))
        tok.no_truncation()
        tok.no_padding()
        self.tokenizer = tok
        self.cls_id, self.sep_id, self.pad_id = special_token_ids(tok)
        # the rebuilt base tensors must live as long as the session
        self.session, self._base_values = cpu_session(
            self.model_dir, self.config, threads, SpanClassifierError, "span classifier"
        )

    @classmethod
    def load(cls, name: str = DEFAULT_MODEL, threads: int | None = None) -> SpanClassifier:
        """The shipped span classifier `name` (or a path to a model folder), loaded once per process."""
        key = (name, threads)
        with cls._lock:
            if key not in cls._cache:
                path = Path(name) if ("/" in name or Path(name).is_dir()) else MODELS_DIR / name
                cls._cache[key] = cls(path, threads=threads)
            return cls._cache[key]

    def logits(self, text: str, spans: Sequence[tuple[int, int]]) -> np.ndarray:
        """[len(spans), n_labels] logits. Spans of one call are batched by length (each batch's int8
        activation range depends only on this text's spans, so a result is the same on every run)."""
        out = np.zeros((len(spans), len(self.labels)), dtype=np.float32)
        if not len(spans):
            return out
        rows = [span_inputs(self.tokenizer, text, s, e, self.cls_id, self.sep_id, self.shape) for s, e in spans]
        order = sorted(range(len(rows)), key=lambda i: len(rows[i][0]))
        for j in range(0, len(order), self.batch_size):
            idx = order[j : j + self.batch_size]
            feeds = batch_arrays([rows[i] for i in idx], self.pad_id)
            out[idx] = self.session.run(None, feeds)[0]
        return out

    def all_log_probs(self, text: str, spans: Sequence[tuple[int, int]]) -> np.ndarray:
        """[n, len(labels)] log-probabilities over every class, "none" included when the model has it."""
        return log_softmax(self.logits(text, spans)).astype(np.float32)

    def log_probs(self, text: str, spans: Sequence[tuple[int, int]]) -> np.ndarray:
        """[n, 14] log-probabilities of the techniques alone (what the TC model reads)."""
        return technique_logprobs(self.all_log_probs(text, spans))
