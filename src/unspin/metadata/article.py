"""An article's metadata, found in one place: title, URL, author, publication date, outlet.

Three sources, in this order of precedence: what the user's record says (`hints`: the fields of a
JSONL/CSV record), what the page says (an HTML page's own metadata, `PageMetadata`), and what the text
says (`text_metadata`: the title line the cleaner kept, and the byline, dateline, source link and
source note lines it dropped, read again here). Language is found by the `language` stage
(`unspin.metadata.language`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from unspin.document import Document, Removal
from unspin.metadata.byline import parse_byline
from unspin.metadata.dates import normalise_date
from unspin.metadata.outlets import caption_signatures, domain_of, outlet_domain_for_name, outlet_name_for_domain

_URL_IN_TEXT = re.compile(r"https?://\S+")


class PageMetadata(Protocol):
    """What an HTML page says about itself (`unspin.ingest.html.ExtractedArticle` is one)."""

    title: str | None
    url: str | None
    author: str | None
    published: str | None
    outlet: str | None
    outlet_name: str | None


@dataclass
class TextMetadata:
    """What the text itself says about the article."""

    title: str | None = None
    url: str | None = None
    author: str | None = None
    published: str | None = None
    outlet: str | None = None
    outlet_name: str | None = None
    notes: dict[str, str] = field(default_factory=dict)


def text_metadata(source: str, removed: Sequence[Removal], title: str | None = None) -> TextMetadata:
    """Metadata from the input text: `title` is the line kept as the title (if any), `removed` the
    lines the cleaner dropped, with their reasons (offsets into `source`)."""
    found = TextMetadata(title=title)
    for r in removed:
        line = source[r.start : r.end].strip()
        if r.reason == "byline":
            by = parse_byline(line)
            if by:
                found.author = found.author or by[0]
                found.published = found.published or by[1]
        elif r.reason == "source link":
            # a bare URL at the end is the source the text was taken from
            if found.url is None:
                found.url = line.rstrip(" |").strip()
        elif r.reason == "source note":
            found.notes["source_note"] = line
            m = _URL_IN_TEXT.search(line)
            if m and found.url is None:
                found.url = m.group(0).rstrip(").,;")

    credit_names, caption_names = caption_signatures(s.strip() for s in source.split("\n"))
    if credit_names or caption_names:
        names = sorted(caption_names or set(credit_names), key=len, reverse=True)
        found.outlet_name = names[0]
    if found.url:
        found.outlet = domain_of(found.url)
    if found.outlet and not found.outlet_name:
        found.outlet_name = outlet_name_for_domain(found.outlet)
    if found.outlet is None and found.outlet_name:
        found.outlet = outlet_domain_for_name(found.outlet_name) or (
            outlet_domain_for_name(credit_names[0]) if credit_names else None
        )
    return found


def fill_metadata(
    doc: Document,
    hints: Mapping[str, str],
    page: PageMetadata | None = None,
    title_span: tuple[int, int] | None = None,
) -> Document:
    """Set the document's title, URL, author, date and outlet from the record, the page and the text
    (in that order); `title_span` is where the cleaner kept the title line in `doc.text`."""
    title = doc.text[title_span[0] : title_span[1]] if title_span else None
    found = text_metadata(doc.source_text, doc.removed, title)
    doc.title = hints.get("title") or (page.title if page else None) or found.title
    doc.url = hints.get("url") or (page.url if page else None) or found.url
    doc.author = hints.get("author") or (page.author if page else None) or found.author
    doc.published = (
        normalise_date(hints.get("published"))
        or (normalise_date(page.published) if page else None)
        or found.published
    )
    outlet_hint = hints.get("outlet")
    doc.outlet = (
        (domain_of(outlet_hint) if outlet_hint and "." in outlet_hint else None)
        or outlet_domain_for_name(outlet_hint)
        or (page.outlet if page else None)
        or found.outlet
        or domain_of(doc.url)
    )
    doc.outlet_name = (
        (outlet_hint if outlet_hint and "." not in outlet_hint else None)
        or (page.outlet_name if page else None)
        or found.outlet_name
        or outlet_name_for_domain(doc.outlet)
    )
    if doc.outlet is None and doc.outlet_name:
        # no domain known: the name the page signs with still groups the outlet's articles
        doc.outlet = doc.outlet_name
    doc.meta.update(found.notes)
    return doc
