"""Web archives: every HTML response record of a WARC file (plain or gzipped) is one article."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from unspin.errors import InputError
from unspin.ingest.decode import decode_bytes
from unspin.ingest.raw import RawInput
from unspin.settings import Settings


def read_warc(path: Path, settings: Settings | None = None) -> Iterator[RawInput | InputError]:
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    settings = settings or Settings()
    try:
        fh = path.open("rb")
    except OSError as err:
        yield InputError(str(path), f"cannot read: {err.strerror or err}")
        return
    with fh:
        try:
            for record in ArchiveIterator(fh):
                if record.rec_type != "response":
                    continue
                uri = record.rec_headers.get_header("WARC-Target-URI") or ""
                where = f"{path}#{uri or record.rec_headers.get_header('WARC-Record-ID')}"
                ctype = (record.http_headers.get_header("Content-Type") if record.http_headers else "") or ""
                status = record.http_headers.get_statuscode() if record.http_headers else "200"
                if status and not status.startswith("2"):
                    yield InputError(where, f"WARC response has HTTP status {status}, not an article")
                    continue
                if "html" not in ctype.lower():
                    yield InputError(where, f"WARC record is {ctype.split(';')[0] or 'of unknown type'}, not HTML")
                    continue
                data = record.content_stream().read(settings.max_bytes + 1)
                if len(data) > settings.max_bytes:
                    yield InputError(where, f"record larger than the limit of {settings.max_bytes} bytes")
                    continue
                try:
                    text, warnings = decode_bytes(data, where)
                except InputError as err:
                    yield err
                    continue
                hints = {"url": uri} if uri else {}
                crawled = record.rec_headers.get_header("WARC-Date")
                raw = RawInput(source=where, content=text, kind="html", hints=hints, warnings=warnings)
                if crawled:
                    raw.hints["crawled"] = crawled
                yield raw
        except ArchiveLoadFailed as err:
            yield InputError(str(path), f"not a readable WARC file: {err}")
