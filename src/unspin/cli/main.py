"""`unspin` command line."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from unspin import __version__
from unspin.cli.output import JsonWriter, render_document
from unspin.document import Document
from unspin.errors import InputError
from unspin.ingest.build import build_document
from unspin.ingest.sources import read_paths
from unspin.settings import Settings

app = typer.Typer(
    name="unspin",
    help="Show how a news article persuades: techniques, claims, roles and narratives.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True, soft_wrap=True)  # paths in messages must not be broken


class OutputFormat(str, Enum):
    json = "json"
    jsonl = "jsonl"
    text = "text"


PathsArg = Annotated[list[str], typer.Argument(help="Files, folders (recursively) or - for standard input.")]
FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="json, jsonl, or a terminal view.")]
MaxBytesOpt = Annotated[
    int, typer.Option("--max-bytes", help="Refuse inputs larger than this many bytes.", show_default=True)
]
NoCleanOpt = Annotated[bool, typer.Option("--no-clean", help="Keep the text as given (no debris removal).")]


class ModelName(str, Enum):
    fast = "fast"
    minilm_l6 = "minilm-l6"
    accurate = "accurate"


class SkippableStage(str, Enum):
    techniques = "techniques"
    claims = "claims"


ModelOpt = Annotated[
    ModelName,
    typer.Option("--model", "-m", help="fast (default), minilm-l6 (slower, a little better) or accurate (best)."),
]


def _settings(max_bytes: int, no_clean: bool) -> Settings:
    return Settings(max_bytes=max_bytes, clean=not no_clean)


def _report(err: InputError) -> None:
    err_console.print(f"[red]error:[/] {err.source}: {err.reason}", highlight=False, soft_wrap=True)


def _emit(docs_and_errors, fmt: OutputFormat, to_dict) -> int:
    """Write documents as they come, report errors on stderr; returns the number of errors."""
    errors = 0
    writer = JsonWriter(lines=fmt is OutputFormat.jsonl) if fmt is not OutputFormat.text else None
    console = Console()
    for item in docs_and_errors:
        if isinstance(item, InputError):
            errors += 1
            _report(item)
            continue
        if writer is not None:
            writer.write(to_dict(item))
        else:
            render_document(item, console)
    if writer is not None:
        writer.close()
    return errors


def _finish(errors: int) -> None:
    if errors:
        err_console.print(f"[red]{errors} input(s) failed[/]; the others were processed.")
        raise typer.Exit(1)


@app.command()
def extract(
    paths: PathsArg,
    fmt: FormatOpt = OutputFormat.json,
    max_bytes: MaxBytesOpt = Settings().max_bytes,
    no_clean: NoCleanOpt = False,
) -> None:
    """Recover the clean article body and its metadata from HTML or text."""
    settings = _settings(max_bytes, no_clean)

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

    _finish(_emit(docs(), fmt, to_dict))


@app.command()
def analyze(
    paths: PathsArg,
    fmt: FormatOpt = OutputFormat.json,
    max_bytes: MaxBytesOpt = Settings().max_bytes,
    no_clean: NoCleanOpt = False,
    model: ModelOpt = ModelName.fast,
    workers: Annotated[
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
    ] = 0,
    skip: Annotated[
        list[SkippableStage] | None,
        typer.Option(
            "--skip",
            help="Leave out a model stage (repeatable): techniques or claims. Its field in the output is null.",
        ),
    ] = None,
    min_score: Annotated[
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
    ] = 0.0,
) -> None:
    """Analyse articles: clean text and metadata, technique spans with scores, check-worthy claims."""
    from unspin.parallel import PipelineLoadError, analyse_many, lane_plan, process_pipeline
    from unspin.pipeline import DEFAULT_STAGES

    settings = _settings(max_bytes, no_clean)
    settings.model = model.value if isinstance(model, Enum) else str(model)
    settings.min_score = min_score
    skipped = {s.value for s in skip or []}
    stages = [s for s in DEFAULT_STAGES if s not in skipped]
    try:
        jobs: Any = ((item, {}) if not isinstance(item, InputError) else item for item in read_paths(paths, settings))
        lanes = None
        if not workers:
            # one input: its models on every core; more: one document per core (see unspin.parallel)
            jobs, settings, lanes = lane_plan(jobs, settings)
            process_pipeline(settings, stages)  # load the models now: a missing one fails before any analysis
        _finish(_emit(analyse_many(jobs, settings, stages, workers=workers, lanes=lanes), fmt, lambda d: d.to_dict()))
    except PipelineLoadError as err:  # a model that is not shipped or not installed: say which and why
        err_console.print(f"[red]error:[/] {err}", highlight=False)
        raise typer.Exit(2) from None


class Task(str, Enum):
    si = "si"
    flc = "flc"
    tc = "tc"


from unspin.cli.corpus import corpus_app  # noqa: E402

app.add_typer(corpus_app, name="corpus")

semeval_app = typer.Typer(help="Write SemEval-2020 Task 11 label files for a folder of article<ID>.txt files.")
app.add_typer(semeval_app, name="semeval")


def _tagger(model: ModelName, threads: int | None = None):
    from unspin.analyse.techniques import TechniqueTagger

    try:
        return TechniqueTagger.load(model.value, threads=threads)
    except Exception as err:  # a missing model or base package: say which and how to fix it
        err_console.print(f"[red]error:[/] cannot load the {model.value!r} technique model: {err}")
        raise typer.Exit(2) from None


def _lanes_and_tagger(model: ModelName):
    """A folder of articles runs in lanes, one article per core, each on a one-thread model (see
    unspin.parallel); on one core, one lane."""
    from unspin.parallel import cores_for

    lanes = cores_for(Settings())
    return lanes, _tagger(model, threads=1 if lanes > 1 else None)


@contextmanager
def _article_progress(what: str):
    """A progress bar on stderr over a folder's articles; yields the callback (done, total)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn(f"[bold]{what}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err_console
    )
    with bar:
        task = bar.add_task(what, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _semeval_write(kind: str, articles_dir: Path, out: Path, model: ModelName) -> None:
    from unspin.formats import semeval

    lanes, tagger = _lanes_and_tagger(model)
    try:
        writer = semeval.write_si if kind == "si" else semeval.write_flc
        with _article_progress(f"semeval {kind}") as progress:
            n = writer(articles_dir, out, tagger, lanes=lanes, progress=progress)
    except (semeval.SemEvalFormatError, OSError) as err:
        err_console.print(f"[red]error:[/] {err}")
        raise typer.Exit(1) from None
    err_console.print(f"wrote {n} {kind.upper()} lines to {out}")


ArticlesArg = Annotated[Path, typer.Argument(help="Folder of article<ID>.txt files.", exists=True, file_okay=False)]
OutOpt = Annotated[Path, typer.Option("--output", "-o", help="Label file to write.")]


@semeval_app.command("si")
def semeval_si(articles_dir: ArticlesArg, out: OutOpt, model: ModelOpt = ModelName.fast) -> None:
    """Span identification: ID<TAB>start<TAB>end for every propaganda span."""
    _semeval_write("si", articles_dir, out, model)


@semeval_app.command("flc")
def semeval_flc(articles_dir: ArticlesArg, out: OutOpt, model: ModelOpt = ModelName.fast) -> None:
    """Fragment-level classification: ID<TAB>Technique<TAB>start<TAB>end."""
    _semeval_write("flc", articles_dir, out, model)


@semeval_app.command("tc")
def semeval_tc(
    articles_dir: ArticlesArg,
    spans: Annotated[Path, typer.Option("--spans", help="Template: ID<TAB>?<TAB>start<TAB>end.", exists=True)],
    out: OutOpt,
    model: ModelOpt = ModelName.fast,
) -> None:
    """Technique classification: fill the technique column of a span template."""
    from unspin.formats import semeval

    lanes, tagger = _lanes_and_tagger(model)
    try:
        with _article_progress("semeval tc") as progress:
            n = semeval.fill_tc(articles_dir, spans, out, tagger, lanes=lanes, progress=progress)
    except (semeval.SemEvalFormatError, OSError) as err:
        err_console.print(f"[red]error:[/] {err}")
        raise typer.Exit(1) from None
    err_console.print(f"wrote {n} TC lines to {out}")


@app.command("eval")
def evaluate(
    task: Annotated[Task, typer.Argument(help="si, flc or tc.")],
    gold: Annotated[Path, typer.Argument(help="Gold label file.", exists=True, dir_okay=False)],
    pred: Annotated[Path, typer.Argument(help="Predicted label file.", exists=True, dir_okay=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print the scores as JSON.")] = False,
    articles: Annotated[
        Path | None,
        typer.Option(
            "--articles",
            help="Folder of article<ID>.txt: check that every span names one of them and ends inside its text.",
            exists=True,
            file_okay=False,
        ),
    ] = None,
) -> None:
    """Score predictions with the official SemEval-2020 Task 11 span metric: P, R, F1.

    Overlapping spans are merged per article (per technique for FLC) on both sides, as the official scorer
    does, so a span predicted twice changes nothing."""
    import json

    from rich.table import Table

    from unspin.eval.spans import score_files
    from unspin.formats.semeval import SemEvalFormatError

    try:
        scores = score_files(task.value, gold, pred, articles)
    except (SemEvalFormatError, OSError) as err:
        err_console.print(f"[red]error:[/] {escape(str(err))}")
        raise typer.Exit(1) from None
    for warning in scores.warnings:
        err_console.print(f"[yellow]warning:[/] {escape(warning)}")
    if as_json:
        typer.echo(json.dumps(scores.to_dict(), indent=2))
        return
    typer.echo(f"{task.value.upper()}\tP={scores.precision:.4f}\tR={scores.recall:.4f}\tF1={scores.f1:.4f}")
    if scores.per_technique:
        table = Table(title="per technique")
        for col in ("technique", "P", "R", "F1", "pred", "gold"):
            table.add_column(col, justify="left" if col == "technique" else "right")
        for name, t in sorted(scores.per_technique.items()):
            table.add_row(name, f"{t.precision:.3f}", f"{t.recall:.3f}", f"{t.f1:.3f}", str(t.n_pred), str(t.n_gold))
        Console().print(table)


@app.command()
def claims(
    path: Annotated[str, typer.Argument(help="A text/HTML file, or - for standard input.")],
    per_line: Annotated[
        bool, typer.Option("--per-line", help="Every line is one sentence: line<TAB>score<TAB>Yes|No.")
    ] = False,
    fmt: FormatOpt = OutputFormat.json,
    max_bytes: MaxBytesOpt = Settings().max_bytes,
) -> None:
    """Check-worthy factual claims: sentences a fact-checker should verify."""
    from unspin.claims.detector import score_lines

    settings = _settings(max_bytes, False)
    if per_line:
        item = next(iter(read_paths([path], settings)))
        if isinstance(item, InputError):
            _report(item)
            raise typer.Exit(1)
        content = item.content
        lines = content.split("\n")
        if content.endswith("\n"):
            lines.pop()
        for number, (score, yes) in enumerate(score_lines([ln.rstrip("\r") for ln in lines]), start=1):
            typer.echo(f"{number}\t{score:.4f}\t{'Yes' if yes else 'No'}")
        return
    from unspin.pipeline import Pipeline

    pipeline = Pipeline(stages=["language", "segment", "claims"], settings=settings)

    def to_dict(doc: Document) -> dict:
        return {"source": doc.source, "title": doc.title, "claims": doc.claims, "warnings": doc.warnings}

    _finish(_emit(pipeline.pipe(read_paths([path], settings)), fmt, to_dict))


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on; beyond localhost needs an API key.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option("--port", "-p", help="Port to listen on.")] = 8000,
    db: Annotated[str, typer.Option("--db", help="Database URL (or an SQLite file path).")] = "sqlite:///unspin.db",
    api_key: Annotated[
        str | None, typer.Option("--api-key", envvar="UNSPIN_API_KEY", help="Require this key (X-API-Key header).")
    ] = None,
    max_body: Annotated[int, typer.Option("--max-body", help="Largest request body in bytes.")] = 5 * 1024 * 1024,
    time_limit: Annotated[float, typer.Option("--time-limit", help="Seconds one analysis may take.")] = 60.0,
    model: ModelOpt = ModelName.fast,
) -> None:
    """Serve the web app and the REST API (docs at /api/docs)."""
    from unspin.analyse.techniques.tagger import MODELS_DIR
    from unspin.errors import UnspinError
    from unspin.web import run

    if not (MODELS_DIR / model.value / "config.json").is_file():
        err_console.print(f"[red]error:[/] technique model {model.value!r} is not installed", highlight=False)
        raise typer.Exit(2)
    try:
        run(host, port, db, api_key, max_body=max_body, time_limit=time_limit, model=model.value)
    except UnspinError as err:
        err_console.print(f"[red]error:[/] {err}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


TRAIN_CONTEXT = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}
train_app = typer.Typer(
    help="Reproduce the shipped models from data (needs the training extras: pip install -e '.\\[train]'). "
    "Each command takes --config, --data-dir, --out and --seed (the training seed; the split stays)."
)
app.add_typer(train_app, name="train")


def _train(module: str, args: list[str]) -> None:
    import importlib

    try:
        import torch  # noqa: F401
    except ImportError:
        err_console.print(
            "[red]error:[/] training needs torch and the other training extras: "
            "`.venv/bin/pip install -e '.\\[train]'` (a CPU build of torch is enough)"
        )
        raise typer.Exit(2) from None
    raise typer.Exit(importlib.import_module(module).main(args) or 0)


@train_app.command("techniques", context_settings=TRAIN_CONTEXT)
def train_techniques(ctx: typer.Context) -> None:
    """Train the technique tagger: --config configs/techniques-fast.toml --data-dir PTC_DIR --out MODEL_DIR."""
    _train("unspin.train.techniques", list(ctx.args))


@train_app.command("span-classifier", context_settings=TRAIN_CONTEXT)
def train_span_classifier(ctx: typer.Context) -> None:
    """Train the TC span classifier: --config configs/span-classifier.toml --data-dir PTC_DIR --out MODEL_DIR."""
    _train("unspin.train.span_classifier", list(ctx.args))


@train_app.command("claims", context_settings=TRAIN_CONTEXT)
def train_claims(ctx: typer.Context) -> None:
    """Train the check-worthiness classifier: --config configs/claims.toml --data-dir CHECKTHAT_DIR --out DIR."""
    _train("unspin.train.claims", list(ctx.args))


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def main() -> None:  # pragma: no cover - console entry point alternative
    app(prog_name="unspin")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
