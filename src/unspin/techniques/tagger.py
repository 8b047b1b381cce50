"""Torch-free propaganda-technique tagger: ONNX Runtime + tokenizers + numpy.

The model is a token tagger with one sigmoid output per technique (and one for "any technique"). The
tagger ties the parts together: the runner (`unspin.techniques.runner`) gives each token of a text its
probabilities, averaged over overlapping windows (and over an ensemble's members); decoding
(`unspin.techniques.decoding`) turns them into spans with the parameters of the model's config.json;
the TC step (`unspin.techniques.tc`) names the technique of a given span, with the span classifier
(`unspin.techniques.classifier`) when the config names one.

`TechniqueTagger.load("fast")` loads a model folder once per process; `predict(texts)` returns
`Span`s with exact offsets into each input string; calling the tagger on a `Document` fills
`doc.spans`, the article scores in `doc.scores["article"]` and a score on every sentence
(`unspin.scoring`).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from unspin.document import Document, Span
from unspin.scoring import merge_repeats, set_technique_spans
from unspin.techniques.decoding import Decoding, si_from_probs, spans_from_probs
from unspin.techniques.runner import ModelLoadError, TokenProbs, WindowRunner, project_probs
from unspin.techniques.taxonomy import BY_LABEL
from unspin.techniques.tc import classify_from_probs

MODELS_DIR = Path(__file__).resolve().parents[1] / "models" / "techniques"

__all__ = ["MODELS_DIR", "ModelLoadError", "TechniqueTagger"]


class TechniqueTagger:
    """Span-level propaganda-technique tagger. Load once with `TechniqueTagger.load(name)`."""

    _cache: dict[tuple[str, int | None], TechniqueTagger] = {}
    _lock = threading.RLock()  # re-entrant: an ensemble loads its members while loading

    def __init__(self, model_dir: str | Path, threads: int | None = None, batch_size: int = 16) -> None:
        from unspin.models.folder import read_config

        self.model_dir = Path(model_dir)
        self.config: dict[str, Any] = read_config(self.model_dir, ModelLoadError, "technique model")
        self.params = Decoding.from_config(self.config)
        what = f"model {self.config.get('name')!r}"
        self.runner = WindowRunner(self.model_dir, self.config, threads, batch_size, what)
        # The TC step's span classifier, when the config names one (loaded on first use: only TC needs it).
        self._threads = threads
        self._span_classifier: Any = None
        # An ensemble: other shipped models whose token probabilities are averaged into this one's.
        self.members: list[tuple[TechniqueTagger, float]] = []
        for m in self.config.get("ensemble", []):
            member = TechniqueTagger.load(m["model"], threads=threads)
            if member.labels != self.labels:
                raise ModelLoadError(
                    f"ensemble member {m['model']!r} has other outputs than {self.config.get('name')!r}"
                )
            self.members.append((member, float(m["weight"])))
        # A model with a span head also returns each token's span-head scores (output "span_head"), which
        # the TC step averages over each predicted span.
        self._outputs = ["logits", "span_head"] if self.params.tc.span_head is not None else ["logits"]
        names = self.runner.output_names()
        if "span_head" in self._outputs and "span_head" not in names:
            raise ModelLoadError(f"{what}: config.json has a span head but model.onnx has no 'span_head' output")
        # A graph with a "hidden" output gives its last hidden states in the same pass; `annotate` leaves
        # them on the document (`Document.token_states`, under `states_key`) for later stages to read.
        self.has_hidden = "hidden" in names
        self.states_key = f"techniques:{self.config.get('files', {}).get('model.onnx', self.model_dir.name)}"

    @classmethod
    def load(cls, name: str = "fast", threads: int | None = None) -> TechniqueTagger:
        """The model `name` from unspin's model folder (or a path to a model folder), loaded once."""
        key = (name, threads)
        with cls._lock:
            if key not in cls._cache:
                path = Path(name) if ("/" in name or Path(name).is_dir()) else MODELS_DIR / name
                if not (path / "config.json").is_file():
                    shipped = sorted(p.name for p in MODELS_DIR.iterdir() if (p / "config.json").is_file())
                    raise ModelLoadError(
                        f"no technique model {name!r} in this installation (shipped: {', '.join(shipped)})"
                    )
                cls._cache[key] = cls(path, threads=threads)
            return cls._cache[key]

    @property
    def labels(self) -> list[str]:
        return self.params.labels

    # ---- probabilities

    def token_probs(self, texts: Sequence[str], hidden: bool = False) -> list[TokenProbs]:
        """Averaged per-token probabilities of every text (a text's windows run in batches of its own),
        with the span head's per-token scores when the model has one and, with `hidden`, the last hidden
        states as well (`TokenProbs.hidden`; the graph must have a "hidden" output). An ensemble's
        members' probabilities are averaged in, by weight."""
        outputs = [*self._outputs, "hidden"] if hidden else list(self._outputs)
        out = []
        for tp, extras in self.runner.token_probs(texts, len(self.labels), outputs):
            named = dict(zip(outputs[1:], extras, strict=True))
            tp.head, tp.hidden = named.get("span_head"), named.get("hidden")
            out.append(tp)
        for member, weight in self.members:
            for tp, mtp in zip(out, member.token_probs(texts), strict=True):
                tp.probs = (1 - weight) * tp.probs + weight * project_probs(mtp, tp.offsets, tp.probs)
        return out

    # ---- public API

    def predict(self, texts: list[str]) -> list[list[Span]]:
        """Technique spans of each text, offsets into that text, scores calibrated to [0, 1]."""
        return [self._spans(t, tp) for t, tp in zip(texts, self.token_probs(texts), strict=True)]

    def _spans(self, text: str, tp: TokenProbs) -> list[Span]:
        span_lp = self.span_logprobs if self.params.relabel is not None else None
        return spans_from_probs(text, tp, self.params, span_lp)

    def token_states(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """([n, d] last hidden states, [n, 2] character offsets) of the tokens of `text`, from the pass
        that tags it (the framing stage reads English articles through them)."""
        if not self.has_hidden:
            raise ModelLoadError(f"model {self.config.get('name')!r} has no 'hidden' output")
        tp = self.token_probs([text], hidden=True)[0]
        return _states(tp)

    def predict_si(self, text: str) -> list[tuple[int, int]]:
        """Span identification: (start, end) of text that uses any technique, overlaps merged."""
        return si_from_probs(text, self.token_probs([text])[0], self.params)

    def span_logprobs(self, text: str, spans: Sequence[tuple[int, int]]) -> np.ndarray | None:
        """The span classifier's log-probabilities of each span over all its classes ("none" too, if it
        has that class), or None when this model's TC step uses no span classifier."""
        name = self.params.tc.span_classifier
        if not name:
            return None
        if self._span_classifier is None:
            from unspin.techniques.classifier import SpanClassifier, SpanClassifierError

            try:
                with self._lock:  # documents in lanes (threads) share this tagger
                    if self._span_classifier is None:
                        self._span_classifier = SpanClassifier.load(name, threads=self._threads)
            except SpanClassifierError as exc:
                raise ModelLoadError(f"model {self.config.get('name')!r}: {exc}") from exc
        return self._span_classifier.all_log_probs(text, spans)

    def classify(self, text: str, spans: list[tuple[int, int]]) -> list[str]:
        """Technique classification: the most likely PTC label of each given span of `text`."""
        tp = self.token_probs([text])[0]
        return classify_from_probs(text, tp, spans, self.params, self.span_logprobs(text, spans))

    def __call__(self, doc: Document) -> Document:
        """Set `doc.spans` from `doc.text`, score every sentence and add `doc.scores["article"]`."""
        return self.annotate(doc)

    def annotate(self, doc: Document, min_score: float = 0.0, all_spans: bool = True) -> Document:
        """As calling the tagger, keeping only spans whose confidence reaches `min_score`: the sentence
        and article scores then describe the spans kept (the article scores record `min_score`). Every
        span is marked `precise` or not where the model has a precise operating point; `all_spans`
        False keeps only the precise ones (the default view of `analyze` and the article page)."""
        tp = self.token_probs([doc.text], hidden=self.has_hidden)[0]
        if self.has_hidden:  # the encoder's pass, for a later stage that reads these states
            doc.token_states[self.states_key] = _states(tp)
        spans = self._spans(doc.text, tp)
        view = self.params.precise
        for sp in spans:
            t = BY_LABEL.get(sp.technique)
            if t is not None:
                sp.explanation = t.explanation()
            if view is not None:
                sp.precise = view.keeps(sp)
        return set_technique_spans(doc, merge_repeats(spans), min_score, precise_only=not all_spans)


def _states(tp: TokenProbs) -> tuple[np.ndarray, np.ndarray]:
    hidden = tp.hidden if tp.hidden is not None and len(tp.hidden) else np.zeros((0, 0), np.float32)
    return hidden, tp.offsets
