"""The one place ONNX Runtime sessions are made: threads, providers and options.

Every model unspin runs through ONNX Runtime (the technique taggers and the span classifier, through
`unspin.models.folder.cpu_session`; the check-worthiness detector can call `create_session` directly)
gets its session here, so a change of provider or threading policy is made once. (The sentence
encoder runs in NumPy and needs no session.)

* CPU only (`CPUExecutionProvider`): unspin runs offline on ordinary machines.
* `threads`: intra-op threads of one session (None: ONNX Runtime's default, one per physical core);
  inter-op threads stay at 1, since a session runs one graph at a time.
* Idle worker threads sleep instead of spinning (`spin=False`): the models of a pipeline and other
  workers share the cores, and spinning halves throughput there while saving little latency.
* Models that score many short inputs (the claims detectors' sentences) run them one at a time, in lanes
  of one-thread calls (`lane_pool`, `run_in_lanes`): one input per call keeps a score independent of the
  other inputs, and it is faster than padded batches on two threads.
* A model whose unchanged base weights are rebuilt from their package (`frozen.json`, see
  `unspin.models.frozen`) has them registered on the session options; the rebuilt tensors must stay
  alive as long as the session, so they are returned with it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")

PROVIDERS = ["CPUExecutionProvider"]


def session_options(threads: int | None = None, spin: bool = False) -> Any:
    """ONNX Runtime session options with unspin's policy (see the module's docstring)."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    if threads:
        so.intra_op_num_threads = int(threads)
        so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    return so


def create_session(
    model: str | Path | bytes, threads: int | None = None, frozen: Path | None = None, spin: bool = False
) -> tuple[Any, list[Any]]:
    """(session, rebuilt base tensors) for the ONNX graph `model` (a path, or the serialised graph).

    With `frozen` (a `frozen.json` recipe), the base tensors it describes are rebuilt and registered
    first; keep the returned list alive as long as the session (ONNX Runtime uses their memory without
    a copy). Raises `unspin.models.frozen.FrozenWeightsError` or `unspin.models.base.ModelFilesError`
    when they cannot be rebuilt, and ONNX Runtime's own errors for a graph it cannot load."""
    import onnxruntime as ort

    so = session_options(threads, spin)
    base_values: list[Any] = []
    if frozen is not None:
        from unspin.models.frozen import add_to_session_options

        base_values = add_to_session_options(so, frozen)
    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(source, so, providers=PROVIDERS), base_values


def lane_pool(threads: int | None, name: str) -> tuple[int, ThreadPoolExecutor | None]:
    """`(lanes, pool)` for a model that runs small inputs one at a time: one lane per core (`threads`, or
    every core), each call on a one-thread session; no pool for one lane."""
    lanes = max(1, int(threads)) if threads else (os.cpu_count() or 1)
    return lanes, (ThreadPoolExecutor(lanes, thread_name_prefix=name) if lanes > 1 else None)


def run_in_lanes(
    pool: ThreadPoolExecutor | None, lanes: int, items: Sequence[T], run: Callable[[list[T]], np.ndarray]
) -> np.ndarray:
    """One score per item: `run` over interleaved parts of `items` (even loads), one part per lane, the
    results put back in the items' order. A batch of one per call keeps every score independent of the
    other items (int8 activations are quantised per call), so the lanes change no answer."""
    if pool is None or len(items) < 2:
        return np.asarray(run(list(items)), dtype=np.float64)
    parts = [list(range(i, len(items), lanes)) for i in range(lanes)]
    out = np.empty(len(items), dtype=np.float64)
    for idx, res in zip(parts, pool.map(lambda idx: run([items[i] for i in idx]), parts), strict=True):
        out[idx] = res
    return out
