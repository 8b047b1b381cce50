"""Settings shared by the stages, passed around as one small object."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_MAX_BYTES = 10 * 1024 * 1024


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        return default


@dataclass
class Settings:
    # Inputs larger than this are refused before they are read (raise with --max-bytes or
    # UNSPIN_MAX_BYTES); the whole pipeline holds a document in memory a few times over.
    max_bytes: int = _env_int("UNSPIN_MAX_BYTES", DEFAULT_MAX_BYTES)
    # Remove debris (captions, UI strings, comment widgets) from the text.
    clean: bool = True
    # Treat the first line as the title when it looks like one (plain-text inputs).
    detect_title: bool = True
    # Which shipped technique model to use: "fast", "minilm-l6" or "accurate".
    model: str = "fast"
    # Threads each model may use (None: all cores). A Dask worker with one thread sets 1, so that
    # several workers on one machine do not fight over the cores.
    threads: int | None = None
    # Technique spans below this confidence are left out of the output, and out of the sentence and
    # article scores (0: every span the model finds). Scores are calibrated: see the model cards.
    min_score: float = 0.0
