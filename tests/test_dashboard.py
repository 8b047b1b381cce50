"""Corpus dashboard: outlets, charts' data, copies, an outlet page, corpus articles on the article page."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient

from unspin.document import Span
from unspin.pipeline import Pipeline
from unspin.store import Store
from unspin.web import create_app

BODY = (
    "The harbour authority said on Monday that the grain terminal would reopen after repairs. "
    "Officials blamed the outage on a decade of neglect by the previous administration. "
    "Traders warned that prices would rise if the terminal stayed closed for another week."
)


def make_doc(pipeline, title, outlet, published, body=BODY, spans=()):
    doc = pipeline.analyze_text(f"{title}\n\n{body}", outlet=outlet, published=published)
    doc.spans = [Span(doc.text.index(s), doc.text.index(s) + len(s), t, 0.9) for s, t in spans]
    doc.scores = {"article": {"share": 0.2}}
    return doc


def test_dashboard_outlet_page_and_corpus_article(tmp_path):
    db = f"sqlite:///{tmp_path / 'unspin.db'}"
    store = Store(db)
    p = Pipeline(stages=["language", "segment"])
    store.add_documents([
        make_doc(p, "Terminal to reopen", "agency.example", "2023-01-10",
                 spans=[("a decade of neglect", "Loaded_Language")]),
        make_doc(p, "Grain terminal reopening, says authority", "blog.example", "2023-01-12",
                 spans=[("prices would rise", "Appeal_to_fear-prejudice")]),
        make_doc(p, "<script>window.__pwned=1</script> Council news", "agency.example", "2023-02-01",
                 body="The council met on Tuesday to discuss the budget for the next year in detail."),
    ])  # fmt: skip
    with TestClient(create_app(db)) as client:
        page = client.get("/corpus", headers={"accept": "text/html"})
        assert page.status_code == 200
        html = page.text
        assert "agency.example" in html and "blog.example" in html
        assert "<script>window.__pwned" not in html  # titles are escaped
        data = json.loads(re.search(r'id="dashboard-data">(.*?)</script>', html, re.S).group(1))
        assert data["timeline"]["months"] == ["2023-01", "2023-02"]
        assert {t["technique"] for t in data["mix"]} == {"Loaded_Language", "Appeal_to_fear-prejudice"}
        assert 'id="copies"' in html and "similarity" in html  # the blog copy of the agency article
        assert "script-src 'self'" in page.headers["content-security-policy"]

        outlet = client.get("/corpus/outlet/agency.example", headers={"accept": "text/html"})
        assert outlet.status_code == 200 and "Terminal to reopen" in outlet.text
        link = re.search(r'href="(/a/corpus-\d+)">Terminal to reopen', outlet.text).group(1)
        article = client.get(link, headers={"accept": "text/html"})
        assert article.status_code == 200 and "decade of neglect" in article.text
        assert client.get("/corpus/outlet/nobody.example", headers={"accept": "text/html"}).status_code == 404


def test_empty_corpus_dashboard(tmp_path):
    with TestClient(create_app(f"sqlite:///{tmp_path / 'x.db'}")) as client:
        page = client.get("/corpus", headers={"accept": "text/html"})
        assert page.status_code == 200 and "Nothing stored yet" in page.text
