"""Input bytes to text: binary formats refused with a reason, other encodings decoded with a warning,
and the size limit every reader applies."""

from __future__ import annotations

import codecs
import re
from typing import BinaryIO

from unspin.errors import InputError
from unspin.settings import Settings

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
    *((b"BZh%d1AY&SY" % level, "a bzip2 archive") for level in range(1, 10)),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"\x28\xb5\x2f\xfd", "a zstd archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"SQLite format 3\x00", "an SQLite database"),
]


# Byte order marks of the UTF-16 and UTF-32 encodings (UTF-32 first: its LE mark starts like UTF-16's).
_BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def check_text(text: str, source: str) -> None:
    """Refuse text that is not prose wherever it came from (a file, a record, a form): a NUL
    character anywhere, control characters in more than 1% of it, or a lone UTF-16 surrogate (only
    possible in JSON, as an escape), which no encoding can write back."""
    nul = text.find("\x00")
    if nul >= 0:
        raise InputError(source, f"binary file: contains NUL bytes (the first at character {nul}), not text or HTML")
    controls = len(_CONTROL.findall(text))
    if controls > max(8, len(text) // 100):
        raise InputError(source, "binary file: too many control characters to be text")
    surrogate = _SURROGATE.search(text)
    if surrogate:
        raise InputError(
            source,
            f"text holds a lone UTF-16 surrogate (U+{ord(surrogate.group()):04X} at character {surrogate.start()}), "
            "which is not a character",
        )


def check_length(text: str, source: str, settings: Settings) -> None:
    """Refuse article text longer than `settings.max_chars`, before any work is spent on it."""
    if len(text) > settings.max_chars:
        raise InputError(
            source,
            f"article text of {len(text):,} characters is longer than the limit of {settings.max_chars:,}; "
            "raise it with UNSPIN_MAX_CHARS if you mean it (the analysis takes time in proportion to the text)",
        )


def _decode_with_bom(data: bytes, source: str) -> str | None:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)  # the codec reads the mark and drops it
            except UnicodeDecodeError as err:
                name = encoding.upper()
                reason = (
                    f"starts with a {name} byte order mark but is not valid {name} ({err.reason} at byte {err.start})"
                )
                raise InputError(source, reason) from None
    return None


def decode_bytes(data: bytes, source: str) -> tuple[str, list[str]]:
    """Decode input bytes to text, refusing binary formats with a reason. UTF-8 (with or without a
    byte order mark) and UTF-16/UTF-32 with a byte order mark are read as they are; other encodings
    are guessed, with a warning. NUL anywhere in the input means binary (the whole input is checked)."""
    if not data.strip():
        raise InputError(source, "empty input (no text)")
    warnings: list[str] = []
    text = _decode_with_bom(data, source)
    if text is None:
        for magic, what in _MAGIC:  # (WARC files are read by their suffix, .warc / .warc.gz)
            if data.startswith(magic):
                raise InputError(source, f"binary file: looks like {what}, not text or HTML")
        nul = data.find(b"\x00")
        if nul >= 0:
            raise InputError(source, f"binary file: contains NUL bytes (the first at byte {nul}), not text or HTML")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            text = _guess_encoding(data, err, source, warnings)
    check_text(text, source)
    if not text.strip():
        raise InputError(source, "empty input (only whitespace)")
    return text, warnings


def _guess_encoding(data: bytes, err: UnicodeDecodeError, source: str, warnings: list[str]) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    where = f"byte 0x{data[err.start]:02x} at offset {err.start}"
    if best is None or best.chaos > 0.3:
        raise InputError(source, f"not valid UTF-8 ({where}) and no other text encoding fits")
    warnings.append(f"not valid UTF-8 ({where}); decoded as {best.encoding}")
    return str(best)


def read_limited(fh: BinaryIO, source: str, settings: Settings) -> bytes:
    data = fh.read(settings.max_bytes + 1)
    if len(data) > settings.max_bytes:
        raise InputError(source, too_large(settings))
    return data


def too_large(settings: Settings) -> str:
    mb = settings.max_bytes / (1024 * 1024)
    return f"input larger than the limit of {mb:g} MB; raise it with --max-bytes or UNSPIN_MAX_BYTES if you mean it"
