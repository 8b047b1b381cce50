"""`unspin semeval si|flc|tc|roles|narratives`: SemEval answer files (2020 Task 11, 2025 Task 10)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from unspin.cli.common import ModelName, ModelOpt, article_progress, err_console
from unspin.settings import Settings

semeval_app = typer.Typer(
    help="Write SemEval answer files: 2020 Task 11 technique labels (si, flc, tc) for article<ID>.txt files, "
    "2025 Task 10 roles and narratives for its documents."
)

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


DocsArg = Annotated[
    Path,
    typer.Argument(
        help="Folder of SemEval-2025 documents (*.txt, or a folder holding raw-documents/).",
        exists=True,
        file_okay=False,
    ),
]


def _framing_model() -> Any:
    from unspin.framing.model import FramingModel

    try:
        return FramingModel.load()
    except Exception as err:  # a missing model or base package: say which and how to fix it
        err_console.print(f"[red]error:[/] cannot load the framing model: {err}")
        raise typer.Exit(2) from None


@semeval_app.command("roles")
def semeval_roles(
    docs_dir: DocsArg,
    mentions: Annotated[
        Path,
        typer.Option(
            "--mentions",
            help="Mentions: article_id<TAB>mention<TAB>start<TAB>end (end inclusive).",
            exists=True,
            dir_okay=False,
        ),
    ],
    out: OutOpt,
) -> None:
    """SemEval-2025 Task 10 subtask 1: a main role and a fine role for every given entity mention."""
    from unspin.formats.semeval2025 import SemEval2025FormatError
    from unspin.formats.semeval2025_tasks import write_roles

    model = _framing_model()
    try:
        with article_progress("semeval roles") as progress:
            n, problems = write_roles(docs_dir, mentions, out, model, progress=progress)
    except (SemEval2025FormatError, OSError) as err:
        err_console.print(f"[red]error:[/] {err}")
        raise typer.Exit(1) from None
    for problem in problems:  # one line each, never wrapped: scripts and people grep for FILE:LINE
        err_console.print(f"[red]error:[/] {escape(str(problem))}", soft_wrap=True, highlight=False)
    err_console.print(
        f"wrote {n} role lines to {out}" + (f"; {len(problems)} mention lines skipped" if problems else "")
    )
    if problems:
        raise typer.Exit(1)


@semeval_app.command("narratives")
def semeval_narratives(docs_dir: DocsArg, out: OutOpt) -> None:
    """SemEval-2025 Task 10 subtask 2: the narratives and subnarratives of every document."""
    from unspin.formats.semeval2025 import SemEval2025FormatError
    from unspin.formats.semeval2025_tasks import write_narratives

    model = _framing_model()
    try:
        with article_progress("semeval narratives") as progress:
            n = write_narratives(docs_dir, out, model, progress=progress)
    except (SemEval2025FormatError, OSError) as err:
        err_console.print(f"[red]error:[/] {err}")
        raise typer.Exit(1) from None
    err_console.print(f"wrote {n} narrative lines to {out}")
