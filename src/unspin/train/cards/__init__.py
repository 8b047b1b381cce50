"""Model card templates (markdown written with jinja2) and the one function that renders them.

A template gets its numbers and tables from the recipe that writes the card; two filters format
them: ``x|fmt('.3f')`` is Python's ``format(x, '.3f')`` and ``x|repr`` is ``repr(x)``."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2

CARDS_DIR = Path(__file__).resolve().parent


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(CARDS_DIR),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # markdown, not HTML
    )
    env.filters["fmt"] = format
    env.filters["repr"] = repr
    return env


def render(template: str, **context: Any) -> str:
    """The text of the card template `template` (a file in this folder) with `context`."""
    return _environment().get_template(template).render(**context)
