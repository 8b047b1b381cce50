"""Input bytes to text: binary formats refused with a reason, other encodings decoded with a warning,
and the size limit every reader applies."""

from __future__ import annotations

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
]


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


def read_limited(fh: BinaryIO, source: str, settings: Settings) -> bytes:
    data = fh.read(settings.max_bytes + 1)
    if len(data) > settings.max_bytes:
        raise InputError(source, too_large(settings))
    return data


def too_large(settings: Settings) -> str:
    mb = settings.max_bytes / (1024 * 1024)
    return f"input larger than the limit of {mb:g} MB; raise it with --max-bytes or UNSPIN_MAX_BYTES if you mean it"
