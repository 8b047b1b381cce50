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
* A model whose unchanged base weights are rebuilt from their package (`frozen.json`, see
  `unspin.models.frozen`) has them registered on the session options; the rebuilt tensors must stay
  alive as long as the session, so they are returned with it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
