"""Metadata: title, author, date, URL and outlet from the record, the page and the text, in that order."""

from __future__ import annotations

from dataclasses import dataclass

from unspin.clean.debris import clean_text
from unspin.ingest.build import build_document
from unspin.ingest.sources import RawInput
from unspin.metadata.article import fill_metadata, text_metadata
from unspin.metadata.byline import normalise_author, parse_byline

BLOG = (
    "Harbour Workers Say Night Shipments Doubled\n"
    "By Petra KOVALENKO, June 3, 2017\n"
    "\n"
    "The harbour at the northern end of the bay has been busy at night for most of this spring.\n"
    "Workers say the ships come in after midnight and leave before the morning shift arrives.\n"
    "No comments:\n"
    "http://www.example-review.org/news/2017/06/03/harbour\n"
)


def test_bylines_and_datelines_are_read():
    assert parse_byline("By Andrei AKULOV, November 14, 2015") == ("Andrei Akulov", "2015-11-14")
    assert parse_byline("Posted by Jane Doe at 10:15 PM") == ("Jane Doe", None)
    assert parse_byline("Published: 14.11.2015") == (None, "2015-11-14")
    assert parse_byline("The minister spoke on 14 November 2015 about the plan.") is None
    assert normalise_author(" Jean-Paul DUPONT-MOREAU |") == "Jean-Paul Dupont-Moreau"


def test_cleaning_drops_the_metadata_lines_and_metadata_reads_them():
    cleaned = clean_text(BLOG)
    reasons = {BLOG[r.start : r.end]: r.reason for r in cleaned.removed}
    assert reasons["By Petra KOVALENKO, June 3, 2017"] == "byline"
    assert reasons["http://www.example-review.org/news/2017/06/03/harbour"] == "source link"
    assert cleaned.text[slice(*cleaned.title_span)] == "Harbour Workers Say Night Shipments Doubled"

    found = text_metadata(BLOG, cleaned.removed)
    assert (found.author, found.published) == ("Petra Kovalenko", "2017-06-03")
    assert found.url == "http://www.example-review.org/news/2017/06/03/harbour"
    assert found.outlet == "example-review.org"


def test_text_metadata_needs_the_lines_dropped():
    # the same lines kept in the text (no cleaning) say nothing: only dropped lines are metadata
    found = text_metadata(BLOG, [])
    assert found.author is None and found.published is None and found.url is None


def test_outlet_name_from_a_photo_credit_even_without_cleaning():
    text = "Talks Resume\n\nThe talks resumed on Monday after a long pause.\n© Northwind Radio International / A. Lee\n"
    found = text_metadata(text, [])
    assert found.outlet_name == "Northwind Radio International"


@dataclass
class Page:
    text: str
    title: str | None = "Page title"
    url: str | None = "https://www.page.example/a"
    author: str | None = "Page Author"
    published: str | None = "2020-01-02"
    outlet: str | None = "page.example"
    outlet_name: str | None = None
    extractor: str = "trafilatura"


def test_the_record_wins_over_the_text():
    raw = RawInput(source="feed.jsonl:1", content=BLOG, kind="text", hints={"author": "Given Author", "outlet": "rt"})
    doc = build_document(raw)
    assert doc.author == "Given Author"
    assert doc.published == "2017-06-03"  # not in the record: from the byline
    assert doc.outlet == "rt.com" and doc.outlet_name == "rt"
    assert doc.title == "Harbour Workers Say Night Shipments Doubled"
    assert doc.meta["title_span"] == [0, len(doc.title)]


def test_the_page_wins_over_the_text_and_loses_to_the_record():
    doc = build_document(RawInput(source="blog.txt", content=BLOG, kind="text"))
    fill_metadata(doc, {"title": "Record title"}, Page(text=doc.text), doc.meta.get("title_span"))
    assert doc.title == "Record title"
    assert (doc.author, doc.published, doc.url) == ("Page Author", "2020-01-02", "https://www.page.example/a")
    assert doc.outlet == "page.example"
