"""`unspin serve`: the web app and the REST API."""

from __future__ import annotations

from typing import Annotated

import typer

from unspin.cli.common import ModelName, ModelOpt, err_console


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
    from unspin.errors import UnspinError
    from unspin.techniques.tagger import MODELS_DIR
    from unspin.web import run

    if not (MODELS_DIR / model.value / "config.json").is_file():
        err_console.print(f"[red]error:[/] technique model {model.value!r} is not installed", highlight=False)
        raise typer.Exit(2)
    try:
        run(host, port, db, api_key, max_body=max_body, time_limit=time_limit, model=model.value)
    except UnspinError as err:
        err_console.print(f"[red]error:[/] {err}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
