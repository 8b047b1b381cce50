"""Read inputs as they come: files, folders, stdin, JSONL/CSV records; text or HTML.

Every reader yields either a `RawInput` or an `InputError` that names the input and the reason, so a
batch goes on past bad inputs and loses nothing else.
"""

from __future__ import annotations

import errno
import gzip
import os
import stat
import sys
import zlib
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


def read_failure(err: BaseException, compressed: bool = False) -> str:
    """The reason, in words, why reading (and decompressing) an input failed."""
    if compressed and isinstance(err, EOFError):
        return "damaged gzip file: the compressed data ends early (the file is truncated)"
    if compressed and isinstance(err, (zlib.error, gzip.BadGzipFile)):
        return f"damaged gzip file: {err}"
    if isinstance(err, OSError):
        return f"cannot read: {err.strerror or err}"
    return f"cannot read: {type(err).__name__}: {err}"


def _file_bytes(path: Path, settings: Settings) -> bytes:
    source = str(path)
    gz = path.suffix.lower() == ".gz"
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise InputError(source, "not a regular file")
        if not gz and info.st_size > settings.max_bytes:
            raise InputError(source, too_large(settings))
        if gz:
            with gzip.open(path, "rb") as fh:
                return read_limited(fh, source, settings)  # type: ignore[arg-type]
        with path.open("rb") as fh:
            return read_limited(fh, source, settings)
    except (OSError, EOFError, zlib.error) as err:
        raise InputError(source, read_failure(err, compressed=gz)) from None


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
    except OSError as err:
        yield InputError("<stdin>", read_failure(err))
        return
    kind = "html" if looks_like_html(text) else "text"
    yield RawInput(source="<stdin>", content=text, kind=kind, warnings=warnings)


def _link_failure(path: Path) -> str | None:
    """Why a symbolic link cannot be followed (a loop, a missing target), or None when it can."""
    try:
        path.stat()
    except OSError as err:
        if err.errno == errno.ELOOP:
            return "symbolic link loop: the link leads back to itself"
        if err.errno == errno.ENOENT:
            return f"broken symbolic link: its target {os.readlink(path)!r} does not exist"
        return f"symbolic link cannot be followed: {err.strerror or err}"
    return None


def walk_folder(folder: Path) -> Iterator[Path | InputError]:
    """Files under `folder` with a known suffix (also .gz of them), in sorted order, hidden ones
    skipped; a sub-folder that cannot be read, a link that cannot be followed and a folder reached
    twice through links are errors that name them, not silent gaps in the batch."""
    seen: set[tuple[int, int]] = set()

    def walk(directory: Path) -> Iterator[Path | InputError]:
        try:
            info = directory.stat()
            if (info.st_dev, info.st_ino) in seen:
                yield InputError(str(directory), "symbolic link loop: this folder was already read by another path")
                return
            seen.add((info.st_dev, info.st_ino))
            with os.scandir(directory) as it:
                names = sorted(entry.name for entry in it)
        except OSError as err:
            yield InputError(str(directory), f"folder cannot be read: {err.strerror or err}")
            return
        for name in names:
            if name.startswith("."):
                continue
            path = directory / name
            try:
                if path.is_symlink() and (reason := _link_failure(path)):
                    yield InputError(str(path), reason)
                    continue
                mode = path.stat().st_mode
            except OSError as err:  # a path too long, an entry gone since the folder was listed
                yield InputError(str(path), read_failure(err))
                continue
            if stat.S_ISDIR(mode):
                yield from walk(path)
            elif _logical_suffix(path) in KNOWN_SUFFIXES:
                yield path if stat.S_ISREG(mode) else InputError(str(path), "not a regular file")

    yield from walk(folder)


def iter_folder(folder: Path) -> Iterator[Path]:
    """The readable files of `walk_folder`, without its errors (for counting inputs ahead of a run)."""
    for item in walk_folder(folder):
        if isinstance(item, Path):
            yield item


def _guarded(items: Iterator[RawInput | InputError], source: str) -> Iterator[RawInput | InputError]:
    """Whatever a reader raises that it did not foresee becomes an error naming the input, so the
    batch goes on (what the reader yielded before it stays)."""
    try:
        yield from items
    except InputError as err:  # raised where it should have been yielded: the same error
        yield err
    except Exception as err:  # the last guard of a batch: any failure of one input is reported
        yield InputError(source, read_failure(err))


def _read_path(path: Path, settings: Settings) -> Iterator[RawInput | InputError]:
    """The inputs of one path named by the user: a file, or every file of a folder."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        yield InputError(str(path), "no such file or folder")
        return
    except OSError as err:  # a folder on the way that cannot be entered, a name too long, ...
        yield InputError(str(path), read_failure(err))
        return
    if stat.S_ISLNK(info.st_mode) and (reason := _link_failure(path)):
        yield InputError(str(path), reason)
    elif path.is_dir():
        found = False
        for entry in walk_folder(path):
            found = True
            if isinstance(entry, InputError):
                yield entry
            else:
                yield from _guarded(read_file(entry, settings), str(entry))
        if not found:
            yield InputError(str(path), "folder holds no .txt, .html, .jsonl, .csv or .warc files")
    else:
        yield from _guarded(read_file(path, settings), str(path))


def read_paths(paths: Iterable[str | Path], settings: Settings | None = None) -> Iterator[RawInput | InputError]:
    """Read every input named: files, folders (recursively) and '-' for stdin."""
    settings = settings or Settings()
    for item in paths:
        if str(item) == "-":
            yield from _guarded(read_stdin(settings), "<stdin>")
        else:
            yield from _guarded(_read_path(Path(item), settings), str(item))
