"""The REST API through FastAPI's test client (no model): analyse, fetch, bad input, limits, the API key."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from webdocs import ARTICLE, analyze, is_error, slow, with_known_spans

from unspin.document import Document, Span
from unspin.web import create_app


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app("sqlite://", analyzer=with_known_spans)) as c:
        yield c


# --- analyse and fetch ------------------------------------------------------------------------------


def test_health_answers_without_a_key() -> None:
    with TestClient(create_app("sqlite://", api_key="s3cret")) as c:
        assert c.get("/api/health").json()["status"] == "ok"


def test_analyze_text_returns_the_document_with_id_and_url(client: TestClient) -> None:
    body = analyze(client)
    assert body["title"].startswith("Traitors in the capital")
    assert "corrupt elites" in body["text"]
    assert body["url"].endswith(f"/a/{body['id']}")
    techniques = {s["technique"] for s in body["spans"]}
    assert {"Name_Calling,Labeling", "Flag-Waving", "Doubt"} <= techniques
    for span in body["spans"]:
        assert body["text"][span["start"] : span["end"]]
    assert body["claims"][0]["text"] == "The ministry said the deal was signed on Tuesday."


def test_min_score_narrows_the_reply_and_keeps_every_span_stored(client: TestClient) -> None:
    full = analyze(client)
    response = client.post("/api/analyze?min_score=0.7", json={"text": ARTICLE})
    assert response.status_code == 200, response.text
    narrow = response.json()
    expected = [s for s in full["spans"] if s["score"] >= 0.7]
    assert 0 < len(expected) < len(full["spans"])
    assert narrow["spans"] == expected
    article = narrow["scores"]["article"]
    assert article["min_score"] == 0.7 and article["n_spans"] == len(expected)
    assert set(article["counts"]) == {s["technique"] for s in expected}
    for sent in narrow["sentences"]:
        inside = [s["score"] for s in expected if s["start"] < sent["end"] and s["end"] > sent["start"]]
        assert sent["score"] == round(max(inside, default=0.0), 4)
    assert narrow["text"] == full["text"] and narrow["claims"] == full["claims"]
    # the store keeps every span: the same analysis read back whole, and narrowed on request
    whole = client.get(f"/api/analyses/{narrow['id']}").json()
    assert whole["spans"] == full["spans"]
    again = client.get(f"/api/analyses/{narrow['id']}", params={"min_score": 0.7}).json()
    assert again["spans"] == expected and again["scores"]["article"] == article
    body = is_error(client.get(f"/api/analyses/{narrow['id']}", params={"min_score": 1.5}), 422, "invalid_request")
    assert "min_score" in body["reason"]


def test_analysis_is_stored_under_its_id(client: TestClient) -> None:
    body = analyze(client)
    again = client.get(f"/api/analyses/{body['id']}")
    assert again.status_code == 200
    assert again.json() == body


def test_default_pipeline_serves_the_contract() -> None:
    with TestClient(create_app("sqlite://")) as c:
        response = c.post("/api/analyze", json={"text": ARTICLE})
        assert response.status_code == 200
        body = response.json()
        for key in ("title", "text", "spans", "outlet", "author", "published", "language", "claims", "id", "url"):
            assert key in body
        html = c.post("/api/analyze", json={"html": "<html><head><title>T</title></head><body><p>" + ARTICLE + "</p>"})
        assert html.status_code == 200 and html.json()["source_kind"] == "html"


def test_upload_text_and_html_files(client: TestClient) -> None:
    txt = client.post("/api/analyze", files={"file": ("piece.txt", ARTICLE.encode(), "text/plain")})
    assert txt.status_code == 200 and txt.json()["source"] == "piece.txt"
    page = "<html><body><article><h1>Title here</h1><p>" + ARTICLE.replace("\n\n", "</p><p>") + "</p></article>"
    html = client.post("/api/analyze", files={"file": ("page.html", page.encode(), "text/html")})
    assert html.status_code == 200 and html.json()["source_kind"] == "html"


def test_store_keeps_span_rows_for_injected_spans() -> None:
    app = create_app("sqlite://", analyzer=lambda c, k, s: Document(text=c, spans=[Span(0, 2, "Slogans", 0.5)]))
    with TestClient(app) as c:
        body = c.post("/api/analyze", json={"text": "Hi there"}).json()
        assert body["spans"] == [{"technique": "Slogans", "start": 0, "end": 2, "score": 0.5}]


def test_unknown_analysis_is_404_json(client: TestClient) -> None:
    is_error(client.get("/api/analyses/nope"), 404, "not_found")


def test_techniques_lists_the_taxonomy(client: TestClient) -> None:
    items = client.get("/api/techniques").json()["techniques"]
    assert len(items) == 14
    assert {"Loaded_Language", "Name_Calling,Labeling", "Appeal_to_fear-prejudice"} <= {t["label"] for t in items}
    for t in items:
        assert set(t) == {"label", "name", "colour", "definition", "why", "example"}
        assert re.fullmatch(r"#[0-9a-f]{6}", t["colour"])


def test_openapi_schema_and_docs_page(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    assert {"/api/analyze", "/api/analyses/{analysis_id}", "/api/techniques", "/api/health"} <= set(spec["paths"])
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and "/api/analyze" in docs.text


# --- bad input and limits ---------------------------------------------------------------------------


def test_binary_upload_is_415(client: TestClient) -> None:
    body = is_error(
        client.post("/api/analyze", files={"file": ("scan.pdf", b"%PDF-1.7\n\x00\x01binary", "application/pdf")}),
        415,
        "unsupported_media_type",
    )
    assert "PDF" in body["reason"]


def test_empty_and_missing_input(client: TestClient) -> None:
    is_error(client.post("/api/analyze", json={"text": "   "}), 400, "bad_input")
    is_error(client.post("/api/analyze", json={"title": "x"}), 422, "invalid_request")
    is_error(client.post("/api/analyze", json={"text": 3}), 422, "invalid_request")
    is_error(
        client.post("/api/analyze", content=b"{not json", headers={"content-type": "application/json"}),
        400,
        "invalid_json",
    )
    is_error(
        client.post("/api/analyze", content=b"text", headers={"content-type": "text/plain"}),
        415,
        "unsupported_media_type",
    )


def test_body_over_the_limit_is_413() -> None:
    with TestClient(create_app("sqlite://", analyzer=with_known_spans, max_body=1000)) as c:
        body = is_error(c.post("/api/analyze", json={"text": "x" * 2000}), 413, "payload_too_large")
        assert "limit" in body["reason"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted while streaming
            yield b'{"text": "'
            for _ in range(10):
                yield b"y" * 200
            yield b'"}'

        streamed = c.post("/api/analyze", content=chunks(), headers={"content-type": "application/json"})
        is_error(streamed, 413, "payload_too_large")
        assert c.post("/api/analyze", json={"text": ARTICLE[:500]}).status_code == 200


def test_analysis_over_the_time_limit_is_504() -> None:
    with TestClient(create_app("sqlite://", analyzer=slow, time_limit=0.2)) as c:
        body = is_error(c.post("/api/analyze", json={"text": "slow"}), 504, "analysis_timeout")
        assert "0.2" in body["reason"]


def test_a_failing_analyser_gives_a_json_500_without_internal_text() -> None:
    def broken(content: str, kind: str, source: str) -> Document:
        raise RuntimeError("model file missing at /srv/secret/path")

    with TestClient(create_app("sqlite://", analyzer=broken), raise_server_exceptions=False) as c:
        body = is_error(c.post("/api/analyze", json={"text": "x"}), 500, "internal_error")
        assert "RuntimeError" in body["reason"] and "/srv/secret" not in body["reason"]


# --- API key ----------------------------------------------------------------------------------------


def test_api_key_required_when_configured() -> None:
    with TestClient(create_app("sqlite://", analyzer=with_known_spans, api_key="s3cret")) as c:
        is_error(c.post("/api/analyze", json={"text": ARTICLE}), 401, "unauthorized")
        is_error(c.get("/api/techniques", headers={"X-API-Key": "wrong"}), 401, "unauthorized")
        ok = c.post("/api/analyze", json={"text": ARTICLE}, headers={"X-API-Key": "s3cret"})
        assert ok.status_code == 200
        page = c.get(f"/a/{ok.json()['id']}", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
        c.post("/login", data={"key": "s3cret", "next": "/"}, follow_redirects=False)
        assert c.get(f"/a/{ok.json()['id']}").status_code == 200


def test_api_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNSPIN_API_KEY", "from-env")
    with TestClient(create_app("sqlite://", analyzer=with_known_spans)) as c:
        assert c.get("/api/techniques").status_code == 401
        assert c.get("/api/techniques", headers={"X-API-Key": "from-env"}).status_code == 200
