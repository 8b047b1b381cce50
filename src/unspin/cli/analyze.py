"""`unspin extract` and `unspin analyze`: documents from files, with or without the models."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from unspin.cli.common import (
    FormatOpt,
    MaxBytesOpt,
    ModelName,
    ModelOpt,
    NoCleanOpt,
    OutputFormat,
    PathsArg,
    emit,
    err_console,
    finish,
    make_settings,
)
from unspin.document import Document
from unspin.errors import InputError
from unspin.ingest.build import build_document
from unspin.ingest.sources import read_paths
from unspin.settings import Settings


class SkippableStage(str, Enum):
    techniques = "techniques"
    claims = "claims"
    framing = "framing"


def extract(
    paths: PathsArg,
    fmt: FormatOpt = OutputFormat.json,
    max_bytes: MaxBytesOpt = Settings().max_bytes,
    no_clean: NoCleanOpt = False,
) -> None:
    """Recover the clean article body and its metadata from HTML or text."""
    settings = make_settings(max_bytes, no_clean)

    def docs():
        for item in read_paths(paths, settings):
            if isinstance(item, InputError):
                yield item
                continue
            try:
                yield build_document(item, settings)
            except InputError as err:
                yield err

    def to_dict(doc: Document) -> dict:
        return {
            "source": doc.source,
            "title": doc.title,
            "text": doc.text,
            "author": doc.author,
            "published": doc.published,
            "outlet": doc.outlet,
            "outlet_name": doc.outlet_name,
            "url": doc.url,
            "removed": [r.to_dict() for r in doc.removed],
            "warnings": doc.warnings,
        }

    finish(emit(docs(), fmt, to_dict))


WorkersOpt = Annotated[
    int,
    typer.Option(
        "--workers",
        "-w",
        help=(
            "Analyse on N worker processes (a local Dask cluster), one core each; output keeps input "
            "order. 0: in this process, one document per core at a time."
        ),
        min=0,
    ),
]
SkipOpt = Annotated[
    list[SkippableStage] | None,
    typer.Option(
        "--skip",
        help="Leave out a model stage (repeatable): techniques, claims or framing. Its field in the output is null.",
    ),
]
NarrativesOpt = Annotated[
    Path | None,
    typer.Option(
        "--narratives",
        help=(
            "A TOML file of your own narratives (name, description, example sentences): each article is "
            "scored against them too, with its evidence sentences (see docs/framing.md)."
        ),
        exists=True,
        dir_okay=False,
    ),
]


class ClaimsModel(str, Enum):
    full = "full"
    fast = "fast"


ClaimsOpt = Annotated[
    ClaimsModel,
    typer.Option(
        "--claims",
        help=(
            "Claims model: full (default; its own pass over every sentence) or fast (one layer over the "
            "technique tagger's pass: under a third of the claims cost, lower F1; see docs/claims.md)."
        ),
    ),
]
MinScoreOpt = Annotated[
    float,
    typer.Option(
        "--min-score",
        help=(
            "Leave out technique spans whose confidence is below this (0-1; calibrated: a span's score "
            "estimates how much of it annotators marked with its technique). Sentence and article "
            "scores then cover the spans kept. 0: every span found."
        ),
        min=0.0,
        max=1.0,
    ),
]
AllSpansOpt = Annotated[
    bool,
    typer.Option(
        "--all-spans",
        help=(
            "Every technique span the model finds (its F1-tuned decoding: about four in five are wrong), each "
            "marked precise or not. Without it: only the surer spans, at the model's precise operating point "
            "(a confidence threshold chosen for precision over recall; see docs/techniques.md)."
        ),
    ),
]


def analyze(
    paths: PathsArg,
    fmt: FormatOpt = OutputFormat.json,
    max_bytes: MaxBytesOpt = Settings().max_bytes,
    no_clean: NoCleanOpt = False,
    model: ModelOpt = ModelName.fast,
    workers: WorkersOpt = 0,
    skip: SkipOpt = None,
    min_score: MinScoreOpt = 0.0,
    all_spans: AllSpansOpt = False,
    narratives: NarrativesOpt = None,
    claims: ClaimsOpt = ClaimsModel.full,
) -> None:
    """Analyse articles: clean text and metadata, technique spans with scores, check-worthy claims, the cast
    (entities and their roles) and the narratives."""
    from unspin.lanes import PipelineLoadError, analyse_many, lane_plan, process_pipeline
    from unspin.pipeline import DEFAULT_STAGES

    settings = make_settings(max_bytes, no_clean)
    settings.model = model.value if isinstance(model, Enum) else str(model)
    settings.min_score = min_score
    settings.all_spans = all_spans
    settings.claims = claims.value if isinstance(claims, Enum) else str(claims)
    skipped = {s.value for s in skip or []}
    stages = [s for s in DEFAULT_STAGES if s not in skipped]
    if narratives is not None:
        settings.narratives_file = str(narratives)
        stages.append("custom_narratives")
    try:
        jobs: Any = ((item, {}) if not isinstance(item, InputError) else item for item in read_paths(paths, settings))
        lanes = None
        if not workers:
            # one input: its models on every core; more: one document per core (see unspin.lanes)
            jobs, settings, lanes = lane_plan(jobs, settings)
            process_pipeline(settings, stages)  # load the models now: a missing one fails before any analysis
        finish(emit(analyse_many(jobs, settings, stages, workers=workers, lanes=lanes), fmt, lambda d: d.to_dict()))
    except PipelineLoadError as err:  # a model that is not shipped or not installed: say which and why
        err_console.print(f"[red]error:[/] {err}", highlight=False)
        raise typer.Exit(2) from None
