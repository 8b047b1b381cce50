"""Check-worthy claims from the technique tagger's pass: `unspin analyze --claims fast`.

The `fast` technique tagger reads every token of an article, and its graph returns its last hidden states
(the techniques stage leaves them on the document, `Document.token_states`). This detector runs one more
transformer layer over each sentence's tokens of that pass (MiniLM-L6's fourth layer, fine-tuned on
CheckThat! 2024 English), mean-pools them and gives one logit: under a third of the claims model's cost, at a
lower F1 (see `models/claims-fast/MODEL_CARD.md`). Without the techniques stage (or with another technique
model) it makes the `fast` tagger's pass itself. The logit is calibrated (Platt) and thresholded as the
claims model's is; `models/claims-fast/config.json` records the tagger's sha256, and another tagger is
refused.

    from unspin.claims.fast import FastClaimDetector
    FastClaimDetector.load()(doc)        # fills doc.claims
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from unspin.claims.detector import ClaimModelError, calibrated, claims_of, sentence_bounds
from unspin.models.onnx import create_session, lane_pool, run_in_lanes

MODEL_DIR = Path(__file__).resolve().parents[1] / "models" / "claims-fast"


def sentence_states(
    states: np.ndarray, offsets: np.ndarray, bounds: Sequence[tuple[int, int]], max_tokens: int
) -> list[np.ndarray]:
    """The states of the tokens of each (start, end) character span (a token belongs to a span it
    overlaps), the first `max_tokens` of them; an empty array for a span without tokens."""
    starts = offsets[:, 0] if len(offsets) else np.zeros(0, np.int64)
    ends = offsets[:, 1] if len(offsets) else np.zeros(0, np.int64)
    out = []
    for start, end in bounds:
        lo = int(np.searchsorted(ends, start, side="right"))  # first token ending after `start`
        hi = int(np.searchsorted(starts, end, side="left"))  # tokens starting before `end`
        out.append(states[lo : max(lo, min(hi, lo + max_tokens))])
    return out


def run_layer(session: Any, seqs: Sequence[np.ndarray], batch_size: int = 32) -> np.ndarray:
    """The head's logit for each sequence of token states (-inf for an empty one), in batches of
    similar length."""
    out = np.full(len(seqs), -np.inf, dtype=np.float64)
    todo = sorted((i for i, s in enumerate(seqs) if len(s)), key=lambda i: len(seqs[i]))
    for b0 in range(0, len(todo), batch_size):
        idx = todo[b0 : b0 + batch_size]
        width = max(len(seqs[i]) for i in idx)
        dim = seqs[idx[0]].shape[1]
        states = np.zeros((len(idx), width, dim), np.float32)
        mask = np.zeros((len(idx), width), np.int64)
        for r, i in enumerate(idx):
            states[r, : len(seqs[i])] = seqs[i]
            mask[r, : len(seqs[i])] = 1
        logits = session.run(None, {"states": states, "mask": mask})[0]
        out[idx] = np.asarray(logits, np.float64).reshape(len(idx))
    return out


class FastClaimDetector:
    """Scores an article's sentences from the technique tagger's hidden states. Load once
    (`FastClaimDetector.load()`); thread-safe."""

    name = "claims"

    def __init__(self, model_dir: str | os.PathLike[str] = MODEL_DIR, threads: int | None = None) -> None:
        from unspin.models.folder import read_config
        from unspin.techniques.tagger import TechniqueTagger

        self.model_dir = Path(model_dir)
        self.config = read_config(self.model_dir, ClaimModelError, "fast claims model")
        self.tagger = TechniqueTagger.load(self.config["technique_model"], threads=threads)
        recorded = self.config["technique_model_sha256"]
        installed = self.tagger.config.get("files", {}).get("model.onnx")
        if recorded != installed or not self.tagger.has_hidden:
            raise ClaimModelError(
                f"{self.model_dir / 'config.json'}: fitted on technique model "
                f"{self.config['technique_model']!r} with model.onnx sha256 {recorded}; "
                f"the installed one is {installed}" + ("" if self.tagger.has_hidden else " and has no 'hidden' output")
            )
        self.max_tokens = int(self.config["max_tokens"])
        self.threshold = float(self.config["threshold"])
        self._cal_a = float(self.config["calibration"]["a"])
        self._cal_b = float(self.config["calibration"]["b"])
        # one sentence per call, in lanes of one-thread calls: a score never depends on the other sentences
        self.lanes, self._pool = lane_pool(threads, "unspin-claims-fast")
        self.session, _ = create_session(self.model_dir / self.config["model_file"], 1)

    @classmethod
    def load(cls, threads: int | None = None) -> FastClaimDetector:
        return _cached(threads)

    def calibrate(self, logits: np.ndarray) -> np.ndarray:
        return calibrated(logits, self._cal_a, self._cal_b)

    def score_spans(
        self, text: str, bounds: Sequence[tuple[int, int]], token_states: dict[str, Any] | None = None
    ) -> list[float]:
        """Calibrated scores of the (start, end) sentences of `text`, read through the tagger's pass
        (taken from `token_states`, a document's, when the techniques stage made it)."""
        if not bounds:
            return []
        key = self.tagger.states_key
        states, offsets = (token_states or {}).get(key) or self.tagger.token_states(text)
        seqs = sentence_states(np.asarray(states, np.float32), offsets, bounds, self.max_tokens)
        logits = run_in_lanes(self._pool, self.lanes, seqs, lambda part: run_layer(self.session, part, batch_size=1))
        return [float(p) for p in self.calibrate(logits)]

    def __call__(self, doc: Any) -> Any:
        """Set `doc.claims` to the check-worthy sentences (score >= threshold), in text order."""
        text: str = doc.text or ""
        trimmed = sentence_bounds(doc)
        doc.claims = claims_of(text, trimmed, self.score_spans(text, trimmed, doc.token_states), self.threshold)
        return doc


@lru_cache(maxsize=4)
def _cached(threads: int | None) -> FastClaimDetector:
    return FastClaimDetector(MODEL_DIR, threads)
