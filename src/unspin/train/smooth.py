"""Int8 feed-forward output projections by smoothing (the `smooth` stage of a technique model).

The inputs of a transformer's feed-forward output projection (the GELU outputs) have a few channels
with far larger values than the rest. Quantising those activations to int8 with one range per tensor
crushes the other channels, which is why the `accurate` model used to keep these projections in
float, at half of its run time. Smoothing moves the outliers into the weights: for each input
channel j, with a_j the largest |activation| seen on training windows and w_j the largest |weight| in
row j,

    s_j = a_j^alpha / w_j^(1 - alpha),     x W = (x / s) (diag(s) W),

so the activations that get quantised are x / s (one `Mul` node) and the weights diag(s) W are
quantised per output channel as before. `alpha` is chosen on dev.

A frozen layer's smoothed weights are still rebuilt from the base package at load: its `frozen.json`
entries carry the smoothing vector (`row_scale`), and `unspin.models.frozen` applies it before
quantising, with the result checked against the recorded sha256 as for every other rebuilt tensor.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from unspin.models.frozen import quantize_per_channel, tensor_sha256
from unspin.train.quantize import external_placeholder

LOG = logging.getLogger("unspin.train.smooth")


def ffn_output_matmuls(graph: Any) -> list[Any]:
    """The float MatMul nodes of the feed-forward output projections (`layer.N/output/dense`)."""
    return [
        n for n in graph.node if n.op_type == "MatMul" and "/output/dense/" in n.name and "/attention/" not in n.name
    ]


def activation_maxima(model_dir: Path, windows: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Largest |input| per channel of every feed-forward output projection, over `windows` (token id
    arrays with their special tokens) run through the shipped model in `model_dir`."""
    import onnx
    import onnxruntime as ort

    from unspin.models.frozen import add_to_session_options

    model = onnx.load(str(model_dir / "model.onnx"), load_external_data=False)
    nodes = ffn_output_matmuls(model.graph)
    for n in nodes:
        model.graph.output.append(onnx.helper.make_tensor_value_info(n.input[0], onnx.TensorProto.FLOAT, None))
    so = ort.SessionOptions()
    keep = add_to_session_options(so, model_dir / "frozen.json") if (model_dir / "frozen.json").is_file() else []
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    maxima: list[np.ndarray | None] = [None] * len(nodes)
    for w in windows:
        ids = np.asarray(w, dtype=np.int64)[None]
        outs = sess.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})[1:]
        for i, o in enumerate(outs):
            m = np.abs(o).reshape(-1, o.shape[-1]).max(axis=0)
            maxima[i] = m if maxima[i] is None else np.maximum(maxima[i], m)
    del sess, keep
    return [m for m in maxima if m is not None]


def smoothing_vector(act_max: np.ndarray, w: np.ndarray, alpha: float) -> np.ndarray:
    """s_j = a_j^alpha / w_j^(1 - alpha) for a [K, N] MatMul weight (rows: input channels)."""
    a = np.maximum(act_max.astype(np.float64), 1e-5)
    wm = np.maximum(np.abs(w).max(axis=1).astype(np.float64), 1e-5)
    return (a**alpha / wm ** (1 - alpha)).astype(np.float32)


def encode_vector(v: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(v, dtype="<f4").tobytes()).decode("ascii")


def _smoothed_int8_matmul(p: str, x: str, output: str, names: dict[str, str]) -> list[Any]:
    """The nodes that replace MatMul `p` (input `x`, output `output`): x divided by the smoothing
    vector, quantised per batch, times the int8 weights, scaled back to float."""
    from onnx import TensorProto, helper

    return [
        helper.make_node("Mul", [x, names["inv_s"]], [names["x"]], name=f"{p}_smooth"),
        helper.make_node("DynamicQuantizeLinear", [names["x"]], [f"{p}_xq", f"{p}_xs", f"{p}_xz"], name=f"{p}_q"),
        helper.make_node("Mul", [f"{p}_xs", names["w_scale"]], [f"{p}_s"], name=f"{p}_scales"),
        helper.make_node(
            "MatMulInteger", [f"{p}_xq", names["w_int8"], f"{p}_xz", names["w_zero"]], [f"{p}_i32"], name=f"{p}_mm"
        ),
        helper.make_node("Cast", [f"{p}_i32"], [f"{p}_f"], to=TensorProto.FLOAT, name=f"{p}_cast"),
        helper.make_node("Mul", [f"{p}_f", f"{p}_s"], [output], name=f"{p}_out"),
    ]


def _rewrite(
    graph: Any,
    replaced: dict[str, list[Any]],
    drop_nodes: set[str],
    drop_inits: set[str],
    placeholders: list[tuple[str, np.ndarray]],
) -> None:
    """Put each replaced node's new nodes in its place, drop the nodes and initializers no longer
    used, and add the placeholders of frozen weights (filled from frozen.json at load)."""
    new_nodes = []
    for n in graph.node:
        if n.name in drop_nodes:
            continue
        new_nodes.extend(replaced.get(n.name, [n]))
    del graph.node[:]
    graph.node.extend(new_nodes)
    kept = [i for i in graph.initializer if i.name not in drop_inits]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    for name, arr in placeholders:
        graph.initializer.append(external_placeholder(arr, name))


def smooth_ffn_outputs(model_dir: Path, alpha: float, act_max: Sequence[np.ndarray], qmax: int) -> int:
    """Rewrite `model_dir/model.onnx` (and `frozen.json`) with every float feed-forward output
    projection smoothed and quantised to int8. Returns how many projections were changed."""
    # Over 80 lines: one pass over the projections gathers every change to the graph and to the
    # recipe (six collections); split further, each piece would take and return most of them.
    import onnx
    from onnx import numpy_helper

    from unspin.models.frozen import load_base_tensors

    path = model_dir / "model.onnx"
    model = onnx.load(str(path), load_external_data=False)
    graph = model.graph
    nodes = ffn_output_matmuls(graph)
    if len(nodes) != len(act_max):
        raise ValueError(f"{path}: {len(nodes)} feed-forward projections but {len(act_max)} activation maxima")
    recipe_path = model_dir / "frozen.json"
    recipe = json.loads(recipe_path.read_text(encoding="utf-8")) if recipe_path.is_file() else None
    entries = {e["name"]: e for e in recipe["tensors"]} if recipe else {}
    base = load_base_tensors(recipe["base"]) if recipe else {}
    inits = {i.name: i for i in graph.initializer}
    casts = {n.output[0]: n for n in graph.node if n.op_type == "Cast" and n.input[0] in inits}
    drop_inits: set[str] = set()
    drop_nodes: set[str] = set()
    drop_entries: set[str] = set()
    new_entries: list[dict[str, Any]] = []
    replaced: dict[str, list[Any]] = {}
    placeholders: list[tuple[str, np.ndarray]] = []

    for node, amax in zip(nodes, act_max, strict=True):
        x, wname = node.input
        frozen = wname in entries
        if frozen:  # a base tensor rebuilt at load
            e = entries[wname]
            w = base[e["key"]].astype(np.float32)
            w = np.ascontiguousarray(w.T if e.get("transpose") else w)
            drop_entries.add(wname)
        elif wname in casts:  # trained, stored as float16 behind a Cast
            cast = casts[wname]
            w = numpy_helper.to_array(inits[cast.input[0]]).astype(np.float32)
            drop_nodes.add(cast.name)
            drop_inits.add(cast.input[0])
        else:
            w = numpy_helper.to_array(inits[wname]).astype(np.float32)
        drop_inits.add(wname)
        s = smoothing_vector(amax, w, alpha)
        q, scale = quantize_per_channel(w * s[:, None], 1, qmax)
        p = node.name
        names = {k: f"{p}_smooth_{k}" for k in ("inv_s", "w_int8", "w_scale", "w_zero", "x")}
        graph.initializer.extend(
            [
                numpy_helper.from_array((1.0 / s).astype(np.float32), names["inv_s"]),
                numpy_helper.from_array(np.zeros(q.shape[1], dtype=np.int8), names["w_zero"]),
            ]
        )
        if frozen:
            row = {"key": e["key"], "transpose": bool(e.get("transpose")), "axis": 1, "qmax": qmax}
            row["row_scale"] = encode_vector(s)
            for kind, arr in (("int8", q), ("scale", scale)):
                name = names["w_int8" if kind == "int8" else "w_scale"]
                new_entries.append(
                    {**row, "op": kind, "name": name, "shape": list(arr.shape), "sha256": tensor_sha256(arr)}
                )
                placeholders.append((name, arr))
        else:
            graph.initializer.extend(
                [numpy_helper.from_array(q, names["w_int8"]), numpy_helper.from_array(scale, names["w_scale"])]
            )
        replaced[p] = _smoothed_int8_matmul(p, x, node.output[0], names)

    _rewrite(graph, replaced, drop_nodes, drop_inits, placeholders)
    onnx.save(model, str(path))
    if recipe is not None:
        recipe["tensors"] = [e for e in recipe["tensors"] if e["name"] not in drop_entries] + new_entries
        recipe_path.write_text(json.dumps({"base": recipe["base"], "tensors": recipe["tensors"]}, indent=0) + "\n")
    LOG.info(
        "%s: %d feed-forward output projections smoothed (alpha %.2f) and made int8, %d of them frozen; %.1f MB",
        path,
        len(nodes),
        alpha,
        len(drop_entries),
        path.stat().st_size / 1e6,
    )
    return len(nodes)
