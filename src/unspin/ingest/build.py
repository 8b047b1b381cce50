"""RawInput -> Document: extraction (HTML), cleaning, then metadata, with the offset maps kept."""

from __future__ import annotations

from pathlib import Path

from unspin.clean.debris import clean_text
from unspin.document import Document
from unspin.errors import InputError
from unspin.ingest.decode import check_length, check_text
from unspin.ingest.htmlmap import html_offset_map
from unspin.ingest.sources import RawInput
from unspin.metadata.article import fill_metadata
from unspin.settings import Settings


def _default_id(raw: RawInput) -> str | None:
    """The record's own id; else the file name without its suffixes (`article123`), with the line
    number for a record of a JSONL/CSV file (`feed:3`); None for standard input and pasted text."""
    if raw.hints.get("id"):
        return str(raw.hints["id"])
    if raw.source.startswith("<"):
        return None
    path, _, where = raw.source.partition("#")  # WARC records: path#uri
    name = Path(path).name
    line = ""
    if ":" in name and name.rsplit(":", 1)[1].isdigit():
        name, line = name.rsplit(":", 1)
    for suffix in (".gz", ".html", ".htm", ".txt", ".text", ".md", ".jsonl", ".ndjson", ".csv", ".warc"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    if where:
        return where
    return f"{name}:{line}" if line else (name or None)


def build_document(raw: RawInput, settings: Settings | None = None) -> Document:
    """Extract (HTML), clean, then read the metadata; raises InputError when no article text remains."""
    settings = settings or Settings()
    check_text(raw.content, raw.source)  # the same rules for a file, a record and a form
    warnings = list(raw.warnings)
    page = None
    source_text = raw.content
    if raw.kind == "html":
        from unspin.ingest.html import extract_article  # trafilatura and lxml load only for HTML (0.2 s)

        page = extract_article(raw.content, url=raw.hints.get("url"))
        warnings.extend(page.warnings)
        source_text = page.text
    check_length(source_text, raw.source, settings)  # before cleaning: that too takes time per character
    # an HTML page's title is in its own metadata, not on the first line of its body
    detect_title = settings.detect_title and page is None
    cleaned = clean_text(source_text, detect_title=detect_title, remove_debris=settings.clean)
    if not cleaned.text.strip():
        reason = "no article text found in the HTML" if page is not None else "no article text left after cleaning"
        raise InputError(raw.source, reason)

    doc = Document(
        text=cleaned.text,
        source=raw.source,
        source_text=source_text,
        source_kind=raw.kind,
        source_map=cleaned.source_map,
        removed=cleaned.removed,
        warnings=warnings,
    )
    if page is not None:
        doc.html_map = cleaned.source_map.compose(html_offset_map(source_text, raw.content))
    doc.id = _default_id(raw)
    if cleaned.title_span:
        doc.meta["title_span"] = list(cleaned.title_span)
    if page is not None:
        doc.meta["extractor"] = page.extractor
    return fill_metadata(doc, raw.hints, page, cleaned.title_span)
