"""Models whose unchanged base weights are not shipped, but rebuilt from the base package at load.

A model trained with frozen lower layers (see `unspin.train.techniques`, `frozen_layers`) differs from
its base encoder only in its top layers and head. Its ONNX file keeps those; every tensor that equals a
base-package tensor is stored as a placeholder (an external-data reference with no data), and
`frozen.json` says how to rebuild it:

* ``copy``: the base tensor as it is (optionally transposed);
* ``int8`` / ``scale``: the int8 weights and per-channel scales of the base tensor (transposed), by
  `quantize_per_channel`, the same function that produced them at export; with ``row_scale`` (a
  base64 little-endian float32 vector) the rows of the weight are first multiplied by it (smoothed
  feed-forward projections, see `unspin.train.smooth`).

Each rebuilt tensor's sha256 is checked against the one recorded at export, so a different base
package (or numpy rounding differently) is a clear error instead of a silently different model. The
tensors reach ONNX Runtime through `SessionOptions.add_external_initializers`; no onnx package is needed.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from unspin.models.base import ENCODERS, verified_file


class FrozenWeightsError(RuntimeError):
    """A rebuilt base tensor is missing from the base package or does not match its recorded hash."""


def quantize_per_channel(w: np.ndarray, axis: int, qmax: int = 127) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 quantisation with one scale per index of `axis` (zero points are 0), to integers
    in [-qmax, qmax] (64: the reduced range that keeps AVX2 int8 kernels from saturating)."""
    w = np.ascontiguousarray(w, dtype=np.float32)
    other = tuple(i for i in range(w.ndim) if i != axis)
    absmax = np.abs(w).max(axis=other, keepdims=True)
    scale = (absmax.astype(np.float64) / float(qmax)).astype(np.float32)
    scale[scale == 0] = 1.0
    q = np.clip(np.rint(w / scale), -qmax, qmax).astype(np.int8)
    return q, scale.reshape(-1)


def tensor_sha256(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def rebuild(entry: dict[str, Any], base: dict[str, np.ndarray]) -> np.ndarray:
    key = entry["key"]
    if key not in base:
        raise FrozenWeightsError(f"base tensor {key!r} (for {entry['name']!r}) is not in the base package")
    w = base[key].astype(np.float32)
    if entry.get("transpose"):
        w = w.T
    op = entry["op"]
    if op == "copy":
        out = np.ascontiguousarray(w)
    elif op in ("int8", "scale"):
        if entry.get("row_scale"):
            rows = np.frombuffer(base64.b64decode(entry["row_scale"]), dtype="<f4").astype(np.float32)
            if rows.shape[0] != w.shape[0]:
                raise FrozenWeightsError(
                    f"row_scale of {entry['name']!r} has {rows.shape[0]} values for {w.shape[0]} rows"
                )
            w = w * rows[:, None]
        q, scale = quantize_per_channel(w, int(entry["axis"]), int(entry.get("qmax", 127)))
        out = q if op == "int8" else scale
    else:
        raise FrozenWeightsError(f"unknown rebuild op {op!r} for {entry['name']!r}")
    return out.reshape(entry["shape"])


def load_base_tensors(base_key: str) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(verified_file(ENCODERS[base_key], "model.safetensors")))


def frozen_initializers(recipe_path: Path) -> dict[str, np.ndarray]:
    """Every placeholder tensor of a model, rebuilt from its base package and verified."""
    recipe = json.loads(recipe_path.read_text(encoding="utf-8"))
    base = load_base_tensors(recipe["base"])
    out: dict[str, np.ndarray] = {}
    for entry in recipe["tensors"]:
        arr = rebuild(entry, base)
        if tensor_sha256(arr) != entry["sha256"]:
            raise FrozenWeightsError(
                f"{recipe_path}: tensor {entry['name']!r} rebuilt from {entry['key']!r} does not match its "
                "recorded sha256; the base package differs from the one the model was trained on"
            )
        out[entry["name"]] = arr
    return out


def add_to_session_options(so: Any, recipe_path: Path) -> list[Any]:
    """Register the rebuilt tensors on ONNX Runtime session options. Returns the OrtValues, which must
    stay alive as long as the session (ONNX Runtime may use their memory without a copy)."""
    from onnxruntime import OrtValue

    tensors = frozen_initializers(recipe_path)
    names = list(tensors)
    values = [OrtValue.ortvalue_from_numpy(tensors[n]) for n in names]
    so.add_external_initializers(names, values)
    return values
