"""Int8 for exported graphs: ONNX Runtime's dynamic quantisation, and the stripping of tensors that a
user rebuilds from the base package (`unspin.models.frozen`)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

LOG = logging.getLogger("unspin.train.quantize")


def quantize(
    fp32: Path,
    int8: Path,
    per_channel: bool,
    reduce_range: bool,
    op_types: list[str] | None = None,
    float_nodes: list[str] | None = None,
) -> None:
    """Dynamic int8: weights quantised ahead (per output channel if asked), activations per batch.
    reduce_range keeps weights to 7 bits, which avoids saturation in the AVX2 (no VNNI) int8 kernels.
    `op_types` limits which operators are quantised (default: all ONNX Runtime supports);
    `float_nodes` names nodes that stay float."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(fp32),
        str(int8),
        weight_type=QuantType.QInt8,
        per_channel=per_channel,
        reduce_range=reduce_range,
        op_types_to_quantize=op_types,
        nodes_to_exclude=float_nodes,
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )


def external_placeholder(arr: np.ndarray, name: str) -> Any:
    """An ONNX tensor `name` with the shape and type of `arr` but no data: its values are rebuilt from
    the base package when the model loads, as `frozen.json` says (`unspin.models.frozen`)."""
    import onnx
    from onnx import numpy_helper

    t = numpy_helper.from_array(arr, name)
    t.ClearField("raw_data")
    t.data_location = onnx.TensorProto.EXTERNAL
    for k, v in (("location", "frozen.json"), ("offset", "0"), ("length", str(arr.nbytes))):
        e = t.external_data.add()
        e.key, e.value = k, v
    return t


def _frozen_by_hash(base: dict[str, np.ndarray], frozen_layers: int) -> dict[str, tuple[str, bool]]:
    """The base tensors a frozen model shares with its base (the embeddings and the first
    `frozen_layers` layers), by the sha256 of their float32 values, as (key, transposed)."""
    from unspin.models.frozen import tensor_sha256

    trained = tuple(f"encoder.layer.{i}." for i in range(frozen_layers, 64))
    by_hash: dict[str, tuple[str, bool]] = {}
    for key, t in base.items():
        if key.startswith(trained) or key.startswith("pooler.") or t.size < 256:
            continue
        t = t.astype(np.float32)
        by_hash[tensor_sha256(t)] = (key, False)
        if t.ndim == 2:
            by_hash[tensor_sha256(np.ascontiguousarray(t.T))] = (key, True)
    return by_hash


def _store_float16(model: Any, placeholders: set[str]) -> None:
    """Trained tensors left in float (the feed-forward output projections) are stored as float16 and
    cast back when the session starts: half the size, and ONNX Runtime folds the cast away."""
    import onnx
    from onnx import numpy_helper

    for t in list(model.graph.initializer):
        if t.name in placeholders or t.data_type != onnx.TensorProto.FLOAT:
            continue
        arr = numpy_helper.to_array(t)
        if arr.size < 65536:
            continue
        half = numpy_helper.from_array(arr.astype(np.float16), t.name + "_fp16")
        model.graph.initializer.remove(t)
        model.graph.initializer.append(half)
        model.graph.node.insert(0, onnx.helper.make_node("Cast", [half.name], [t.name], to=onnx.TensorProto.FLOAT))


def strip_frozen(
    fp32: Path, full: Path, dest: Path, recipe_path: Path, base_key: str, frozen_layers: int, qmax: int = 127
) -> None:
    """Write `dest`: the quantised model `full` with every tensor that can be rebuilt from the base
    package (the embeddings and the first `frozen_layers` layers) replaced by a placeholder, and
    `recipe_path` saying how to rebuild each (see `unspin.models.frozen`). Frozen int8 weights are
    re-quantised with our own `quantize_per_channel`, so the model tested here is exactly the one a
    user rebuilds."""
    import onnx
    from onnx import numpy_helper

    from unspin.models.frozen import load_base_tensors, quantize_per_channel, tensor_sha256

    base = load_base_tensors(base_key)
    by_hash = _frozen_by_hash(base, frozen_layers)
    floats = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(fp32)).graph.initializer}
    model = onnx.load(str(full))
    inits = {i.name: i for i in model.graph.initializer}
    entries: list[dict[str, Any]] = []

    def placeholder(name: str, arr: np.ndarray, entry: dict[str, Any]) -> None:
        inits[name].CopyFrom(external_placeholder(arr, name))
        entry.update(name=name, shape=list(arr.shape), sha256=tensor_sha256(arr))
        entries.append(entry)

    for name in list(inits):
        if name.endswith("_quantized") and name[: -len("_quantized")] in floats:
            src = name[: -len("_quantized")]
            hit = by_hash.get(tensor_sha256(floats[src].astype(np.float32)))
            if hit is None:
                continue
            key, transpose = hit
            w = base[key].astype(np.float32)
            w = w.T if transpose else w
            scale_name = src + "_scale"
            axis = 1 if numpy_helper.to_array(inits[scale_name]).size == w.shape[1] else 0
            q, scale = quantize_per_channel(w, axis, qmax)
            ort_q = numpy_helper.to_array(inits[name])
            differ = float((ort_q.astype(np.int16) - q).any() and np.mean(np.abs(ort_q.astype(np.int16) - q) > 0))
            if differ > 0.01:
                raise SystemExit(f"{name}: our int8 weights differ from ONNX Runtime's on {differ:.1%} of entries")
            placeholder(name, q, {"key": key, "transpose": transpose, "op": "int8", "axis": axis, "qmax": qmax})
            placeholder(
                scale_name,
                scale.reshape(numpy_helper.to_array(inits[scale_name]).shape),
                {"key": key, "transpose": transpose, "op": "scale", "axis": axis, "qmax": qmax},
            )
        elif name in floats and floats[name].size >= 256 and inits[name].data_type == onnx.TensorProto.FLOAT:
            hit = by_hash.get(tensor_sha256(floats[name].astype(np.float32)))
            if hit is None:
                continue
            key, transpose = hit
            w = base[key].astype(np.float32)
            placeholder(
                name, np.ascontiguousarray(w.T if transpose else w), {"key": key, "transpose": transpose, "op": "copy"}
            )
    _store_float16(model, {e["name"] for e in entries})
    onnx.save(model, str(dest))
    recipe_path.write_text(json.dumps({"base": base_key, "tensors": entries}, indent=0) + "\n")
    LOG.info(
        "%s: %d tensors rebuilt from %s at load, %.1f MB shipped",
        dest,
        len(entries),
        base_key,
        dest.stat().st_size / 1e6,
    )
