"""The framing heads: linear classifiers over pooled encoder states, run in NumPy.

Each head is stored as a weight matrix and a bias with the feature standardisation folded in, plus
its labels, in one `heads.npz` next to a `config.json` (thresholds, the encoder, hashes) inside
`unspin/models/framing/`. `softmax` heads choose one label (main role, fine role, mention or not);
`sigmoid` heads score each label on its own (narratives, subnarratives). The weights come from
`unspin train framing` (see the model card).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from unspin.models.base import sha256_file

MODEL_DIR = Path(__file__).resolve().parents[1] / "models" / "framing"


class FramingModelError(RuntimeError):
    """The shipped framing model is missing, damaged or does not match its config."""


@dataclass
class Head:
    weight: np.ndarray  # (features, labels)
    bias: np.ndarray  # (labels,)
    labels: list[str]
    kind: str  # "softmax" or "sigmoid"

    def scores(self, x: np.ndarray) -> np.ndarray:
        """(n, labels) probabilities for the rows of `x` (n, features)."""
        z = np.atleast_2d(x).astype(np.float32) @ self.weight + self.bias
        if self.kind == "sigmoid":
            return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def to_arrays(self, name: str) -> dict[str, np.ndarray]:
        return {f"{name}.weight": self.weight.astype(np.float32), f"{name}.bias": self.bias.astype(np.float32)}


@dataclass
class FramingHeads:
    heads: dict[str, Head]
    config: dict[str, Any]

    def __getitem__(self, name: str) -> Head:
        return self.heads[name]

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {}
        for name, head in self.heads.items():
            arrays.update(head.to_arrays(name))
        np.savez_compressed(folder / "heads.npz", **arrays)
        config = dict(self.config)
        config["heads"] = {name: {"labels": h.labels, "kind": h.kind} for name, h in self.heads.items()}
        config["sha256"] = {"heads.npz": sha256_file(folder / "heads.npz")}
        (folder / "config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, folder: Path = MODEL_DIR) -> FramingHeads:
        return _load(Path(folder))


@lru_cache(maxsize=4)
def _load(folder: Path) -> FramingHeads:
    config_path, weights_path = folder / "config.json", folder / "heads.npz"
    if not config_path.is_file() or not weights_path.is_file():
        raise FramingModelError(f"{folder}: no framing model (config.json and heads.npz); reinstall unspin")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise FramingModelError(f"{config_path}: unreadable ({err})") from None
    expected = config.get("sha256", {}).get("heads.npz")
    actual = sha256_file(weights_path)
    if expected != actual:
        raise FramingModelError(f"{weights_path}: sha256 {actual} does not match its config ({expected})")
    heads: dict[str, Head] = {}
    with np.load(weights_path) as arrays:
        for name, spec in config["heads"].items():
            weight, bias = arrays[f"{name}.weight"], arrays[f"{name}.bias"]
            if weight.shape[1] != len(spec["labels"]) or bias.shape != (len(spec["labels"]),):
                raise FramingModelError(f"{weights_path}: head {name!r} does not match its labels")
            heads[name] = Head(weight, bias, list(spec["labels"]), spec["kind"])
    return FramingHeads(heads, config)
