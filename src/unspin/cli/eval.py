"""`unspin eval si|flc|tc`: score predicted label files against gold ones."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from unspin.cli.common import err_console


class Task(str, Enum):
    si = "si"
    flc = "flc"
    tc = "tc"


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
