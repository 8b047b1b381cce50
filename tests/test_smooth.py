"""Smoothed int8 feed-forward output projections: the graph rewrite keeps the product, and beats
plain int8 when a few input channels carry outliers (as GELU outputs in MPNet do)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from unspin.train.smooth import ffn_output_matmuls, smooth_ffn_outputs  # noqa: E402

NAME = "/encoder/layer.0/output/dense/MatMul"


def _model(path: Path, w: np.ndarray) -> None:
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, w.shape[0]])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, w.shape[1]])
    other = helper.make_node("MatMul", ["x", "w2"], ["z"], name="/encoder/layer.0/attention/output/dense/MatMul")
    node = helper.make_node("MatMul", ["x", "w"], ["y"], name=NAME)
    graph = helper.make_graph(
        [node, other],
        "g",
        [x],
        [y, helper.make_tensor_value_info("z", TensorProto.FLOAT, [None, w.shape[0]])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.eye(w.shape[0], dtype=np.float32), "w2")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path / "model.onnx"))


def _run(path: Path, x: np.ndarray) -> np.ndarray:
    sess = ort.InferenceSession(str(path / "model.onnx"), providers=["CPUExecutionProvider"])
    return sess.run(["y"], {"x": x})[0]


def test_smoothing_keeps_the_product_and_beats_plain_int8_on_outlier_channels(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    k, n = 64, 16
    w = rng.normal(0, 0.05, size=(k, n)).astype(np.float32)
    x = rng.normal(0, 0.3, size=(200, k)).astype(np.float32)
    x[:, [5, 40]] *= 60.0  # two outlier channels
    exact = x @ w
    act_max = [np.abs(x).max(axis=0)]
    errors = {}
    for name, alpha, amax in (("plain", 1.0, [np.ones(k, np.float32)]), ("smoothed", 0.7, act_max)):
        folder = tmp_path / name
        folder.mkdir()
        _model(folder, w)
        assert smooth_ffn_outputs(folder, alpha, amax, qmax=64) == 1
        graph = onnx.load(str(folder / "model.onnx")).graph
        assert not ffn_output_matmuls(graph)  # the projection is int8 now; the attention MatMul is untouched
        assert [n.op_type for n in graph.node].count("MatMulInteger") == 1
        assert "/encoder/layer.0/attention/output/dense/MatMul" in [n.name for n in graph.node]
        errors[name] = float(np.abs(_run(folder, x) - exact).mean())
    scale = float(np.abs(exact).mean())
    assert errors["smoothed"] < 0.02 * scale
    assert errors["smoothed"] < errors["plain"] / 3


def test_activation_maxima_must_match_the_projections(tmp_path: Path) -> None:
    _model(tmp_path, np.ones((4, 2), np.float32))
    with pytest.raises(ValueError, match="1 feed-forward projections but 2 activation maxima"):
        smooth_ffn_outputs(tmp_path, 0.7, [np.ones(4), np.ones(4)], qmax=64)
