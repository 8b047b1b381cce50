"""The HTML pages through FastAPI's test client (no browser, no model): the form, the article page, exports."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from webdocs import ARTICLE, HOSTILE, analyze, with_known_spans

from unspin.document import Document
from unspin.web import create_app
from unspin.web import taxonomy as taxonomy_module


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app("sqlite://", analyzer=with_known_spans)) as c:
        yield c


# --- form and article page --------------------------------------------------------------------------


def test_form_post_redirects_to_the_article_page(client: TestClient) -> None:
    response = client.post("/analyze", data={"text": ARTICLE}, follow_redirects=False)
    assert response.status_code == 303
    target = response.headers["location"]
    page = client.get(target)
    assert page.status_code == 200 and "Traitors in the capital" in page.text
    assert 'class="piece"' in page.text
    assert "The ministry said the deal was signed on Tuesday." in page.text  # the claim
    assert client.get("/").text.count(target.rsplit("/", 1)[1]) >= 1  # listed under recent analyses


def test_page_without_spans_says_no_techniques_found() -> None:
    from unspin.pipeline import Pipeline

    no_models = Pipeline(stages=["language", "segment"])

    def found_nothing(content: str, kind: str, source: str) -> Document:
        doc = no_models.analyze_text(content, source=source)
        doc.stages.append("techniques")  # as if the techniques stage ran and found nothing
        return doc

    with TestClient(create_app("sqlite://", analyzer=found_nothing)) as c:
        body = c.post("/api/analyze", json={"text": ARTICLE}).json()
        assert body["spans"] == []
        page = c.get(f"/a/{body['id']}").text
        assert 'id="no-techniques" class="notice">No techniques found.' in page
        assert "plotly" not in page
    with TestClient(create_app("sqlite://", analyzer=no_models)) as c:  # no techniques stage at all
        body = c.post("/api/analyze", json={"text": ARTICLE}).json()
        assert body["spans"] is None and body["stages"] == ["language", "segment"]
        page = c.get(f"/a/{body['id']}").text
        assert "Techniques were not analysed for this document" in page and "No techniques found" not in page


def test_entities_and_narratives_appear_when_present() -> None:
    def analyzer(content: str, kind: str, source: str) -> Document:
        return Document(
            text=content,
            title="Roles",
            entities=[
                {
                    "name": "the <elites>",
                    "main_role": "Antagonist",
                    "roles": [{"role": "Deceiver", "score": 0.875}],
                    "score": 0.875,
                    "mentions": [{"start": 0, "end": 10}],
                }
            ],
            narratives=[
                {"narrative": "Discrediting the government", "subnarrative": None, "score": 0.5, "evidence": []}
            ],
        )

    with TestClient(create_app("sqlite://", analyzer=analyzer)) as c:
        body = c.post("/api/analyze", json={"text": "The elites lie."}).json()
        assert body["entities"][0]["main_role"] == "Antagonist"
        page = c.get(f"/a/{body['id']}").text
        assert "Cast" in page and "Antagonist" in page and "the &lt;elites&gt;" in page
        assert "Deceiver 88%" in page  # scores are rounded for reading
        assert "Narratives" in page and "Discrediting the government" in page
        report = c.get(f"/a/{body['id']}/report.html").text
        assert "Antagonist" in report and "Discrediting the government" in report


def test_claims_without_scores_are_listed_last() -> None:
    def analyzer(content: str, kind: str, source: str) -> Document:
        return Document(
            text=content,
            claims=[{"start": 0, "end": 4, "score": None}, {"start": 5, "end": 9, "text": "was", "score": 0.9}],
        )

    with TestClient(create_app("sqlite://", analyzer=analyzer)) as c:
        page = c.get(f"/a/{c.post('/api/analyze', json={'text': 'This was it.'}).json()['id']}").text
        assert page.index("<q>was</q>") < page.index("<q>This</q>")


def test_unknown_page_is_an_html_404_for_browsers(client: TestClient) -> None:
    response = client.get("/a/nope", headers={"Accept": "text/html"})
    assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")
    assert "no analysis with id" in response.text and "unspin 0." in response.text


def test_too_large_form_post_gets_a_page() -> None:
    with TestClient(create_app("sqlite://", analyzer=with_known_spans, max_body=1000)) as c:
        response = c.post("/analyze", data={"text": "x" * 5000}, headers={"Accept": "text/html"})
        assert response.status_code == 413
        assert response.headers["content-type"].startswith("text/html")
        assert "limit of" in response.text and "<script" not in response.text


# --- hostile text and the content security policy ---------------------------------------------------


def test_pages_send_a_strict_content_security_policy(client: TestClient) -> None:
    body = analyze(client)
    for path in ("/", f"/a/{body['id']}", "/api/health"):
        csp = client.get(path).headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert "default-src 'none'" in csp


def test_article_page_loads_nothing_from_outside(client: TestClient) -> None:
    page = client.get(f"/a/{analyze(client)['id']}").text
    for ref in re.findall(r'(?:src|href)="([^"]*)"', page):
        assert ref.startswith("/"), ref
    assert '<script src="/static/vendor/plotly.min.js">' in page
    assert client.get("/static/vendor/plotly.min.js").status_code == 200
    assert not re.search(r"<[^>]+\son[a-z]+=", page), "no inline event handlers"


def test_article_page_escapes_hostile_text(client: TestClient) -> None:
    page = client.get(f"/a/{analyze(client, HOSTILE)['id']}").text
    assert "&lt;script&gt;window.__pwned = 1;&lt;/script&gt;" in page
    assert "<script>window" not in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=" in page
    assert 'href="javascript:' not in page
    assert "</textarea><b>" not in page
    assert len(re.findall(r"<script", page)) == 2  # plotly and the page's own script, both from /static


def test_hostile_text_is_escaped_in_the_form_after_an_error(client: TestClient) -> None:
    pdf = {"file": ("x.pdf", b"%PDF-1.4", "application/pdf")}
    response = client.post("/analyze", data={"text": HOSTILE}, files=pdf)
    assert response.status_code == 415
    assert "&lt;/textarea&gt;&lt;b&gt;" in response.text and "</textarea><b>" not in response.text


# --- exports ----------------------------------------------------------------------------------------


def test_json_export(client: TestClient) -> None:
    body = analyze(client)
    export = client.get(f"/a/{body['id']}/export.json")
    assert export.headers["content-disposition"].startswith("attachment")
    assert export.json()["spans"] == body["spans"]


def test_html_report_is_self_contained_and_escaped(client: TestClient) -> None:
    body = analyze(client, HOSTILE + "\n\n" + ARTICLE)
    report = client.get(f"/a/{body['id']}/report.html", params={"min_score": 0.6, "t": ["Loaded_Language", "Doubt"]})
    assert report.status_code == 200 and report.headers["content-disposition"].startswith("attachment")
    html = report.text
    assert "<script" not in html.replace("&lt;script", "")
    assert not re.search(r'(?:src|href)="', html)
    assert "<style>" in html and "&lt;script&gt;window.__pwned" in html
    assert "Loaded language" in html and "Doubt" in html
    assert "Flag-Waving" not in html  # filtered out
    assert f"inset 0 -3px 0 {taxonomy_module.describe('Loaded_Language')['colour']}" in html
