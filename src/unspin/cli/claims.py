"""`unspin claims`: check-worthy sentences of one article, or a score for every line of a file."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from unspin.cli.common import (
    FormatOpt,
    MaxBytesOpt,
    OutputFormat,
    article_progress,
    emit,
    finish,
    make_settings,
    report,
)
from unspin.document import Document
from unspin.errors import InputError
from unspin.ingest.sources import read_paths
from unspin.settings import Settings


def claims(
    path: Annotated[str, typer.Argument(help="A text/HTML file, or - for standard input.")],
    per_line: Annotated[
        bool, typer.Option("--per-line", help="Every line is one sentence: line<TAB>score<TAB>Yes|No.")
    ] = False,
    fmt: FormatOpt = OutputFormat.json,
    max_bytes: MaxBytesOpt = Settings().max_bytes,
) -> None:
    """Check-worthy factual claims: sentences a fact-checker should verify."""
    from unspin.claims.detector import iter_line_scores, lines_of

    settings = make_settings(max_bytes, False)
    if per_line:
        item = next(iter(read_paths([path], settings)))
        if isinstance(item, InputError):
            report(item)
            raise typer.Exit(1)
        lines = lines_of(item.content)
        number = 0
        with article_progress("claims, lines") as progress:
            progress(0, len(lines))
            for answers in iter_line_scores(lines):
                out = []
                for score, yes in answers:
                    number += 1
                    out.append(f"{number}\t{score:.4f}\t{'Yes' if yes else 'No'}\n")
                sys.stdout.write("".join(out))
                sys.stdout.flush()
                progress(number, len(lines))
        return
    from unspin.pipeline import Pipeline

    pipeline = Pipeline(stages=["language", "segment", "claims"], settings=settings)

    def to_dict(doc: Document) -> dict:
        return {"source": doc.source, "title": doc.title, "claims": doc.claims, "warnings": doc.warnings}

    finish(emit(pipeline.pipe(read_paths([path], settings)), fmt, to_dict))
