"""Read inputs as they come: files, folders, stdin, JSONL/CSV records; text or HTML.

Every reader yields either a `RawInput` or an `InputError` that names the input and the reason, so a
batch goes on past bad inputs and loses nothing else.
"""

from __future__ import annotations

import gzip
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from unspin.errors import InputError
from unspin.ingest.decode import decode_bytes, read_limited, too_large
from unspin.ingest.raw import RawInput, looks_like_html
from unspin.ingest.records import RECORD_FIELDS, read_records, record_to_input
from unspin.ingest.warc import read_warc
from unspin.settings import Settings

__all__ = [
    "HTML_SUFFIXES", "KNOWN_SUFFIXES", "RECORD_FIELDS", "RECORD_SUFFIXES", "RawInput", "decode_bytes",
    "iter_folder", "looks_like_html", "read_file", "read_paths", "read_records", "read_stdin", "record_to_input",
]  # fmt: skip

TEXT_SUFFIXES = {".txt", ".text", ".md"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
RECORD_SUFFIXES = {".jsonl", ".ndjson", ".csv"}
WARC_SUFFIXES = {".warc", ".arc"}
KNOWN_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | RECORD_SUFFIXES | WARC_SUFFIXES


def _file_bytes(path: Path, settings: Settings) -> bytes:
    source = str(path)
    try:
        size = path.stat().st_size
    except OSError as err:
        raise InputError(source, f"cannot read: {err.strerror or err}") from None
    gz = path.suffix.lower() == ".gz"
    if not gz and size > settings.max_bytes:
        raise InputError(source, too_large(settings))
    try:
        if gz:
            with gzip.open(path, "rb") as fh:
                return read_limited(fh, source, settings)  # type: ignore[arg-type]
        with path.open("rb") as fh:
            return read_limited(fh, source, settings)
    except OSError as err:
        raise InputError(source, f"cannot read: {getattr(err, 'strerror', None) or err}") from None


def _logical_suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def read_file(path: Path, settings: Settings | None = None) -> Iterator[RawInput | InputError]:
    """Yield the article(s) in one file: one for text/HTML, one per record for JSONL/CSV."""
    settings = settings or Settings()
    suffix = _logical_suffix(path)
    if suffix in WARC_SUFFIXES:
        yield from read_warc(path, settings)
        return
    try:
        data = _file_bytes(path, settings)
        text, warnings = decode_bytes(data, str(path))
    except InputError as err:
        yield err
        return
    if suffix in RECORD_SUFFIXES:
        yield from read_records(text, str(path), csv_format=suffix == ".csv")
        return
    kind = "html" if suffix in HTML_SUFFIXES or looks_like_html(text) else "text"
    yield RawInput(source=str(path), content=text, kind=kind, warnings=warnings)


def read_stdin(settings: Settings | None = None, stream: BinaryIO | None = None) -> Iterator[RawInput | InputError]:
    settings = settings or Settings()
    fh = stream if stream is not None else sys.stdin.buffer
    try:
        data = read_limited(fh, "<stdin>", settings)
        text, warnings = decode_bytes(data, "<stdin>")
    except InputError as err:
        yield err
        return
    kind = "html" if looks_like_html(text) else "text"
    yield RawInput(source="<stdin>", content=text, kind=kind, warnings=warnings)


def iter_folder(folder: Path) -> Iterator[Path]:
    """Files under `folder` with a known suffix (also .gz of them), sorted, hidden ones skipped."""
    for path in sorted(folder.rglob("*")):
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        if path.is_file() and _logical_suffix(path) in KNOWN_SUFFIXES:
            yield path


def read_paths(paths: Iterable[str | Path], settings: Settings | None = None) -> Iterator[RawInput | InputError]:
    """Read every input named: files, folders (recursively) and '-' for stdin."""
    settings = settings or Settings()
    for item in paths:
        if str(item) == "-":
            yield from read_stdin(settings)
            continue
        path = Path(item)
        if path.is_dir():
            found = False
            for file in iter_folder(path):
                found = True
                yield from read_file(file, settings)
            if not found:
                yield InputError(str(path), "folder holds no .txt, .html, .jsonl, .csv or .warc files")
        elif path.exists():
            yield from read_file(path, settings)
        else:
            yield InputError(str(path), "no such file or folder")
