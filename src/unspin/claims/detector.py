"""Check-worthy claims: which sentences state something a fact-checker should verify.

The lower 4 layers of the MiniLM-L6 sentence encoder, fine-tuned on CLEF CheckThat! 2024 (English)
with a linear head on the mean-pooled tokens, exported to ONNX and quantised to int8 (see
`models/claims/MODEL_CARD.md`). Inference needs only onnxruntime,
tokenizers and numpy (no torch). The raw logit is turned into a calibrated probability with the
Platt scaling fitted on the dev split; `threshold` (tuned on dev) decides what counts as a claim.
Training, the CheckThat! reader and the metrics live elsewhere (`unspin.train.claims`,
`unspin.train.checkthat`, `unspin.eval`): this module only scores.

    from unspin.claims.detector import get_detector
    detector = get_detector()
    detector.score(["Unemployment fell to 3.9 percent in 2018."])   # -> [0.9...]
    detector(doc)                                                    # fills doc.claims

Empty or whitespace-only sentences score 0.0 without running the model; very long sentences are
truncated to the model's maximum length (the first tokens decide); sentences in other languages get
a score too, but the model was trained on English only, so `__call__` warns for non-English documents.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from unspin.eval.calibration import sigmoid
from unspin.models.base import ENCODERS, ModelFilesError, sha256_file, verified_file
from unspin.models.onnx import create_session, lane_pool, run_in_lanes
from unspin.segment.sentences import trim_span

MODEL_DIR = Path(__file__).resolve().parents[1] / "models" / "claims"
CONFIG_NAME = "config.json"


class ClaimModelError(RuntimeError):
    """The shipped claims model is missing, damaged or does not match its config."""


def _base_file(encoder_key: str, filename: str) -> Path:
    return verified_file(ENCODERS[encoder_key], filename)


def _clean_text(text: str) -> str:
    """Make `text` safe for the tokenizer: lone surrogates (from broken decoding) become U+FFFD."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")


def onnx_logits(
    session: Any, tokenizer: Any, sentences: Sequence[str], *, batch_size: int = 16, chunk: int = 4096
) -> np.ndarray:
    """Run the exported model over `sentences` (tokenizer already set to truncate, no padding).

    Sentences are sorted by token count and batched so that each batch is padded only to its own
    longest member. Empty/whitespace sentences are not run and get -inf.
    """
    out = np.full(len(sentences), -np.inf, dtype=np.float64)
    todo: list[int] = []
    for i, s in enumerate(sentences):
        if not isinstance(s, str):
            raise TypeError(f"sentence {i} is {type(s).__name__}, expected str")
        if s.strip():
            todo.append(i)
    names = {i.name for i in session.get_inputs()}
    for c0 in range(0, len(todo), chunk):
        idx = todo[c0 : c0 + chunk]
        encs = tokenizer.encode_batch([_clean_text(sentences[i]) for i in idx])
        order = sorted(range(len(encs)), key=lambda k: len(encs[k].ids))
        for b0 in range(0, len(order), batch_size):
            batch = order[b0 : b0 + batch_size]
            width = max(len(encs[k].ids) for k in batch)
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for r, k in enumerate(batch):
                e = encs[k].ids
                ids[r, : len(e)] = e
                mask[r, : len(e)] = 1
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            res = session.run(None, {k: v for k, v in feeds.items() if k in names})[0]
            res = np.asarray(res, dtype=np.float64).reshape(len(batch))
            for r, k in enumerate(batch):
                out[idx[k]] = res[r]
    return out


def load_tokenizer(path: str | os.PathLike[str], max_length: int) -> Any:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(path))
    tok.no_padding()
    tok.enable_truncation(max_length=max_length)
    return tok


class ClaimDetector:
    """Scores sentences for check-worthiness. Load once (`ClaimDetector.load()` or `get_detector()`)."""

    name = "claims"  # as a pipeline stage, it fills `doc.claims`

    def __init__(
        self,
        model_dir: str | os.PathLike[str] = MODEL_DIR,
        *,
        threads: int | None = None,
        batch_size: int = 1,
        spin: bool = False,
    ) -> None:
        """`threads`: the cores to use (default: all). Sentences run one at a time (`batch_size` 1), so that
        a sentence's score never depends on the others, in that many lanes that share one session whose
        calls each take one thread: for sentences this short that is about 1.5x faster than batches of 16
        on two threads."""
        self.model_dir = Path(model_dir)
        cfg_path = self.model_dir / CONFIG_NAME
        if not cfg_path.is_file():
            raise ClaimModelError(f"{cfg_path}: claims model config missing")
        self.config: dict[str, Any] = json.loads(cfg_path.read_text(encoding="utf-8"))
        onnx_path = self.model_dir / self.config["model_file"]
        if not onnx_path.is_file():
            raise ClaimModelError(f"{onnx_path}: claims model file missing")
        actual = sha256_file(onnx_path)
        if actual != self.config["model_sha256"]:
            raise ClaimModelError(
                f"{onnx_path}: sha256 {actual} does not match {self.config['model_sha256']} in {cfg_path}"
            )
        tok_path = _base_file(self.config["base_encoder_key"], "tokenizer.json")
        expected_tok = self.config.get("tokenizer_sha256")
        if expected_tok and sha256_file(tok_path) != expected_tok:
            raise ModelFilesError(f"{tok_path}: tokenizer differs from the one the claims model was trained with")

        self.max_length = int(self.config["max_length"])
        self.threshold = float(self.config["threshold"])
        cal = self.config["calibration"]
        self._cal_a = float(cal["a"])
        self._cal_b = float(cal["b"])
        self.batch_size = max(1, int(batch_size))

        self.tokenizer = load_tokenizer(tok_path, self.max_length)
        self.lanes, self._pool = lane_pool(threads, "unspin-claims")
        self.session, _ = create_session(onnx_path, 1, spin=spin)  # one thread per call; no frozen tensors

    @classmethod
    def load(cls, model_dir: str | os.PathLike[str] = MODEL_DIR, **kwargs: Any) -> ClaimDetector:
        return cls(model_dir, **kwargs)

    # -- scoring -------------------------------------------------------------------------------

    def logits(self, sentences: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """Raw (uncalibrated) model logits; empty/whitespace sentences get -inf. `batch_size` 1 scores
        every sentence on its own (int8 activations are quantised with one range per batch, so in a
        batch a sentence's score moves a little with its neighbours)."""
        for i, sentence in enumerate(sentences):  # named by its place in the caller's list, not in a lane's
            if not isinstance(sentence, str):
                raise TypeError(f"sentence {i} is {type(sentence).__name__}, expected str")
        size = batch_size or self.batch_size

        def run(part: list[str]) -> np.ndarray:
            return onnx_logits(self.session, self.tokenizer, part, batch_size=size)

        return run_in_lanes(self._pool, self.lanes, sentences, run)

    def calibrate(self, logits: np.ndarray) -> np.ndarray:
        return calibrated(logits, self._cal_a, self._cal_b)

    def score(self, sentences: Sequence[str], batch_size: int | None = None) -> list[float]:
        """Calibrated probability that each sentence is a check-worthy claim, in input order."""
        if isinstance(sentences, str):
            raise TypeError("score() takes a list of sentences, not one string")
        sentences = list(sentences)
        if not sentences:
            return []
        return [float(p) for p in self.calibrate(self.logits(sentences, batch_size))]

    def predict(self, sentences: Sequence[str], batch_size: int | None = None) -> list[tuple[float, bool]]:
        return [(p, p >= self.threshold) for p in self.score(sentences, batch_size)]

    # -- documents -----------------------------------------------------------------------------

    def __call__(self, doc: Any) -> Any:
        """Set `doc.claims` to the check-worthy sentences (score >= threshold), in text order."""
        text: str = doc.text or ""
        trimmed = sentence_bounds(doc)
        doc.claims = claims_of(text, trimmed, self.score([text[s:e] for s, e in trimmed]), self.threshold)
        return doc


def calibrated(logits: np.ndarray, a: float, b: float) -> np.ndarray:
    """Platt-scaled probabilities sigmoid(a * logit + b); a -inf logit (an empty sentence) is 0.0."""
    z = np.asarray(logits, dtype=np.float64)
    probs = sigmoid(a * np.where(np.isfinite(z), z, 0.0) + b)
    return np.where(np.isneginf(z), 0.0, probs)


def sentence_bounds(doc: Any) -> list[tuple[int, int]]:
    """The (start, end) of every sentence of `doc` to score, whitespace trimmed (each line when the
    document has no segmentation); warns on the document when that happens or when it is not English."""
    text: str = doc.text or ""
    bounds = [(s.start, s.end) for s in doc.sentences] if doc.sentences else _line_bounds(text)
    if not doc.sentences and text.strip():
        doc.warnings.append("claims: no sentence segmentation given; scored each line as one sentence")
    lang = getattr(doc, "language", None)
    if lang and not str(lang).lower().startswith("en"):
        doc.warnings.append(f"claims: the model is trained on English; scores for language {lang!r} are unreliable")
    return [trim_span(text, s, e) for s, e in bounds]


def claims_of(text: str, bounds: Sequence[tuple[int, int]], scores: Sequence[float], threshold: float) -> list[dict]:
    """The `claims` field: every sentence scoring at least `threshold`, in text order."""
    claims = []
    for (s, e), p in sorted(zip(bounds, scores, strict=True), key=lambda t: t[0]):
        if e > s and p >= threshold:
            claims.append({"start": s, "end": e, "text": text[s:e], "score": round(p, 4)})
    return claims


def _line_bounds(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", text)]


@lru_cache(maxsize=4)
def get_detector(model_dir: str | None = None, threads: int | None = None) -> ClaimDetector:
    """The process-wide detector (loaded on first use)."""
    return ClaimDetector(Path(model_dir) if model_dir else MODEL_DIR, threads=threads)


LINES_PER_CHUNK = 4096


def score_lines(lines: Iterable[str], detector: ClaimDetector | None = None) -> list[tuple[float, bool]]:
    """Per-line mode: every input line is one sentence, scored on its own (its answer does not depend
    on the other lines); returns (score, is_claim) for each line."""
    return [answer for chunk in iter_line_scores(lines, detector) for answer in chunk]


def iter_line_scores(
    lines: Iterable[str], detector: ClaimDetector | None = None, chunk: int = LINES_PER_CHUNK
) -> Iterator[list[tuple[float, bool]]]:
    """Per-line mode in chunks of `chunk` lines, in order: one list of (score, is_claim) per chunk, so a
    caller can write answers and report progress while a long file is scored, holding one chunk at a time.
    Each line runs alone (the detector's batches of one), so neither the chunking nor the neighbours change
    an answer; the detector spreads a chunk's lines over its lanes."""
    det = detector or get_detector()
    batch: list[str] = []
    for line in lines:
        batch.append(line.rstrip("\r\n"))
        if len(batch) == chunk:
            yield det.predict(batch, batch_size=1)
            batch = []
    if batch:
        yield det.predict(batch, batch_size=1)


def lines_of(content: str) -> list[str]:
    """The lines of a file as the per-line mode numbers them: split at "\n" only (a final newline ends
    the last line, it does not start another), "\r" before it dropped."""
    lines = content.split("\n")
    if content.endswith("\n"):
        lines.pop()
    return [line.rstrip("\r") for line in lines]
