"""Odd input to the web app gets a 4xx with a reason, never a 500 or a dropped connection."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from webdocs import ARTICLE, is_error

from unspin.document import Document
from unspin.web import create_app


def _echo(content: str, kind: str, source: str) -> Document:
    return Document(text=content, source=source)


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app("sqlite://", analyzer=_echo), raise_server_exceptions=False) as c:
        yield c


def _json(client: TestClient, raw: str) -> object:
    return client.post("/api/analyze", content=raw.encode("utf-8"), headers={"Content-Type": "application/json"})


@pytest.mark.parametrize(
    "path",
    [
        "/a/corpus-99999999999999999999999",
        "/a/corpus-99999999999999999999999/export.json",
        "/a/corpus-%D9%A1/export.json",  # an Arabic-Indic digit one
        "/a/corpus-%D9%A1/report.html",
        "/api/analyses/corpus-%D9%A1",
        "/api/analyses/" + "x" * 5000,
        "/a/%E2%80%AE%22%3B",
    ],
)
def test_odd_ids_are_not_found(client: TestClient, path: str) -> None:
    is_error(client.get(path), 404, "not_found")


def test_corpus_ids_are_read_strictly(tmp_path: Path) -> None:
    from unspin.pipeline import Pipeline
    from unspin.store import Store

    db = f"sqlite:///{tmp_path / 'unspin.db'}"
    Store(db).add_documents([Pipeline(stages=["segment"]).analyze_text(ARTICLE, outlet="a.example")])
    with TestClient(create_app(db, analyzer=_echo), raise_server_exceptions=False) as c:
        assert c.get("/a/corpus-1/export.json").status_code == 200
        is_error(c.get("/a/corpus-%D9%A1/export.json"), 404, "not_found")  # int() reads U+0661 as 1
        is_error(c.get("/a/corpus-1%0A/export.json"), 400, "invalid_path")  # `$` matches before a newline
        is_error(c.get("/a/corpus-01x/export.json"), 404, "not_found")


@pytest.mark.parametrize(
    "path", ["/a/corpus-1%0A/export.json", "/api/analyses/ab%00cd", "/corpus/outlet/a%0d%0aSet-Cookie:x", "/a/%7F"]
)
def test_control_characters_in_the_path_are_refused(client: TestClient, path: str) -> None:
    is_error(client.get(path), 400, "invalid_path")


def test_json_that_cannot_be_read_is_a_400(client: TestClient) -> None:
    deep = is_error(_json(client, "[" * 10000 + "]" * 10000), 400, "invalid_json")
    assert "nested too deeply" in deep["reason"]
    deep_object = '{"text": ' + '{"a": ' * 5000 + "1" + "}" * 5000 + "}"
    is_error(_json(client, deep_object), 400, "invalid_json")
    long_number = is_error(_json(client, '{"text": "fine", "n": ' + "9" * 5000 + "}"), 400, "invalid_json")
    assert "number is too long" in long_number["reason"]
    is_error(
        client.post("/api/analyze", content=b'{"text": "\xff\xfe"}', headers={"Content-Type": "application/json"}),
        400,
        "invalid_json",
    )


def test_text_that_no_file_could_hold_is_a_400(client: TestClient) -> None:
    surrogate = is_error(_json(client, '{"text": "before \\ud800 after"}'), 400, "bad_input")
    assert "surrogate" in surrogate["reason"] and "U+D800" in surrogate["reason"]
    is_error(_json(client, '{"html": "<p>\\udfff</p>"}'), 400, "bad_input")
    is_error(_json(client, '{"text": "fine", "source": "\\ud800"}'), 400, "bad_input")
    nul = is_error(client.post("/api/analyze", json={"text": "a\x00b"}), 400, "bad_input")
    assert "NUL" in nul["reason"]
    form = client.post("/analyze", data={"text": "a\x00b"}, headers={"Accept": "text/html"})
    assert form.status_code == 400 and "NUL" in form.text


def test_nul_anywhere_in_an_upload_is_refused_as_binary(client: TestClient) -> None:
    late = ARTICLE.encode() * 10 + b"\x00" + ARTICLE.encode()  # past the first 8 KB
    body = is_error(client.post("/api/analyze", files={"file": ("late.txt", late)}), 415, "unsupported_media_type")
    assert "NUL" in body["reason"]


def test_odd_numbers_and_headers(client: TestClient) -> None:
    for value in ("nan", "inf", "-1", "1e999", "9" * 5000):
        is_error(client.post(f"/api/analyze?min_score={value}", json={"text": "x"}), 422, "invalid_request")
    bad_length = client.post(
        "/api/analyze", content=b"{}", headers={"Content-Type": "application/json", "Content-Length": "1" * 30}
    )
    assert bad_length.status_code == 400


def test_login_never_redirects_off_site_or_with_control_characters(client: TestClient) -> None:
    for target in ("/%0aSet-Cookie:%20x=1", "//evil.example/", "/\\evil"):
        page = client.get(f"/login?next={target}")
        assert page.status_code == 200 and 'value="/"' in page.text, target


# A small JSON grammar with the values that have broken parsers and handlers before.
_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
    st.just("\ud800"),
    st.just("\x00"),
)
_values = st.recursive(
    _leaves, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3)
)
_bodies = st.dictionaries(st.sampled_from(["text", "html", "source", "other"]), _values, max_size=4)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_bodies)
def test_any_json_object_gets_an_answer_not_a_crash(client: TestClient, body: dict) -> None:
    raw = json.dumps(body, allow_nan=True)
    response = _json(client, raw)
    assert response.status_code < 500, (raw, response.text)
    if response.status_code != 200:
        assert set(response.json()) == {"error", "reason"}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(segment=st.text(min_size=1, max_size=40))
def test_any_path_segment_gets_an_answer_not_a_crash(client: TestClient, segment: str) -> None:
    from urllib.parse import quote

    quoted = quote(segment.encode("utf-8", "surrogatepass"), safe="")
    for path in (f"/a/{quoted}", f"/a/{quoted}/export.json", f"/api/analyses/{quoted}", f"/corpus/outlet/{quoted}"):
        response = client.get(path)
        assert response.status_code < 500, (path, response.text)
