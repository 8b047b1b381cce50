"""Settings shared by the stages, passed around as one small object."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
# About 85,000 words, many times the longest news article; the analysis of this much takes under a
# minute of two cores (docs/bad-input.md), and longer texts are refused before any work is spent on them.
DEFAULT_MAX_CHARS = 500_000


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
    # Article text (the input's text, or the text extracted from a page) longer than this many
    # characters is refused before it is cleaned or analysed (raise with UNSPIN_MAX_CHARS): the
    # analysis takes time in proportion to the text.
    max_chars: int = _env_int("UNSPIN_MAX_CHARS", DEFAULT_MAX_CHARS)
    # Remove debris (captions, UI strings, comment widgets) from the text.
    clean: bool = True
    # Treat the first line as the title when it looks like one (plain-text inputs).
    detect_title: bool = True
    # Which shipped technique model to use: "fast", "minilm-l6" or "accurate".
    model: str = "fast"
    # Which claims model: "full" (its own pass over every sentence) or "fast" (one layer over the
    # technique tagger's pass: a quarter of the cost, lower F1; see unspin.claims.fast).
    claims: str = "full"
    # Threads each model may use (None: all cores). A Dask worker with one thread sets 1, so that
    # several workers on one machine do not fight over the cores.
    threads: int | None = None
    # Technique spans below this confidence are left out of the output, and out of the sentence and
    # article scores (0: every span the model finds). Scores are calibrated: see the model cards.
    min_score: float = 0.0
    # False: only the spans at the technique model's precise operating point (a confidence threshold
    # chosen for precision over recall; the model card has its precision and recall), the default
    # view; True: every span the F1-tuned decoding finds, each marked `precise` or not.
    all_spans: bool = False
    # A TOML file of the user's own narratives (see unspin.framing.custom), scored by the
    # "custom_narratives" stage; None: no such stage.
    narratives_file: str | None = None
