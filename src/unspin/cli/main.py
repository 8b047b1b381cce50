"""`unspin` command line: the app and its commands, one module per command group."""

from __future__ import annotations

import sys

import typer

from unspin.cli.analyze import analyze, extract
from unspin.cli.claims import claims
from unspin.cli.corpus import corpus_app
from unspin.cli.eval import evaluate
from unspin.cli.semeval import semeval_app
from unspin.cli.serve import serve
from unspin.cli.train import train_app
from unspin.cli.version import version

app = typer.Typer(
    name="unspin",
    help="Show how a news article persuades: propaganda techniques at span level and check-worthy claims.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

app.command()(extract)
app.command()(analyze)
app.add_typer(corpus_app, name="corpus")
app.add_typer(semeval_app, name="semeval")
app.command("eval")(evaluate)
app.command()(claims)
app.command()(serve)
app.add_typer(train_app, name="train")
app.command()(version)


def main() -> None:  # pragma: no cover - console entry point alternative
    app(prog_name="unspin")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
