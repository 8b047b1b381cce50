"""Web archives: every HTML response record of a WARC file (plain or gzipped) is one article.

A damaged or truncated archive never loses data silently: a record the file ends inside (its header
promised more bytes than the file holds), a header cut short, and bytes after the last record that
do not make a record are each reported, naming the file and the record; a fragment is never read as
an article. Records before the damage are kept.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from unspin.errors import InputError
from unspin.ingest.decode import decode_bytes
from unspin.ingest.raw import RawInput
from unspin.settings import Settings

_CHUNK = 1 << 16


def _missing_bytes(record: Any) -> int:
    """Read the rest of the record's block; how many bytes its Content-Length promised beyond the
    end of the file (0 for a whole record)."""
    stream = record.raw_stream
    while stream.read(_CHUNK):
        pass
    return max(0, int(getattr(stream, "limit", 0) or 0))


def _truncated(where: str, missing: int) -> InputError:
    return InputError(
        where, f"WARC record is truncated: the file ends {missing} bytes before the record does (not read)"
    )


def _article(record: Any, where: str, settings: Settings) -> RawInput | InputError | None:
    """The HTML article in one record, an error naming it, or None for a record that holds none
    (requests, metadata, ...)."""
    headers = record.rec_headers
    length = (headers.get_header("Content-Length") or "").strip()
    if record.format.startswith("warc") and not length.isdigit():
        return InputError(
            where, "WARC record header is incomplete (no Content-Length): the file is truncated or damaged"
        )
    if record.rec_type != "response":
        missing = _missing_bytes(record)
        return _truncated(where, missing) if missing else None
    try:
        data = record.content_stream().read(settings.max_bytes + 1)
    except Exception as err:  # a content encoding that does not decode: first see whether the file ends early
        missing = _missing_bytes(record)
        return _truncated(where, missing) if missing else InputError(where, f"WARC record content is damaged: {err}")
    missing = _missing_bytes(record)
    if missing:
        return _truncated(where, missing)
    ctype = (record.http_headers.get_header("Content-Type") if record.http_headers else "") or ""
    status = record.http_headers.get_statuscode() if record.http_headers else "200"
    if status and not status.startswith("2"):
        return InputError(where, f"WARC response has HTTP status {status}, not an article")
    if "html" not in ctype.lower():
        return InputError(where, f"WARC record is {ctype.split(';')[0] or 'of unknown type'}, not HTML")
    if len(data) > settings.max_bytes:
        return InputError(where, f"record larger than the limit of {settings.max_bytes} bytes")
    try:
        text, warnings = decode_bytes(data, where)
    except InputError as err:
        return err
    uri = headers.get_header("WARC-Target-URI") or ""
    raw = RawInput(source=where, content=text, kind="html", hints={"url": uri} if uri else {}, warnings=warnings)
    crawled = headers.get_header("WARC-Date")
    if crawled:
        raw.hints["crawled"] = crawled
    return raw


def _tail_error(fh: BinaryIO, path: Path, end: int, size: int, count: int) -> InputError | None:
    """Bytes after the last whole record that are not blank lines: a record cut short in its header."""
    if end >= size:
        return None
    fh.seek(end)
    tail = fh.read(min(size - end, _CHUNK))
    if not tail.strip():
        return None
    after = f"after record {count}" if count else "at its start"
    return InputError(
        f"{path}#record {count + 1}",
        f"WARC file is truncated or damaged {after}: {size - end} bytes there do not make a whole record (not read)",
    )


def read_warc(path: Path, settings: Settings | None = None) -> Iterator[RawInput | InputError]:
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    settings = settings or Settings()
    try:
        fh = path.open("rb")
        size = os.fstat(fh.fileno()).st_size
    except OSError as err:
        yield InputError(str(path), f"cannot read: {err.strerror or err}")
        return
    with fh:
        records = ArchiveIterator(fh)
        count, end, member, cut_short = 0, 0, None, False
        try:
            for record in records:
                count += 1
                headers = record.rec_headers
                name = headers.get_header("WARC-Target-URI") or headers.get_header("WARC-Record-ID")
                item = _article(record, f"{path}#{name or f'record {count}'}", settings)
                cut_short = isinstance(item, InputError) and "truncated" in item.reason
                if item is not None:
                    yield item
                end = records.get_record_offset() + records.get_record_length()
                member = records.reader.decompressor  # the gzip member just read (None: not gzipped)
        except ArchiveLoadFailed as err:
            reason = f"damaged WARC after record {count}: {err}" if count else f"not a readable WARC file: {err}"
            yield InputError(str(path), reason)
            return
        except Exception as err:  # a gzip stream or header that breaks off: the records before it stand
            yield InputError(f"{path}#record {count + 1}", f"WARC file is truncated or damaged: {err!r}")
            return
        if member is not None and not member.eof and not cut_short:
            yield InputError(f"{path}#record {count}", "gzip stream of the WARC file ends early (truncated)")
            return
        tail = _tail_error(fh, path, end, size, count)
        if tail is not None:
            yield tail
