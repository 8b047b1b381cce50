"""`unspin semeval si|flc|tc`: SemEval-2020 Task 11 label files for a folder of articles."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from unspin.cli.common import ModelName, ModelOpt, article_progress, err_console
from unspin.settings import Settings

semeval_app = typer.Typer(help="Write SemEval-2020 Task 11 label files for a folder of article<ID>.txt files.")

ArticlesArg = Annotated[Path, typer.Argument(help="Folder of article<ID>.txt files.", exists=True, file_okay=False)]
OutOpt = Annotated[Path, typer.Option("--output", "-o", help="Label file to write.")]


def load_tagger(model: ModelName, threads: int | None = None) -> Any:
    from unspin.techniques import TechniqueTagger

    try:
        return TechniqueTagger.load(model.value, threads=threads)
    except Exception as err:  # a missing model or base package: say which and how to fix it
        err_console.print(f"[red]error:[/] cannot load the {model.value!r} technique model: {err}")
        raise typer.Exit(2) from None


def _lanes_and_tagger(model: ModelName) -> tuple[int, Any]:
    """A folder of articles runs in lanes, one article per core, each on a one-thread model (see
    unspin.lanes); on one core, one lane."""
    from unspin.lanes import cores_for

    lanes = cores_for(Settings())
    return lanes, load_tagger(model, threads=1 if lanes > 1 else None)


def _semeval_write(kind: str, articles_dir: Path, out: Path, model: ModelName) -> None:
    from unspin.formats import semeval, semeval_tasks

    lanes, tagger = _lanes_and_tagger(model)
    try:
        writer = semeval_tasks.write_si if kind == "si" else semeval_tasks.write_flc
        with article_progress(f"semeval {kind}") as progress:
            n = writer(articles_dir, out, tagger, lanes=lanes, progress=progress)
    except (semeval.SemEvalFormatError, OSError) as err:
        err_console.print(f"[red]error:[/] {err}")
        raise typer.Exit(1) from None
    err_console.print(f"wrote {n} {kind.upper()} lines to {out}")


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
    from unspin.formats import semeval, semeval_tasks

    lanes, tagger = _lanes_and_tagger(model)
    try:
        with article_progress("semeval tc") as progress:
            n = semeval_tasks.fill_tc(articles_dir, spans, out, tagger, lanes=lanes, progress=progress)
    except (semeval.SemEvalFormatError, OSError) as err:
        err_console.print(f"[red]error:[/] {err}")
        raise typer.Exit(1) from None
    err_console.print(f"wrote {n} TC lines to {out}")
