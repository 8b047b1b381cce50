"""Article body and metadata from raw HTML.

Two extractors vote: trafilatura (body and metadata) and the readability algorithm (body), in the
port that ships inside trafilatura (4x faster here than the readability-lxml package, which
`bench/extraction.py` also measures). Trafilatura keeps more of the page; when readability's body is
a clearly shorter text that trafilatura's body contains almost entirely, the extra part is page
furniture (related links, teasers, bylines repeated), and readability's body is used. Measured on
120 real pages (bench/extraction.py) this beats both extractors alone.
"""

from __future__ import annotations

import copy
import logging
import re
from collections import Counter
from dataclasses import dataclass, field

import lxml.html
import trafilatura
from lxml import etree
from trafilatura.readability_lxml import Document as ReadabilityDocument

from unspin.ingest.htmlmap import visible_text
from unspin.metadata.outlets import domain_of

# readability and trafilatura log page-level complaints at WARNING; they are not ours to show.
logging.getLogger("trafilatura").setLevel(logging.ERROR)
logging.getLogger("htmldate").setLevel(logging.ERROR)

# Thresholds of the vote, chosen on the extraction benchmark (a broad plateau, not a sharp optimum).
MIN_LENGTH_RATIO = 0.5
MAX_LENGTH_RATIO = 0.97
MIN_CONTAINED = 0.95

_WORD = re.compile(r"\w+")
# Trees at least this deep may have lost elements below the parser's depth limit.
_DEEP = 1000
_BLOCK_TAGS = {
    "p", "div", "section", "article", "main", "header", "footer", "aside", "nav", "blockquote", "pre",
    "li", "ul", "ol", "dl", "dt", "dd", "table", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6",
    "figure", "figcaption", "br", "hr", "form", "address", "center",
}  # fmt: skip
_SKIP_TAGS = {
    "script",
    "style",
    "noscript",
    "template",
    "iframe",
    "svg",
    "math",
    "button",
    "select",
    "textarea",
}


@dataclass
class ExtractedArticle:
    text: str
    title: str | None = None
    author: str | None = None
    published: str | None = None
    url: str | None = None
    outlet: str | None = None
    outlet_name: str | None = None
    language: str | None = None
    extractor: str = "trafilatura"
    warnings: list[str] = field(default_factory=list)


def _shingles(text: str, n: int = 4) -> Counter:
    words = _WORD.findall(text)
    return Counter(tuple(words[i : i + n]) for i in range(max(0, len(words) - n + 1)))


def block_text(root: etree._Element) -> str:
    """Visible text of an element tree, one line per block element, whitespace collapsed. Walks the
    tree with a stack of its own, so that a page nested 100,000 elements deep does not exhaust
    Python's recursion limit."""
    parts: list[str] = []
    # (element, entering): on entering, an element's opening and text; on leaving, its close and tail
    stack: list[tuple[etree._Element, bool]] = [(root, True)]
    while stack:
        el, entering = stack.pop()
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        block = tag in _BLOCK_TAGS
        if not entering:
            if block:
                parts.append("\n")
            if el.tail:
                parts.append(el.tail)
            continue
        if tag in _SKIP_TAGS or not isinstance(el.tag, str):
            if el.tail:
                parts.append(el.tail)
            continue
        if block:
            parts.append("\n")
        if el.text:
            parts.append(el.text)
        stack.append((el, False))
        stack.extend((child, True) for child in reversed(el))
    lines = (" ".join(line.split()) for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line)


def readability_body(page: str | etree._Element) -> str:
    """Body text by the readability algorithm; empty when it finds none (it is only a voter)."""
    try:
        tree = lxml.html.fromstring(page) if isinstance(page, str) else copy.deepcopy(page)
        summary = ReadabilityDocument(tree).summary()
        return block_text(lxml.html.fromstring(summary))
    except Exception:  # the algorithm raises on some odd pages; trafilatura's body then stands
        return ""


def choose_body(traf_text: str, read_text: str) -> tuple[str, str]:
    """The vote between the two bodies; returns (text, extractor name)."""
    t_sh, r_sh = _shingles(traf_text), _shingles(read_text)
    t_n, r_n = sum(t_sh.values()), sum(r_sh.values())
    if not t_n:
        return (read_text, "readability") if r_n else (traf_text, "trafilatura")
    if not r_n:
        return traf_text, "trafilatura"
    ratio = r_n / t_n
    contained = sum((r_sh & t_sh).values()) / r_n
    if MIN_LENGTH_RATIO <= ratio < MAX_LENGTH_RATIO and contained >= MIN_CONTAINED:
        return read_text, "readability"
    return traf_text, "trafilatura"


def _depth(root: etree._Element) -> int:
    deepest, stack = 0, [(root, 1)]
    while stack:
        el, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in el)
    return deepest


def _parse_lost_text(tree: etree._Element, html: str) -> bool:
    """Whether the parser dropped text: libxml2 silently leaves out what is nested deeper than its
    limit (2048 with huge_tree), so a tree that deep is checked against the text the markup shows."""
    if _depth(tree) < _DEEP:
        return False
    shown = len(_WORD.findall(visible_text(html)))
    kept = len(_WORD.findall(block_text(tree)))
    return kept < 0.9 * shown


def extract_article(html: str, url: str | None = None) -> ExtractedArticle:
    """Body text and metadata of an HTML page. Script, style and iframe content never reaches the text."""
    try:
        # huge_tree: libxml2 keeps elements nested up to 2048 deep instead of silently dropping
        # everything below depth 256
        tree = lxml.html.fromstring(html, parser=lxml.html.HTMLParser(huge_tree=True))
    except (etree.ParserError, ValueError):
        tree = None
    if tree is None or _parse_lost_text(tree, html):
        text = visible_text(html)
        why = "nested too deeply for the HTML parser" if tree is not None else "could not be parsed"
        return ExtractedArticle(
            text=text,
            url=url,
            extractor="visible-text",
            warnings=[f"HTML {why}: its visible text is used as it is, without article extraction"],
        )
    doc = trafilatura.bare_extraction(
        copy.deepcopy(tree),
        url=url,
        fast=True,
        include_comments=False,
        include_tables=True,
        with_metadata=True,
    )
    traf_text = (doc.text if doc is not None else "") or ""
    read_text = readability_body(tree)
    text, extractor = choose_body(traf_text, read_text)
    if not text.strip():
        # Neither extractor found an article: fall back to all visible text of the body.
        body = tree.find(".//body")
        text = block_text(body if body is not None else tree)
        extractor = "visible-text"
    out = ExtractedArticle(text=text, url=url, extractor=extractor)
    if doc is not None:
        out.title = doc.title or None
        out.author = doc.author or None
        out.published = doc.date or None
        out.url = url or doc.url or None
        out.outlet_name = doc.sitename or None
        out.language = doc.language or None
        out.outlet = domain_of(out.url) or (doc.hostname or None)
    if not out.title:
        title_el = tree.find(".//title")
        if title_el is not None and title_el.text and title_el.text.strip():
            out.title = " ".join(title_el.text.split())
    if out.outlet and out.outlet_name and out.outlet_name.lower() == out.outlet.lower():
        out.outlet_name = None
    return out
