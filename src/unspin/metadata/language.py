"""Language identification with a model that ships inside its package (py3langid), and the
`language` stage that sets `Document.language`."""

from __future__ import annotations

import logging
import lzma
import os
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

from unspin.document import Document

log = logging.getLogger(__name__)


def _unpacked_model(packed: Path) -> Path:
    """py3langid's model, decompressed once next to unspin's other unpacked model files.

    The package ships it LZMA-compressed (4.6 MB; 68 MB unpacked), and decompressing it took 0.4 s
    of every process start; reading the unpacked arrays takes under 0.1 s."""
    from importlib.metadata import version

    from unspin.models.base import publish_file, unpack_dir

    target = unpack_dir(f"py3langid-{version('py3langid')}") / f"model-{packed.stat().st_size}.npz"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out, lzma.open(packed) as src:
                shutil.copyfileobj(src, out, length=1 << 20)
            publish_file(tmp, target)  # whole or not at all, readable by every user of the install
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return target


def _load_unpacked(path: Path):
    import numpy as np
    from py3langid.langid import LanguageIdentifier
    from py3langid.modelio import _to_array  # the loader's own conversion (py3langid is pinned)

    with np.load(path, allow_pickle=False) as d:
        return LanguageIdentifier(
            np.asarray(d["ptc"]),
            np.asarray(d["pc"]),
            d["classes"].tolist(),
            _to_array(d["nextmove"]),
            d["out_feat"].tolist(),
            norm_probs=True,
            tk_row=_to_array(d["nextmove_row"]),
        )


@lru_cache(maxsize=1)
def identifier():
    """py3langid's identifier, loaded once: from its unpacked model when that can be written or read,
    else from the packed model as the package loads it (about 0.4 s more)."""
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    for attempt in (1, 2):
        path = None
        try:
            path = _unpacked_model(MODEL_DIR / MODEL_FILE)
            return _load_unpacked(path)
        except Exception as err:  # an unwritable cache, a damaged copy, a py3langid with a new layout
            log.debug("language model: unpacked copy not usable (%s)", err)
            if path is None or attempt == 2:
                break
            path.unlink(missing_ok=True)  # a damaged copy: unpack it again, once
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str, max_chars: int = 2000) -> tuple[str | None, float | None]:
    """ISO 639-1 code and probability, or (None, None) when there is too little text to say."""
    sample = text[:max_chars]
    if sum(ch.isalpha() for ch in sample) < 3:
        return None, None
    lang, prob = identifier().classify(sample)
    return lang, round(float(prob), 4)


class LanguageStage:
    """Sets `language` from the text and warns when the models do not cover it."""

    name = "language"

    def __init__(self) -> None:
        identifier()  # load the language model with the others, not on the first text (nor twice at once)

    def __call__(self, doc: Document) -> Document:
        lang, prob = detect_language(doc.text)
        doc.language, doc.language_score = lang, prob
        if lang is not None and lang != "en":
            doc.warnings.append(
                f"text looks like language '{lang}' (p={prob:.2f}); the technique and claims models are trained "
                "on English news, so their output on this text is unreliable"
            )
        return doc
