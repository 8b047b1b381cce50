"""A shipped ONNX model folder: `config.json`, files checked against the hashes it records, and a CPU
session whose frozen base tensors (if any) are rebuilt from the base package (`frozen.py`).

Both the technique taggers and the span classifier load their folders this way (sessions from the one
factory, `unspin.models.onnx`); each passes its own error class, so a user sees which model failed and why.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from unspin.models.base import ModelFilesError, sha256_file


def read_config(model_dir: Path, error: type[Exception], kind: str) -> dict[str, Any]:
    """`config.json` of `model_dir`, after every file it lists matched its sha256."""
    cfg_path = model_dir / "config.json"
    if not cfg_path.is_file():
        raise error(f"{cfg_path}: missing; is {model_dir} a {kind} folder?")
    config: dict[str, Any] = json.loads(cfg_path.read_text(encoding="utf-8"))
    for name, expected in config.get("files", {}).items():
        path = model_dir / name
        if not path.is_file():
            raise error(f"{path}: missing from the model folder")
        actual = sha256_file(path)
        if actual != expected:
            raise error(f"{path}: sha256 {actual} does not match config.json's {expected}")
    return config


def cpu_session(
    model_dir: Path, config: dict[str, Any], threads: int | None, error: type[Exception], what: str
) -> tuple[Any, list[Any]]:
    """(ONNX Runtime session, rebuilt base tensors) of a model folder, from the one session factory
    (`unspin.models.onnx`). The tensors are handed to ONNX Runtime without a copy: keep them alive as
    long as the session. A base tensor that cannot be rebuilt raises `error`, naming `what`."""
    from unspin.models.frozen import FrozenWeightsError
    from unspin.models.onnx import create_session

    frozen = model_dir / config["frozen"] if config.get("frozen") else None
    try:
        return create_session(model_dir / config.get("onnx", "model.onnx"), threads, frozen=frozen)
    except (FrozenWeightsError, ModelFilesError) as exc:
        raise error(f"{what}: {exc}") from exc
