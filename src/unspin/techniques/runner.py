"""Token probabilities of a text of any length from a token-tagging ONNX model.

A text is tokenized once (the tokenizer's offset mapping gives each token's character range in the
*input string*), cut into overlapping windows of at most `window` tokens, and each text's windows are
run in batches of their own, so a text's result does not depend on the others of the call (int8
activations are quantised with one range per batch). Probabilities of tokens seen by several windows
are averaged. The result, `TokenProbs`, is what decoding (`unspin.techniques.decoding`) reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from unspin.techniques.words import recurring_words


class ModelLoadError(RuntimeError):
    """The model folder is missing, incomplete, or a file does not match its recorded sha256."""


@dataclass
class TokenProbs:
    """Per-token probabilities of one text: `offsets[i] = (start, end)` in the text, `probs[i, k]`."""

    offsets: np.ndarray  # [n, 2] int
    probs: np.ndarray  # [n, n_outputs] float32
    recurring: np.ndarray  # [n] bool: token lies in a content word that occurs again in the text
    head: np.ndarray | None = None  # [n, 14]: the span head's per-token scores (models with a span head)
    hidden: np.ndarray | None = None  # [n, d]: last hidden states (asked for with `hidden=True`)


def token_range(tp: TokenProbs, start: int, end: int) -> tuple[int, int]:
    """(lo, hi): tokens lo..hi-1 overlap characters start..end-1 (token offsets are sorted and do not
    overlap, so they are one run, found by binary search: a long text's thousands of spans stay cheap)."""
    if not len(tp.offsets):
        return 0, 0
    lo = int(np.searchsorted(tp.offsets[:, 1], start, side="right"))
    hi = int(np.searchsorted(tp.offsets[:, 0], end, side="left"))
    return lo, max(lo, hi)


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


def sigmoid(x: np.ndarray | float) -> np.ndarray | float:
    return 1.0 / (1.0 + np.exp(-x))


def mark_recurring(text: str, offsets: np.ndarray) -> np.ndarray:
    """[n] bool: which tokens lie in a content word that occurs again in the text."""
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


class WindowRunner:
    """A tagging model's tokenizer and ONNX session, run over windows of a text of any length."""

    def __init__(
        self, model_dir: Path, config: dict[str, Any], threads: int | None, batch_size: int, what: str
    ) -> None:
        from tokenizers import Tokenizer

        from unspin.models.folder import cpu_session

        self.window = int(config["window"])
        self.stride = int(config["stride"])
        self.batch_size = batch_size
        tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        tok.no_truncation()
        tok.no_padding()
        self.tokenizer = tok
        self.cls_id, self.sep_id, self.pad_id = special_token_ids(tok)
        # Base-encoder weights the model did not change are rebuilt from their package; they must
        # live as long as the session.
        self.session, self._base_values = cpu_session(model_dir, config, threads, ModelLoadError, what)

    def output_names(self) -> list[str]:
        return [o.name for o in self.session.get_outputs()]

    def encode(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(token ids, [n, 2] character offsets) of `text`, without special tokens or empty tokens."""
        enc = self.tokenizer.encode(text, add_special_tokens=False)
        ids = np.asarray(enc.ids, dtype=np.int64)
        offsets = np.asarray(enc.offsets, dtype=np.int64).reshape(-1, 2)
        keep = offsets[:, 1] > offsets[:, 0]
        return ids[keep], offsets[keep]

    def token_probs(
        self, texts: Sequence[str], n_out: int, outputs: Sequence[str]
    ) -> list[tuple[TokenProbs, list[np.ndarray]]]:
        """For every text, its `TokenProbs` (the sigmoid of the first of `outputs`, `n_out` columns,
        averaged over overlapping windows) and each further output (span-head scores, hidden states),
        averaged the same way ([0, 1] arrays for a text without tokens)."""
        size = self.window - 2
        encoded = [self.encode(t) for t in texts]
        sums = [np.zeros((len(ids), n_out), dtype=np.float32) for ids, _ in encoded]
        # further outputs: summed while a text's windows run
        extra: list[list[np.ndarray | None]] = [[None] * (len(outputs) - 1) for _ in encoded]
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
            results = self.session.run(list(outputs), {"input_ids": input_ids, "attention_mask": mask})
            probs = sigmoid(results[0].astype(np.float32))
            for r, ((i, a), n) in enumerate(zip(batch, lens, strict=True)):
                sums[i][a : a + n] += probs[r, 1 : n + 1]
                counts[i][a : a + n] += 1
                for k, res in enumerate(results[1:]):
                    e = extra[i][k]
                    if e is None:
                        e = extra[i][k] = np.zeros((len(encoded[i][0]), res.shape[-1]), dtype=np.float32)
                    e[a : a + n] += res[r, 1 : n + 1]
        out = []
        for i, (text, (_, offsets), s, c) in enumerate(zip(texts, encoded, sums, counts, strict=True)):
            tp = TokenProbs(offsets, s / np.maximum(c, 1)[:, None], mark_recurring(text, offsets))
            seconds = []
            for e in extra[i]:
                if e is None:  # a text without tokens
                    e = np.zeros((0, 1), dtype=np.float32)
                else:  # averaged over overlapping windows, like the probabilities
                    e /= np.maximum(c, 1)[:, None]
                seconds.append(e)
            out.append((tp, seconds))
        return out
