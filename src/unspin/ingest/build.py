"""RawInput -> Document: extraction (HTML), cleaning and metadata, with the offset map kept."""

from __future__ import annotations

from pathlib import Path

from unspin.clean.debris import clean_text
from unspin.document import Document
from unspin.errors import InputError
from unspin.ingest.htmlmap import html_offset_map
from unspin.ingest.sources import RawInput
from unspin.metadata.dates import normalise_date
from unspin.metadata.outlets import domain_of, outlet_domain_for_name, outlet_name_for_domain
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
    """Extract (HTML), clean and read metadata; raises InputError when no article text remains."""
    settings = settings or Settings()
    warnings = list(raw.warnings)
    hints = raw.hints
    extracted = None
    if raw.kind == "html":
        from unspin.ingest.html import extract_article  # trafilatura and lxml load only for HTML (0.2 s)

        extracted = extract_article(raw.content, url=hints.get("url"))
        warnings.extend(extracted.warnings)
        source_text = extracted.text
        cleaned = clean_text(source_text, detect_title=False, remove_debris=settings.clean)
    else:
        source_text = raw.content
        cleaned = clean_text(source_text, detect_title=settings.detect_title, remove_debris=settings.clean)
    if not cleaned.text.strip():
        reason = "no article text found in the HTML" if raw.kind == "html" else "no article text left after cleaning"
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
    if raw.kind == "html":
        doc.html_map = cleaned.source_map.compose(html_offset_map(source_text, raw.content))
    doc.id = _default_id(raw)
    # Precedence: what the user's record says, then the page's metadata, then what the text says.
    doc.title = hints.get("title") or (extracted.title if extracted else None) or cleaned.title
    doc.url = hints.get("url") or (extracted.url if extracted else None) or cleaned.url
    doc.author = hints.get("author") or (extracted.author if extracted else None) or cleaned.author
    doc.published = (
        normalise_date(hints.get("published"))
        or (normalise_date(extracted.published) if extracted else None)
        or cleaned.published
    )
    outlet_hint = hints.get("outlet")
    doc.outlet = (
        (domain_of(outlet_hint) if outlet_hint and "." in outlet_hint else None)
        or outlet_domain_for_name(outlet_hint)
        or (extracted.outlet if extracted else None)
        or cleaned.outlet
        or domain_of(doc.url)
    )
    doc.outlet_name = (
        (outlet_hint if outlet_hint and "." not in outlet_hint else None)
        or (extracted.outlet_name if extracted else None)
        or cleaned.outlet_name
        or outlet_name_for_domain(doc.outlet)
    )
    if doc.outlet is None and doc.outlet_name:
        # no domain known: the name the page signs with still groups the outlet's articles
        doc.outlet = doc.outlet_name
    if cleaned.title_span:
        doc.meta["title_span"] = list(cleaned.title_span)
    if extracted is not None:
        doc.meta["extractor"] = extracted.extractor
    if cleaned.notes:
        doc.meta.update(cleaned.notes)
    return doc
