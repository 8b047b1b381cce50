"""`unspin train ...`: reproduce the shipped models (the training extras must be installed)."""

from __future__ import annotations

import typer

from unspin.cli.common import err_console

TRAIN_CONTEXT = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}
train_app = typer.Typer(
    help="Reproduce the shipped models from data (needs the training extras: pip install -e '.\\[train]'). "
    "Each command takes --config, --data-dir, --out and --seed (the training seed; the split stays)."
)


def _train(module: str, args: list[str]) -> None:
    import importlib

    try:
        import torch  # noqa: F401
    except ImportError:
        err_console.print(
            "[red]error:[/] training needs torch and the other training extras: "
            "`.venv/bin/pip install -e '.\\[train]'` (a CPU build of torch is enough)"
        )
        raise typer.Exit(2) from None
    raise typer.Exit(importlib.import_module(module).main(args) or 0)


@train_app.command("techniques", context_settings=TRAIN_CONTEXT)
def train_techniques(ctx: typer.Context) -> None:
    """Train the technique tagger: --config configs/techniques-fast.toml --data-dir PTC_DIR --out MODEL_DIR."""
    _train("unspin.train.techniques", list(ctx.args))


@train_app.command("span-classifier", context_settings=TRAIN_CONTEXT)
def train_span_classifier(ctx: typer.Context) -> None:
    """Train the TC span classifier: --config configs/span-classifier.toml --data-dir PTC_DIR --out MODEL_DIR."""
    _train("unspin.train.span_classifier", list(ctx.args))


@train_app.command("claims", context_settings=TRAIN_CONTEXT)
def train_claims(ctx: typer.Context) -> None:
    """Train the check-worthiness classifier: --config configs/claims.toml --data-dir CHECKTHAT_DIR --out DIR."""
    _train("unspin.train.claims", list(ctx.args))


@train_app.command("claims-fast", context_settings=TRAIN_CONTEXT)
def train_claims_fast(ctx: typer.Context) -> None:
    """Train the fast claims head over the technique tagger's states: --config configs/claims-fast.toml
    --data-dir CHECKTHAT_DIR --out DIR."""
    _train("unspin.train.claims_fast", list(ctx.args))


@train_app.command("framing", context_settings=TRAIN_CONTEXT)
def train_framing(ctx: typer.Context) -> None:
    """Train the framing heads (roles, narratives, mention finder): --config configs/framing.toml
    --data-dir SEMEVAL2025_TRAIN_DIR [--out DIR]. Needs scikit-learn, not torch."""
    import importlib

    try:
        import sklearn  # noqa: F401
    except ImportError:
        err_console.print(
            "[red]error:[/] training the framing heads needs scikit-learn: `.venv/bin/pip install -e '.\\[train]'`"
        )
        raise typer.Exit(2) from None
    raise typer.Exit(importlib.import_module("unspin.train.framing").main(list(ctx.args)) or 0)
