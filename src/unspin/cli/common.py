"""What the commands share: output formats, common options, error reporting, progress bars."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from enum import Enum
from typing import Annotated, Any

import typer
from rich.console import Console

from unspin.cli.output import JsonWriter, render_document
from unspin.document import Document
from unspin.errors import InputError
from unspin.settings import Settings

err_console = Console(stderr=True, soft_wrap=True)  # paths in messages must not be broken


class OutputFormat(str, Enum):
    json = "json"
    jsonl = "jsonl"
    text = "text"


class ModelName(str, Enum):
    fast = "fast"
    minilm_l6 = "minilm-l6"
    accurate = "accurate"


PathsArg = Annotated[list[str], typer.Argument(help="Files, folders (recursively) or - for standard input.")]
FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="json, jsonl, or a terminal view.")]
MaxBytesOpt = Annotated[
    int, typer.Option("--max-bytes", help="Refuse inputs larger than this many bytes.", show_default=True)
]
NoCleanOpt = Annotated[bool, typer.Option("--no-clean", help="Keep the text as given (no debris removal).")]
ModelOpt = Annotated[
    ModelName,
    typer.Option("--model", "-m", help="fast (default), minilm-l6 (slower, a little better) or accurate (best)."),
]


def make_settings(max_bytes: int, no_clean: bool) -> Settings:
    return Settings(max_bytes=max_bytes, clean=not no_clean)


def report(err: InputError) -> None:
    err_console.print(f"[red]error:[/] {err.source}: {err.reason}", highlight=False, soft_wrap=True)


def emit(
    docs_and_errors: Iterable[Document | InputError], fmt: OutputFormat, to_dict: Callable[[Document], dict]
) -> int:
    """Write documents as they come, report errors on stderr; returns the number of errors."""
    errors = 0
    writer = JsonWriter(lines=fmt is OutputFormat.jsonl) if fmt is not OutputFormat.text else None
    console = Console()
    for item in docs_and_errors:
        if isinstance(item, InputError):
            errors += 1
            report(item)
            continue
        if writer is not None:
            writer.write(to_dict(item))
        else:
            render_document(item, console)
    if writer is not None:
        writer.close()
    return errors


def finish(errors: int) -> None:
    if errors:
        err_console.print(f"[red]{errors} input(s) failed[/]; the others were processed.")
        raise typer.Exit(1)


@contextmanager
def article_progress(what: str) -> Iterator[Callable[[int, int], Any]]:
    """A progress bar on stderr over a folder's articles; yields the callback (done, total)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn(f"[bold]{what}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err_console
    )
    with bar:
        task = bar.add_task(what, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)
