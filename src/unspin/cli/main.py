"""`unspin` command line."""

from __future__ import annotations

import sys
from enum import Enum
from typing import Annotated

import typer
from rich.console import Console

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
err_console = Console(stderr=True)


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
) -> None:
    """Analyse articles: clean text, metadata, sentences (and the models' findings)."""
    from unspin.pipeline import Pipeline

    settings = _settings(max_bytes, no_clean)
    pipeline = Pipeline(settings=settings)
    _finish(_emit(pipeline.pipe(read_paths(paths, settings)), fmt, lambda d: d.to_dict()))


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
) -> None:
    """Serve the web app and the REST API (docs at /api/docs)."""
    from unspin.errors import UnspinError
    from unspin.web import run

    try:
        run(host, port, db, api_key, max_body=max_body, time_limit=time_limit)
    except UnspinError as err:
        err_console.print(f"[red]error:[/] {err}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def main() -> None:  # pragma: no cover - console entry point alternative
    app(prog_name="unspin")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
