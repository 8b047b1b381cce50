"""Article coverage has one definition: the API's `scores.article.share`, the article page (before and
after the reader narrows the spans shown) and the HTML report all give the same number."""

from __future__ import annotations

import itertools

import lxml.html
from fastapi.testclient import TestClient
from webdocs import ARTICLE, with_known_spans

from unspin.document import Document, Span
from unspin.scoring import article_scores, coverage, merge_repeats, non_space_count, set_technique_spans
from unspin.web import create_app
from unspin.web.highlight import percent, report_view

# spans over runs of white space and line breaks: the definitions used to disagree exactly there
SPACED = ARTICLE.replace(". ", ".   \n ", 3) + "\n\n\n   \u00a0 The end.  \n"


def scored(content: str, kind: str, source: str) -> Document:
    """The web tests' known spans, scored as the technique stage scores them."""
    doc = with_known_spans(content, kind, source)
    doc.spans.append(Span(0, min(len(doc.text), 60), "Repetition", 0.4))  # from the title into the body
    return set_technique_spans(doc, doc.spans)


def _page_coverage(page: lxml.html.HtmlElement, visible: set[int]) -> float:
    """What article.js computes: the non-space counts of the pieces that a visible span covers, over
    the text's non-space count (both written into the page by the server)."""
    total = int(page.get_element_by_id("article-text").get("data-non-space")) or 1
    covered = 0
    for piece in page.find_class("piece"):
        if visible & {int(i) for i in piece.get("data-s").split()}:
            covered += int(piece.get("data-n"))
    return covered / total


def test_page_api_and_report_agree_on_coverage() -> None:
    with TestClient(create_app("sqlite://", analyzer=scored)) as client:
        body = client.post("/api/analyze", json={"text": SPACED}).json()
        page = lxml.html.fromstring(client.get(body["url"]).text)
        record = {"id": body["id"], "document": body}
        text = body["text"]
        share = body["scores"]["article"]["share"]
        assert share == round(coverage(text, [(s["start"], s["end"]) for s in body["spans"]]), 4)
        items = page.get_element_by_id("span-list").findall("li")
        assert len(items) == len(body["spans"])
        everything = {int(li.get("data-i")) for li in items}
        assert round(_page_coverage(page, everything), 4) == share
        assert page.get_element_by_id("coverage").text_content() == f"{percent(_page_coverage(page, everything))}%"
        # the reader narrows the spans: by confidence, by technique, both
        techniques = sorted({s["technique"] for s in body["spans"]})
        for min_score, chosen in itertools.product((0.0, 0.6, 0.85), (techniques, techniques[::2], ["Slogans"])):
            visible = {
                int(li.get("data-i"))
                for li in items
                if float(li.get("data-score")) >= min_score and li.get("data-technique") in chosen
            }
            api = [
                (s["start"], s["end"]) for s in body["spans"] if s["score"] >= min_score and s["technique"] in chosen
            ]
            expected = coverage(text, api)
            assert _page_coverage(page, visible) == expected
            report = report_view(record, min_score, set(chosen))
            assert report["coverage"] == expected and report["coverage_percent"] == percent(expected)


def test_coverage_counts_each_non_space_character_once() -> None:
    text = "Evil\u00a0plan  here.\n\nThey\u2003lie\u3000again."
    assert non_space_count(text) == sum(not c.isspace() for c in text)
    assert coverage(text, [(0, 9), (5, 15)]) == sum(not c.isspace() for c in text[:15]) / non_space_count(text)
    assert coverage(text, [(16, 18)]) == 0.0  # white space only
    assert coverage("   ", [(0, 3)]) == 0.0
    assert article_scores(text, [Span(0, 9, "Doubt", 0.5)])["share"] == round(8 / non_space_count(text), 4)


def test_percent_rounds_halves_up_like_the_page() -> None:
    assert [percent(x) for x in (0.0, 0.004, 0.005, 0.125, 0.135, 0.285, 0.995, 1.0)] == [0, 0, 1, 13, 14, 28, 100, 100]


def test_repeated_spans_of_one_technique_become_their_union() -> None:
    ll, nc = "Loaded_Language", "Name_Calling,Labeling"
    spans = [
        Span(10, 20, ll, 0.3, precise=False),
        Span(12, 18, ll, 0.8, precise=False),
        Span(20, 25, ll, 0.4, precise=False),  # touches the first: merged, as the official metric does
        Span(30, 40, ll, 0.2, precise=False),  # apart: kept
        Span(14, 16, nc, 0.9, precise=False),  # another technique: kept
    ]
    merged = merge_repeats(spans)
    assert [(s.start, s.end, s.technique, s.score) for s in merged] == [
        (10, 25, ll, 0.8),
        (14, 16, nc, 0.9),
        (30, 40, ll, 0.2),
    ]
    assert merge_repeats([]) == []


def test_merging_keeps_the_default_view_what_it_was() -> None:
    """A surer span inside a less sure one stays apart from it: the precise ones alone (the default view)
    are what they would be if only they had been merged."""
    ll = "Loaded_Language"
    spans = [
        Span(0, 40, ll, 0.3, precise=False),
        Span(5, 12, ll, 0.9, precise=True),
        Span(10, 15, ll, 0.8, precise=True),
    ]
    merged = merge_repeats(spans)
    assert [(s.start, s.end, s.precise) for s in merged] == [(0, 40, False), (5, 15, True)]
    doc = set_technique_spans(Document(text="x" * 50), merged, precise_only=True)
    assert [(s.start, s.end) for s in doc.spans] == [(5, 15)]
