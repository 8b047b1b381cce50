"""Read inputs as they come: files, folders, stdin, JSONL/CSV records; text or HTML.

Every reader yields either a `RawInput` or an `InputError` that names the input and the reason, so a
batch goes on past bad inputs and loses nothing else.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from unspin.errors import InputError
from unspin.settings import Settings

TEXT_SUFFIXES = {".txt", ".text", ".md"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
RECORD_SUFFIXES = {".jsonl", ".ndjson", ".csv"}
WARC_SUFFIXES = {".warc", ".arc"}
KNOWN_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | RECORD_SUFFIXES | WARC_SUFFIXES
RECORD_FIELDS = ("id", "url", "outlet", "published", "title", "author")

# Magic numbers of common binary formats, to say what a file is rather than "not text".
_MAGIC = [
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"PK\x03\x04", "a ZIP archive (or an office document)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\xd0\xcf\x11\xe0", "an old Microsoft Office document"),
    (b"\x7fELF", "an executable"),
    (b"RIFF", "a RIFF media file"),
    (b"OggS", "an Ogg media file"),
    (b"ID3", "an MP3 file"),
    (b"WARC/", "a WARC archive (use `unspin corpus add`)"),
]


@dataclass
class RawInput:
    """One article as it arrived, before extraction and cleaning."""

    source: str
    content: str
    kind: str  # "text" or "html"
    hints: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def looks_like_html(content: str) -> bool:
    head = content[:2048].lstrip().lower()
    if head.startswith(("<!doctype html", "<html", "<?xml")) and "<html" in content[:4096].lower():
        return True
    if head.startswith("<"):
        lowered = content[:20000].lower()
        return any(tag in lowered for tag in ("<body", "<p>", "<p ", "<div", "<article", "<head"))
    return False


def decode_bytes(data: bytes, source: str) -> tuple[str, list[str]]:
    """Decode input bytes to text, refusing binary formats with a reason."""
    if not data.strip():
        raise InputError(source, "empty input (no text)")
    for magic, what in _MAGIC:  # (WARC files are read by their suffix, .warc / .warc.gz)
        if data.startswith(magic):
            raise InputError(source, f"binary file: looks like {what}, not text or HTML")
    sample = data[:8192]
    if b"\x00" in sample:
        raise InputError(source, "binary file: contains NUL bytes, not text or HTML")
    warnings: list[str] = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
        if best is None or best.chaos > 0.3:
            raise InputError(
                source,
                f"not valid UTF-8 (byte 0x{data[err.start]:02x} at offset {err.start}) and no other text encoding fits",
            ) from None
        text = str(best)
        warnings.append(
            f"not valid UTF-8 (byte 0x{data[err.start]:02x} at offset {err.start}); decoded as {best.encoding}"
        )
    # Control characters other than whitespace mean this is not prose.
    controls = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\n\r\t\f\v")
    if controls > max(8, len(text[:8192]) // 100):
        raise InputError(source, "binary file: too many control characters to be text")
    if not text.strip():
        raise InputError(source, "empty input (only whitespace)")
    return text, warnings


def _read_limited(fh: BinaryIO, source: str, settings: Settings) -> bytes:
    data = fh.read(settings.max_bytes + 1)
    if len(data) > settings.max_bytes:
        raise InputError(source, _too_large(settings))
    return data


def _too_large(settings: Settings) -> str:
    mb = settings.max_bytes / (1024 * 1024)
    return f"input larger than the limit of {mb:g} MB; raise it with --max-bytes or UNSPIN_MAX_BYTES if you mean it"


def _file_bytes(path: Path, settings: Settings) -> bytes:
    source = str(path)
    try:
        size = path.stat().st_size
    except OSError as err:
        raise InputError(source, f"cannot read: {err.strerror or err}") from None
    gz = path.suffix.lower() == ".gz"
    if not gz and size > settings.max_bytes:
        raise InputError(source, _too_large(settings))
    try:
        if gz:
            with gzip.open(path, "rb") as fh:
                return _read_limited(fh, source, settings)  # type: ignore[arg-type]
        with path.open("rb") as fh:
            return _read_limited(fh, source, settings)
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
        from unspin.ingest.warc import read_warc

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
        data = _read_limited(fh, "<stdin>", settings)
        text, warnings = decode_bytes(data, "<stdin>")
    except InputError as err:
        yield err
        return
    kind = "html" if looks_like_html(text) else "text"
    yield RawInput(source="<stdin>", content=text, kind=kind, warnings=warnings)


def record_to_input(record: Any, source: str) -> RawInput:
    """Turn one JSONL/CSV record into a RawInput, or raise InputError naming the record."""
    if not isinstance(record, dict):
        raise InputError(source, f"record is a JSON {type(record).__name__}, expected an object")
    html = record.get("html")
    text = record.get("text")
    if not (isinstance(html, str) and html.strip()) and not (isinstance(text, str) and text.strip()):
        raise InputError(source, "record has no non-empty 'text' or 'html' field")
    hints = {k: record[k] for k in RECORD_FIELDS if record.get(k) not in (None, "")}
    if "id" in hints:
        hints["id"] = str(hints["id"])
    if isinstance(html, str) and html.strip():
        return RawInput(source=source, content=html, kind="html", hints=hints)
    return RawInput(source=source, content=text, kind="text", hints=hints)


def read_records(content: str, source: str, *, csv_format: bool) -> Iterator[RawInput | InputError]:
    if csv_format:
        csv.field_size_limit(sys.maxsize)
        reader = csv.DictReader(io.StringIO(content, newline=""))
        if not reader.fieldnames or not ({"text", "html"} & set(reader.fieldnames)):
            yield InputError(source, "CSV header has no 'text' or 'html' column")
            return
        try:
            for row in reader:
                # line_num counts physical lines read so far: the record ends on that line.
                where = f"{source}:{reader.line_num}"
                try:
                    yield record_to_input(row, where)
                except InputError as err:
                    yield err
        except csv.Error as err:
            yield InputError(f"{source}:{reader.line_num}", f"malformed CSV: {err}")
        return
    for lineno, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{source}:{lineno}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            yield InputError(where, f"malformed JSON: {err.msg} (column {err.colno})")
            continue
        try:
            yield record_to_input(record, where)
        except InputError as err:
            yield err


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
