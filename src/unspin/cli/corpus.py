"""`unspin corpus ...`: store analyses of many articles, aggregate them, find republished copies."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from unspin.settings import Settings

corpus_app = typer.Typer(help="Analyse and store many articles; aggregate them; trace republished copies.")
err_console = Console(stderr=True, soft_wrap=True)  # paths in messages must not be broken

DbOpt = Annotated[
    str | None,
    typer.Option("--db", help="Database URL (postgresql://..., sqlite:///file.db) or a file path. Default: unspin.db"),
]


def _store(db: str | None):
    from unspin.store import Store, StoreError

    try:
        return Store(db)
    except StoreError as err:
        err_console.print(f"[red]error:[/] {err}", highlight=False)
        raise typer.Exit(2) from None


@contextmanager
def _store_errors() -> Iterator[None]:
    """A database that fails while a command reads it (damaged, locked, gone): one line, exit 2."""
    from unspin.store import StoreError

    try:
        yield
    except StoreError as err:
        err_console.print(f"[red]error:[/] {err}", highlight=False)
        raise typer.Exit(2) from None


@corpus_app.command("add")
def add(
    paths: Annotated[list[str], typer.Argument(help="Files, folders, .jsonl/.csv records, .warc archives, or -.")],
    db: DbOpt = None,
    workers: Annotated[int, typer.Option("--workers", help="Analyse on a local Dask cluster of N workers.")] = 0,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="Use an existing Dask cluster: tcp://HOST:PORT.")
    ] = None,
    model: Annotated[str, typer.Option("--model", "-m", help="fast, minilm-l6 or accurate.")] = "fast",
    claims: Annotated[
        str, typer.Option("--claims", help="Claims model: full (default) or fast (a third of the cost, lower F1).")
    ] = "full",
    all_spans: Annotated[
        bool,
        typer.Option(
            "--all-spans",
            help="Store every technique span the model finds, not only those at its precise operating point.",
        ),
    ] = False,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Documents per database transaction.")] = 16,
    max_bytes: Annotated[
        int, typer.Option("--max-bytes", help="Refuse inputs larger than this.")
    ] = Settings().max_bytes,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
) -> None:
    """Analyse every input and store it; adding the same content again stores nothing new."""
    from unspin.corpus.runner import add_paths, estimate_inputs
    from unspin.lanes import PipelineLoadError
    from unspin.store import StoreError

    store = _store(db)
    if claims not in ("full", "fast"):
        err_console.print(f"[red]error:[/] --claims must be full or fast, not {claims!r}", highlight=False)
        raise typer.Exit(2)
    settings = Settings(max_bytes=max_bytes, model=model, claims=claims, all_spans=all_spans)
    total = estimate_inputs(paths)
    bar = Progress(
        TextColumn("[bold]corpus add"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>7.1f} docs/s"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        disable=not progress,
        transient=False,
    )
    with bar:
        task = bar.add_task("add", total=total, rate=0.0)

        def tick(n: int) -> None:
            bar.advance(task, n)
            t = bar.tasks[0]
            if t.elapsed:
                bar.update(task, rate=t.completed / t.elapsed)

        try:
            report = add_paths(paths, store, settings, workers=workers, scheduler=scheduler, batch_size=batch_size,
                               tick=tick)  # fmt: skip
        except (StoreError, PipelineLoadError) as err:
            err_console.print(f"[red]error:[/] {err}")
            raise typer.Exit(2) from None
    for e in report.errors:
        err_console.print(f"[red]error:[/] {e.source}: {e.reason}", highlight=False, soft_wrap=True)
    with _store_errors():
        total = store.count()
    err_console.print(
        f"run {report.run_id}: {report.added} added, {report.skipped} already stored, {len(report.errors)} errors "
        f"({total} documents in {store.display_url})"
    )
    if report.errors:
        raise typer.Exit(1)


class ExportFormat(str, Enum):
    jsonl = "jsonl"
    csv = "csv"
    parquet = "parquet"
    semeval = "semeval"


@corpus_app.command("export")
def export(
    fmt: Annotated[ExportFormat, typer.Option("--format", "-f")] = ExportFormat.jsonl,
    out: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: standard output).")
    ] = None,
    db: DbOpt = None,
) -> None:
    """Write every stored document: JSON lines, CSV, Parquet or SemEval FLC label lines."""
    from unspin.corpus import export as ex

    store = _store(db)
    docs = store.iter_documents()
    with _store_errors():
        if fmt is ExportFormat.parquet:
            if out is None:
                err_console.print("[red]error:[/] Parquet needs a file: -o corpus.parquet")
                raise typer.Exit(2)
            n = ex.write_parquet(docs, str(out))
        else:
            writer = {
                ExportFormat.jsonl: ex.write_jsonl,
                ExportFormat.csv: ex.write_csv,
                ExportFormat.semeval: ex.write_semeval,
            }[fmt]
            if out is None:
                n = writer(docs, sys.stdout)
            else:
                with out.open("w", encoding="utf-8", newline="") as fh:
                    n = writer(docs, fh)
    err_console.print(f"exported {n} documents")


class StatsBy(str, Enum):
    outlet = "outlet"
    month = "month"
    technique = "technique"
    narrative = "narrative"
    entity = "entity"


class TableFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


@corpus_app.command("stats")
def stats(
    by: Annotated[
        StatsBy, typer.Option("--by", help="outlet, month, technique, narrative or entity.")
    ] = StatsBy.outlet,
    fmt: Annotated[TableFormat, typer.Option("--format", "-f")] = TableFormat.table,
    outlet: Annotated[str | None, typer.Option("--outlet", help="Count this outlet's documents only.")] = None,
    month: Annotated[bool, typer.Option("--month", help="--by entity: one row per month too.")] = False,
    top: Annotated[
        int, typer.Option("--top", min=0, help="--by entity: the N entities found in most documents (0: all).")
    ] = 0,
    db: DbOpt = None,
) -> None:
    """Aggregates: articles, mean article score, technique mix and top spans per outlet or month, or per
    technique; narratives per month (documents, share of the month's documents, mean score); or who each
    outlet casts as what (documents and mentions per entity, main role and outlet). Documents the framing
    stage did not analyse are counted apart."""
    with _store_errors():
        rows = _store(db).stats(by.value, outlet=outlet, monthly=month, top=top or None)
    if fmt is TableFormat.json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    flat = [
        {k: (json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v) for k, v in r.items()}
        for r in rows
    ]
    if fmt is TableFormat.csv:
        if flat:
            w = csv.DictWriter(sys.stdout, fieldnames=list(flat[0]))
            w.writeheader()
            w.writerows(flat)
        return
    if not rows:
        Console().print("no documents stored yet" if outlet is None else f"no documents stored from {outlet}")
        return
    title = f"corpus by {by.value}" + (f" ({outlet})" if outlet else "")
    if by in (StatsBy.narrative, StatsBy.entity):
        Console().print(_framing_table(rows, title))
        return
    table = Table(title=title)
    for col in rows[0]:
        table.add_column(col, overflow="fold")
    for r in rows:
        cells = []
        for v in r.values():
            if isinstance(v, dict):
                v = ", ".join(f"{k} {x:.0%}" for k, x in list(v.items())[:4])
            elif isinstance(v, list):
                v = "; ".join(str(x) for x in v[:3])
            cells.append("" if v is None else str(v))
        table.add_row(*cells)
    Console().print(table)


NOT_ANALYSED_LABEL = "(not analysed for framing)"
NUMERIC_COLUMNS = {"documents": "docs", "share_of_month": "share", "share_of_outlet": "share", "mentions": "mentions",
                   "mean_score": "mean score"}  # fmt: skip


def _framing_table(rows: list[dict], title: str) -> Table:
    """Narrative or entity rows as a table; documents not analysed for framing say so in the first
    column, an entity without a main role says "(no role)"."""
    first = "narrative" if "narrative" in rows[0] else "entity"
    columns = [c for c in rows[0] if c != "framing"]
    table = Table(title=title)
    for col in columns:
        numeric = col in NUMERIC_COLUMNS
        table.add_column(NUMERIC_COLUMNS.get(col, col.replace("_", " ")), overflow="fold", no_wrap=numeric,
                         justify="right" if numeric else "left")  # fmt: skip
    for r in rows:
        cells = []
        for col in columns:
            v = r[col]
            if col == first and r["framing"] != "analysed":
                v = NOT_ANALYSED_LABEL
            elif col == "main_role" and r["framing"] == "analysed":
                v = v or "(no role)"
            elif "share" in col and v is not None:
                v = f"{v:.0%}"
            elif col == "mean_score" and v is not None:
                v = f"{v:.2f}"
            elif isinstance(v, dict):
                v = ", ".join(f"{k} {n}" for k, n in list(v.items())[:3])
            cells.append("" if v is None else str(v))
        table.add_row(*cells, style="dim" if r["framing"] != "analysed" else None)
    return table


@corpus_app.command("copies")
def copies(
    fmt: Annotated[TableFormat, typer.Option("--format", "-f", help="table or json.")] = TableFormat.table,
    db: DbOpt = None,
) -> None:
    """Groups of republished copies: every member by source, outlet, date and similarity, the first first."""
    with _store_errors():
        groups = _store(db).copy_groups()
    if fmt is TableFormat.json:
        typer.echo(json.dumps(groups, indent=2, ensure_ascii=False))
        return
    if not groups:
        typer.echo("no republished copies found")
        return
    for i, g in enumerate(groups, start=1):
        first = g["first"]
        typer.echo(
            f"group {i}: {len(g['members'])} documents; first: {first['outlet'] or '?'} {first['published'] or ''}"
        )
        for m in g["members"]:
            role = "first" if m["corpus_id"] == first["corpus_id"] else "copy"
            name = m["source"]
            if m["record_id"] and ":" in m["source"].rsplit("/", 1)[-1]:
                name += f" (id {m['record_id']})"  # a record of a JSONL/CSV/WARC file
            typer.echo(
                f"  {role:5}  {name}\toutlet={m['outlet'] or '?'}\tpublished={m['published'] or '?'}"
                f"\tsimilarity={m['similarity']:.2f}"
            )


@corpus_app.command("stories")
def stories(
    window: Annotated[int, typer.Option("--window", help="Days within which articles of one story appear.")] = 4,
    fmt: Annotated[TableFormat, typer.Option("--format", "-f", help="table or json.")] = TableFormat.table,
    db: DbOpt = None,
) -> None:
    """Groups of articles about the same event (embeddings of title and opening, plus a time window)."""
    with _store_errors():
        groups = _store(db).stories(window_days=window)
    if fmt is TableFormat.json:
        typer.echo(json.dumps(groups, indent=2, ensure_ascii=False))
        return
    if not groups:
        typer.echo("no stories with two or more articles found")
        return
    for i, g in enumerate(groups, start=1):
        span = " to ".join(sorted({g["first_published"] or "?", g["last_published"] or "?"}))
        typer.echo(
            f"story {i}: {g['size']} articles, {len(g['outlets'])} outlets, {span}, cohesion {g['cohesion']:.2f}"
        )
        for m in g["members"]:
            typer.echo(f"  {m['published'] or '?':<16} {m['outlet'] or '?':<28} {m['title'] or m['source']}")


@corpus_app.command("errors")
def errors(db: DbOpt = None) -> None:
    """Inputs that could not be stored, with the reason."""
    with _store_errors():
        rows = _store(db).errors()
    for e in rows:
        typer.echo(f"run {e['run']}\t{e['source']}\t{e['reason']}")


@corpus_app.command("runs")
def runs(db: DbOpt = None) -> None:
    """Every `corpus add` run: when, what, how many added, skipped and failed."""
    with _store_errors():
        rows = _store(db).runs()
    for r in rows:
        typer.echo(
            f"run {r['id']}\t{r['status']}\t{r['started_at']}\tadded={r['added']}\tskipped={r['skipped']}"
            f"\terrors={r['errors']}"
        )
