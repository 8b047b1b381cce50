"""The pipeline: named stages run in order over Documents, models loaded once per process."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from unspin.document import Document, Segment
from unspin.errors import InputError
from unspin.ingest.build import build_document
from unspin.ingest.sources import RawInput, looks_like_html
from unspin.metadata.language import detect_language, identifier
from unspin.segment.sentences import paragraph_spans, sentence_spans_in
from unspin.settings import Settings

Stage = Callable[[Document], Document]


class LanguageStage:
    """Sets `language` from the text and warns when the models do not cover it."""

    name = "language"

    def __init__(self) -> None:
        identifier()  # load the language model with the others, not on the first text (nor twice at once)

    def __call__(self, doc: Document) -> Document:
        lang, prob = detect_language(doc.text)
        doc.language, doc.language_score = lang, prob
        if lang is not None and lang != "en":
            doc.warnings.append(
                f"text looks like language '{lang}' (p={prob:.2f}); the models are trained on English "
                "news, so their output on this text is unreliable"
            )
        return doc


class SegmentStage:
    """Paragraphs and sentences as offsets into the text."""

    name = "segment"

    def __call__(self, doc: Document) -> Document:
        doc.paragraphs = [Segment(s, e) for s, e in paragraph_spans(doc.text)]
        doc.sentences = [Segment(s, e) for p in doc.paragraphs for s, e in sentence_spans_in(doc.text, p.start, p.end)]
        return doc


class TechniqueStage:
    """Technique spans, sentence and article scores from a technique tagger, spans below
    `min_score` left out."""

    name = "techniques"

    def __init__(self, tagger: Any, min_score: float = 0.0) -> None:
        self.tagger, self.min_score = tagger, min_score

    def __call__(self, doc: Document) -> Document:
        return self.tagger.annotate(doc, min_score=self.min_score)


def _language(settings: Settings) -> Stage:
    return LanguageStage()


def _segment(settings: Settings) -> Stage:
    return SegmentStage()


def _techniques(settings: Settings) -> Stage:
    from unspin.techniques import TechniqueTagger

    return TechniqueStage(TechniqueTagger.load(settings.model, threads=settings.threads), settings.min_score)


def _claims(settings: Settings) -> Stage:
    from unspin.claims.detector import get_detector

    return get_detector(threads=settings.threads)


# name -> factory(settings); model-backed stages import their modules only when asked for.
STAGES: dict[str, Callable[[Settings], Stage]] = {
    "language": _language,
    "segment": _segment,
    "techniques": _techniques,
    "claims": _claims,
}
DEFAULT_STAGES = ["language", "segment", "techniques", "claims"]


def available_stages() -> list[str]:
    return list(STAGES)


def load_stage(name: str, settings: Settings) -> Stage:
    try:
        factory = STAGES[name]
    except KeyError:
        raise ValueError(f"unknown stage {name!r}; known: {', '.join(STAGES)}") from None
    return factory(settings)


class Pipeline:
    """Runs the stages over documents. Build one per process and reuse it: stages keep their models."""

    def __init__(self, stages: Iterable[str] | None = None, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.stage_names = list(stages) if stages is not None else list(DEFAULT_STAGES)
        # Stages load side by side: reading and checking model files, decompressing the language model
        # and building ONNX Runtime sessions mostly run outside the GIL.
        with ThreadPoolExecutor(max(1, len(self.stage_names)), thread_name_prefix="unspin-load") as pool:
            self.stages: list[Stage] = list(pool.map(lambda n: load_stage(n, self.settings), self.stage_names))

    def __call__(self, doc: Document) -> Document:
        for name, stage in zip(self.stage_names, self.stages, strict=True):
            doc = stage(doc)
            doc.stages.append(name)
        return doc

    def from_raw(self, raw: RawInput) -> Document:
        return self(build_document(raw, self.settings))

    def pipe(self, items: Iterable[RawInput | InputError]) -> Iterator[Document | InputError]:
        """Analyse a stream of inputs; a bad input yields its InputError and the stream goes on."""
        for item in items:
            if isinstance(item, InputError):
                yield item
                continue
            try:
                yield self.from_raw(item)
            except InputError as err:
                yield err

    def analyze_text(self, text: str, *, source: str = "<text>", **hints: str) -> Document:
        kind = "html" if looks_like_html(text) else "text"
        return self.from_raw(RawInput(source=source, content=text, kind=kind, hints=dict(hints)))

    def analyze_html(self, html: str, *, source: str = "<html>", **hints: str) -> Document:
        return self.from_raw(RawInput(source=source, content=html, kind="html", hints=dict(hints)))


def analyze(text: str, **hints: str) -> Document:
    """One-call analysis of a text or HTML string with the default stages."""
    return Pipeline().analyze_text(text, **hints)
