"""`unspin eval si|flc|tc|roles|narratives`: score predicted label files against gold ones."""

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
    roles = "roles"
    narratives = "narratives"


def evaluate(
    task: Annotated[Task, typer.Argument(help="si, flc, tc (SemEval-2020), roles or narratives (SemEval-2025).")],
    gold: Annotated[Path, typer.Argument(help="Gold label file.", exists=True, dir_okay=False)],
    pred: Annotated[Path, typer.Argument(help="Predicted label file.", exists=True, dir_okay=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print the scores as JSON.")] = False,
    articles: Annotated[
        Path | None,
        typer.Option(
            "--articles",
            help=(
                "Folder of article<ID>.txt: check that every span names one of them and ends inside its text. "
                "For roles and narratives: the folder of documents (raw-documents): every row must name one, and "
                "every mention's text must be found at its offsets."
            ),
            exists=True,
            file_okay=False,
        ),
    ] = None,
) -> None:
    """Score predictions with the official metrics: SemEval-2020 Task 11 spans (si, flc, tc: P, R, F1) or
    SemEval-2025 Task 10 framing (roles: exact-match ratio over fine roles, main-role accuracy, micro P/R/F1;
    narratives: samples-F1 over narratives and subnarratives).

    Overlapping spans are merged per article (per technique for FLC) on both sides, as the official scorer
    does, so a span predicted twice changes nothing. Framing rows are paired by key (article, start, end for a
    mention; article for narratives), never by file order."""
    import json

    if task in (Task.roles, Task.narratives):
        return evaluate_framing(task.value, gold, pred, as_json, articles)

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


def _framing_summary(task: str, scores: object) -> str:
    d = scores.to_dict()  # type: ignore[attr-defined]
    if task == "roles":
        names = ("EMR", "main_accuracy", "precision", "recall", "f1", "mentions", "answered")
    else:
        names = ("coarse_F1", "fine_F1", "articles", "answered")
    cells = [f"{k}={d[k]:.4f}" if isinstance(d[k], float) else f"{k}={d[k]}" for k in names]
    return "\t".join([task.upper(), *cells])


def _framing_table(task: str, scores: object) -> None:
    from rich.table import Table

    per = scores.per_language  # type: ignore[attr-defined]
    if len(per) < 2:
        return
    table = Table(title="per language")
    if task == "roles":
        cols = ("language", "EMR", "main acc", "P", "R", "F1", "mentions", "answered")
        rows = [
            (k, v.emr, v.main_accuracy, v.precision, v.recall, v.f1, v.mentions, v.answered) for k, v in per.items()
        ]
    else:
        cols = ("language", "coarse F1", "fine F1", "articles", "answered")
        rows = [(k, v.coarse_f1, v.fine_f1, v.articles, v.answered) for k, v in per.items()]
    for col in cols:
        table.add_column(col, justify="left" if col == "language" else "right")
    for row in rows:
        table.add_row(*(f"{x:.3f}" if isinstance(x, float) else str(x) for x in row))
    Console().print(table)


#: problems printed one per line before the rest is summed up
MAX_PROBLEMS_SHOWN = 20


def evaluate_framing(task: str, gold: Path, pred: Path, as_json: bool, documents: Path | None) -> None:
    """`unspin eval roles|narratives`: print the scores, then every problem as one line naming file and line;
    exit 1 when a file cannot be read or any line had a problem (the other lines are still scored)."""
    import json

    from unspin.eval.framing import score_files
    from unspin.formats.semeval2025 import SemEval2025FormatError

    try:
        scores = score_files(task, gold, pred, documents)
    except (SemEval2025FormatError, OSError) as err:
        err_console.print(f"[red]error:[/] {escape(str(err))}")
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(scores.to_dict(), indent=2))
    else:
        typer.echo(_framing_summary(task, scores))
        _framing_table(task, scores)
    for warning in scores.warnings:
        err_console.print(f"[yellow]warning:[/] {escape(warning)}")
    for problem in scores.problems[:MAX_PROBLEMS_SHOWN]:
        err_console.print(f"[red]error:[/] {escape(str(problem))}")
    if len(scores.problems) > MAX_PROBLEMS_SHOWN:
        err_console.print(f"[red]error:[/] ... and {len(scores.problems) - MAX_PROBLEMS_SHOWN} more problem lines")
    if scores.problems:
        raise typer.Exit(1)
