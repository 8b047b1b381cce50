"""The REST API and the pages over it, through FastAPI's test client (no browser, no model)."""

from __future__ import annotations

import json
import os
import re
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner
from webdocs import ARTICLE, HOSTILE, slow, with_known_spans

from unspin.cli.main import app as cli_app
from unspin.document import Document, Span
from unspin.web import check_bind, create_app
from unspin.web import taxonomy as taxonomy_module
from unspin.web.highlight import split_pieces


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app("sqlite://", analyzer=with_known_spans)) as c:
        yield c


def _analyze(client: TestClient, text: str = ARTICLE) -> dict:
    response = client.post("/api/analyze", json={"text": text})
    assert response.status_code == 200, response.text
    return response.json()


def _is_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["error"] == code and body["reason"]
    return body


# --- analyse and fetch -------------------------------------------------------------------------


def test_health_answers_without_a_key() -> None:
    with TestClient(create_app("sqlite://", api_key="s3cret")) as c:
        assert c.get("/api/health").json()["status"] == "ok"


def test_analyze_text_returns_the_document_with_id_and_url(client: TestClient) -> None:
    body = _analyze(client)
    assert body["title"].startswith("Traitors in the capital")
    assert "corrupt elites" in body["text"]
    assert body["url"].endswith(f"/a/{body['id']}")
    techniques = {s["technique"] for s in body["spans"]}
    assert {"Name_Calling,Labeling", "Flag-Waving", "Doubt"} <= techniques
    for span in body["spans"]:
        assert body["text"][span["start"] : span["end"]]
    assert body["claims"][0]["text"] == "The ministry said the deal was signed on Tuesday."


def test_min_score_narrows_the_reply_and_keeps_every_span_stored(client: TestClient) -> None:
    full = _analyze(client)
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
    body = _is_error(client.get(f"/api/analyses/{narrow['id']}", params={"min_score": 1.5}), 422, "invalid_request")
    assert "min_score" in body["reason"]


def test_analysis_is_stored_under_its_id(client: TestClient) -> None:
    body = _analyze(client)
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


def test_unknown_analysis_is_404_json(client: TestClient) -> None:
    _is_error(client.get("/api/analyses/nope"), 404, "not_found")


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


# --- bad input and limits ----------------------------------------------------------------------


def test_binary_upload_is_415(client: TestClient) -> None:
    body = _is_error(
        client.post("/api/analyze", files={"file": ("scan.pdf", b"%PDF-1.7\n\x00\x01binary", "application/pdf")}),
        415,
        "unsupported_media_type",
    )
    assert "PDF" in body["reason"]


def test_empty_and_missing_input(client: TestClient) -> None:
    _is_error(client.post("/api/analyze", json={"text": "   "}), 400, "bad_input")
    _is_error(client.post("/api/analyze", json={"title": "x"}), 422, "invalid_request")
    _is_error(client.post("/api/analyze", json={"text": 3}), 422, "invalid_request")
    _is_error(
        client.post("/api/analyze", content=b"{not json", headers={"content-type": "application/json"}),
        400,
        "invalid_json",
    )
    _is_error(
        client.post("/api/analyze", content=b"text", headers={"content-type": "text/plain"}),
        415,
        "unsupported_media_type",
    )


def test_body_over_the_limit_is_413() -> None:
    with TestClient(create_app("sqlite://", analyzer=with_known_spans, max_body=1000)) as c:
        body = _is_error(c.post("/api/analyze", json={"text": "x" * 2000}), 413, "payload_too_large")
        assert "limit" in body["reason"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted while streaming
            yield b'{"text": "'
            for _ in range(10):
                yield b"y" * 200
            yield b'"}'

        streamed = c.post("/api/analyze", content=chunks(), headers={"content-type": "application/json"})
        _is_error(streamed, 413, "payload_too_large")
        assert c.post("/api/analyze", json={"text": ARTICLE[:500]}).status_code == 200


def test_analysis_over_the_time_limit_is_504() -> None:
    with TestClient(create_app("sqlite://", analyzer=slow, time_limit=0.2)) as c:
        body = _is_error(c.post("/api/analyze", json={"text": "slow"}), 504, "analysis_timeout")
        assert "0.2" in body["reason"]


# --- API key -----------------------------------------------------------------------------------


def test_api_key_required_when_configured() -> None:
    with TestClient(create_app("sqlite://", analyzer=with_known_spans, api_key="s3cret")) as c:
        _is_error(c.post("/api/analyze", json={"text": ARTICLE}), 401, "unauthorized")
        _is_error(c.get("/api/techniques", headers={"X-API-Key": "wrong"}), 401, "unauthorized")
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


def test_refuses_to_bind_beyond_localhost_without_a_key() -> None:
    from unspin.errors import UnspinError

    check_bind("127.0.0.1", None)
    check_bind("localhost", None)
    check_bind("::1", None)
    check_bind("0.0.0.0", "key")
    for host in ("0.0.0.0", "192.168.1.5", "::"):
        with pytest.raises(UnspinError, match="API key"):
            check_bind(host, None)


def test_serve_command_refuses_open_bind_without_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UNSPIN_API_KEY", raising=False)
    result = CliRunner().invoke(cli_app, ["serve", "--host", "0.0.0.0", "--port", "9"])
    assert result.exit_code == 2
    assert "API key" in result.output


# --- pages -------------------------------------------------------------------------------------


def test_pages_send_a_strict_content_security_policy(client: TestClient) -> None:
    body = _analyze(client)
    for path in ("/", f"/a/{body['id']}", "/api/health"):
        csp = client.get(path).headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert "default-src 'none'" in csp


def test_article_page_loads_nothing_from_outside(client: TestClient) -> None:
    page = client.get(f"/a/{_analyze(client)['id']}").text
    for ref in re.findall(r'(?:src|href)="([^"]*)"', page):
        assert ref.startswith("/"), ref
    assert '<script src="/static/vendor/plotly.min.js">' in page
    assert client.get("/static/vendor/plotly.min.js").status_code == 200
    assert not re.search(r"<[^>]+\son[a-z]+=", page), "no inline event handlers"


def test_article_page_escapes_hostile_text(client: TestClient) -> None:
    page = client.get(f"/a/{_analyze(client, HOSTILE)['id']}").text
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


def test_form_post_redirects_to_the_article_page(client: TestClient) -> None:
    response = client.post("/analyze", data={"text": ARTICLE}, follow_redirects=False)
    assert response.status_code == 303
    target = response.headers["location"]
    page = client.get(target)
    assert page.status_code == 200 and "Traitors in the capital" in page.text
    assert 'class="piece"' in page.text
    assert "The ministry said the deal was signed on Tuesday." in page.text  # the claim
    assert client.get("/").text.count(target.rsplit("/", 1)[1]) >= 1  # listed under recent analyses


def test_json_export(client: TestClient) -> None:
    body = _analyze(client)
    export = client.get(f"/a/{body['id']}/export.json")
    assert export.headers["content-disposition"].startswith("attachment")
    assert export.json()["spans"] == body["spans"]


def test_html_report_is_self_contained_and_escaped(client: TestClient) -> None:
    body = _analyze(client, HOSTILE + "\n\n" + ARTICLE)
    report = client.get(f"/a/{body['id']}/report.html", params={"min_score": 0.6, "t": ["Loaded_Language", "Doubt"]})
    assert report.status_code == 200 and report.headers["content-disposition"].startswith("attachment")
    html = report.text
    assert "<script" not in html.replace("&lt;script", "")
    assert not re.search(r'(?:src|href)="', html)
    assert "<style>" in html and "&lt;script&gt;window.__pwned" in html
    assert "Loaded language" in html and "Doubt" in html
    assert "Flag-Waving" not in html  # filtered out
    assert f"inset 0 -3px 0 {taxonomy_module.describe('Loaded_Language')['colour']}" in html


# --- building blocks ---------------------------------------------------------------------------


def test_pieces_keep_overlapping_spans_visible() -> None:
    text = "abcdefghij"
    spans = [{"start": 1, "end": 6}, {"start": 3, "end": 8}, {"start": 3, "end": 4}]
    pieces = [(p.text, p.spans) for p in split_pieces(text, spans)]
    assert pieces == [("a", []), ("bc", [0]), ("d", [0, 1, 2]), ("ef", [0, 1]), ("gh", [1]), ("ij", [])]
    assert "".join(p for p, _ in pieces) == text


def test_taxonomy_falls_back_to_builtin_labels() -> None:
    taxonomy_module._cached.cache_clear()
    items = taxonomy_module.techniques()
    assert len(items) == 14 and len({t["colour"] for t in items}) == 14


def test_taxonomy_reads_the_technique_module_when_present(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType(taxonomy_module.TAXONOMY_MODULE)
    fake.TECHNIQUES = {  # type: ignore[attr-defined]
        "Loaded_Language": {"display_name": "Loaded language", "color": "#123456", "definition": "Words with heat."},
        "Doubt": {"definition": "Questioning credibility.", "why_it_persuades": "It erodes trust.", "examples": ["?"]},
    }
    monkeypatch.setitem(sys.modules, taxonomy_module.TAXONOMY_MODULE, fake)
    taxonomy_module._cached.cache_clear()
    try:
        items = {t["label"]: t for t in taxonomy_module.techniques()}
        assert items["Loaded_Language"]["name"] == "Loaded language"
        assert items["Loaded_Language"]["colour"] == "#123456"
        assert items["Doubt"]["why"] == "It erodes trust." and items["Doubt"]["example"] == "?"
        assert items["Doubt"]["colour"] == "#76b7b2"  # from the built-in palette
    finally:
        taxonomy_module._cached.cache_clear()


def test_store_keeps_span_rows_for_injected_spans() -> None:
    app = create_app("sqlite://", analyzer=lambda c, k, s: Document(text=c, spans=[Span(0, 2, "Slogans", 0.5)]))
    with TestClient(app) as c:
        body = c.post("/api/analyze", json={"text": "Hi there"}).json()
        assert body["spans"] == [{"technique": "Slogans", "start": 0, "end": 2, "score": 0.5}]


def test_entities_and_narratives_appear_when_present() -> None:
    def analyzer(content: str, kind: str, source: str) -> Document:
        return Document(
            text=content,
            title="Roles",
            entities=[{"text": "the <elites>", "role": "Antagonist", "start": 0, "end": 3, "score": 0.875}],
            narratives=[{"narrative": "Discrediting the government", "score": 0.5}],
        )

    with TestClient(create_app("sqlite://", analyzer=analyzer)) as c:
        body = c.post("/api/analyze", json={"text": "The elites lie."}).json()
        assert body["entities"][0]["role"] == "Antagonist"
        page = c.get(f"/a/{body['id']}").text
        assert "Entities and their roles" in page and "Antagonist" in page and "the &lt;elites&gt;" in page
        assert "0.88" in page  # floats are rounded for reading
        assert "Narratives" in page and "Discrediting the government" in page
        report = c.get(f"/a/{body['id']}/report.html").text
        assert "Antagonist" in report and "Discrediting the government" in report


def test_too_large_form_post_gets_a_page() -> None:
    with TestClient(create_app("sqlite://", analyzer=with_known_spans, max_body=1000)) as c:
        response = c.post("/analyze", data={"text": "x" * 5000}, headers={"Accept": "text/html"})
        assert response.status_code == 413
        assert response.headers["content-type"].startswith("text/html")
        assert "limit of" in response.text and "<script" not in response.text


def test_claims_without_scores_are_listed_last() -> None:
    def analyzer(content: str, kind: str, source: str) -> Document:
        return Document(
            text=content,
            claims=[{"start": 0, "end": 4, "score": None}, {"start": 5, "end": 9, "text": "was", "score": 0.9}],
        )

    with TestClient(create_app("sqlite://", analyzer=analyzer)) as c:
        page = c.get(f"/a/{c.post('/api/analyze', json={'text': 'This was it.'}).json()['id']}").text
        assert page.index("<q>was</q>") < page.index("<q>This</q>")


def test_serve_command_runs_the_app(tmp_path: Path) -> None:
    import socket
    import subprocess
    import time
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "UNSPIN_API_KEY"}
    cmd = [sys.executable, "-m", "unspin.cli.main", "serve", "--port", str(port)]
    server = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(base + "/api/health", timeout=2) as r:
                    assert json.load(r)["status"] == "ok"
                break
            except OSError:
                assert time.monotonic() < deadline, "unspin serve did not answer"
                time.sleep(0.2)
        payload = json.dumps({"text": ARTICLE}).encode()
        request = urllib.request.Request(
            base + "/api/analyze", data=payload, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as r:
            body = json.load(r)
        assert body["title"].startswith("Traitors") and body["url"] == f"{base}/a/{body['id']}"
        assert (tmp_path / "unspin.db").exists()  # the default database, in the current folder
    finally:
        server.terminate()
        server.wait(timeout=15)


def test_a_failing_analyser_gives_a_json_500() -> None:
    def broken(content: str, kind: str, source: str) -> Document:
        raise RuntimeError("model file missing")

    with TestClient(create_app("sqlite://", analyzer=broken), raise_server_exceptions=False) as c:
        body = _is_error(c.post("/api/analyze", json={"text": "x"}), 500, "internal_error")
        assert "model file missing" in body["reason"]


def test_unknown_page_is_an_html_404_for_browsers(client: TestClient) -> None:
    response = client.get("/a/nope", headers={"Accept": "text/html"})
    assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")
    assert "no analysis with id" in response.text and "unspin 0." in response.text
