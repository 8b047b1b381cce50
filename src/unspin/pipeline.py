"""The pipeline: named stages run in order over Documents, models loaded once per process.

A stage is any object with a `name` and a `__call__(doc) -> doc` that adds to the Document (`Stage`).
Each stage is registered under its name with a factory that builds it from `Settings`
(`register_stage`); factories of model-backed stages import their modules only when called, so a
pipeline without them never loads their models. `Pipeline` builds the stages it is asked for, once,
and runs them in order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from unspin.document import Document
from unspin.errors import InputError
from unspin.ingest.build import build_document
from unspin.ingest.sources import RawInput, looks_like_html
from unspin.settings import Settings


class Stage(Protocol):
    """One step of the analysis: reads the Document and adds to it."""

    name: str

    def __call__(self, doc: Document) -> Document: ...


StageFactory = Callable[[Settings], Stage]

# name -> factory(settings)
_FACTORIES: dict[str, StageFactory] = {}
DEFAULT_STAGES = ["language", "segment", "techniques", "claims", "framing"]


def register_stage(name: str, factory: StageFactory) -> None:
    """Make a stage available to pipelines under `name` (a new one, or in place of a built-in one)."""
    _FACTORIES[name] = factory


def load_stage(name: str, settings: Settings) -> Stage:
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise ValueError(f"unknown stage {name!r}; known: {', '.join(_FACTORIES)}") from None
    return factory(settings)


class TechniqueStage:
    """Technique spans, sentence and article scores from a technique tagger, spans below
    `min_score` left out, and without `all_spans` those off the model's precise operating point."""

    name = "techniques"

    def __init__(self, tagger: Any, min_score: float = 0.0, all_spans: bool = False) -> None:
        self.tagger, self.min_score, self.all_spans = tagger, min_score, all_spans

    def __call__(self, doc: Document) -> Document:
        return self.tagger.annotate(doc, min_score=self.min_score, all_spans=self.all_spans)


def _language(settings: Settings) -> Stage:
    from unspin.metadata.language import LanguageStage

    return LanguageStage()


def _segment(settings: Settings) -> Stage:
    from unspin.segment.stage import SegmentStage

    return SegmentStage()


def _techniques(settings: Settings) -> Stage:
    from unspin.techniques import TechniqueTagger

    tagger = TechniqueTagger.load(settings.model, threads=settings.threads)
    return TechniqueStage(tagger, settings.min_score, settings.all_spans)


def _claims(settings: Settings) -> Stage:
    if settings.claims == "fast":
        from unspin.claims.fast import FastClaimDetector

        return FastClaimDetector.load(threads=settings.threads)
    if settings.claims != "full":
        raise ValueError(f"no claims model {settings.claims!r} (full or fast)")
    from unspin.claims.detector import get_detector

    return get_detector(threads=settings.threads)


def _framing(settings: Settings) -> Stage:
    from unspin.framing.model import FramingModel
    from unspin.framing.stage import FramingStage

    return FramingStage(FramingModel.load(threads=settings.threads))


def _custom_narratives(settings: Settings) -> Stage:
    from unspin.framing.custom import CustomNarrativeScorer
    from unspin.framing.stage import CustomNarrativesStage
    from unspin.models.e5 import E5Encoder

    if not settings.narratives_file:
        raise ValueError("the custom_narratives stage needs a narratives file (--narratives FILE)")
    scorer = CustomNarrativeScorer.from_file(settings.narratives_file, E5Encoder.load(settings.threads))
    return CustomNarrativesStage(scorer)


register_stage("language", _language)
register_stage("segment", _segment)
register_stage("techniques", _techniques)
register_stage("claims", _claims)
register_stage("framing", _framing)
register_stage("custom_narratives", _custom_narratives)


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
        doc.token_states.clear()  # encoder states shared between stages: not kept with the result
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
