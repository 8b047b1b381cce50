"""Abuse of the web app: cross-site posts, DNS-rebinding Host names, guessing the API key."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from webdocs import ARTICLE, is_error, with_known_spans

from unspin.web import allowed_hosts, create_app

EVIL = "http://evil.example"


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app("sqlite://", analyzer=with_known_spans)) as c:
        yield c


# --- cross-site requests -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": EVIL},
        {"Origin": "null"},  # a sandboxed frame or a page with no-referrer policy
        {"Origin": "http://testserver:8080"},  # another port is another origin
        {"Origin": "https://testserver.evil.example"},
        {"Referer": EVIL + "/page.html"},
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
def test_cross_site_form_post_creates_nothing(client: TestClient, headers: dict[str, str]) -> None:
    response = client.post(
        "/analyze", data={"text": "planted by another site"}, headers={"Accept": "text/html", **headers}
    )
    assert response.status_code == 403 and response.headers["content-type"].startswith("text/html")
    assert "another site" in response.text or "no origin" in response.text
    api = client.post("/api/analyze", files={"file": ("a.txt", b"planted by another site")}, headers=headers)
    is_error(api, 403, "cross_origin")
    assert client.app.state.web.store.recent(50) == []


def test_cross_site_login_post_is_refused() -> None:
    with TestClient(create_app("sqlite://", analyzer=with_known_spans, api_key="s3cret")) as c:
        response = c.post("/login", data={"key": "s3cret", "next": "/"}, headers={"Origin": EVIL})
        is_error(response, 403, "cross_origin")
        assert "unspin_key" not in response.cookies


def test_same_site_and_scripted_posts_still_work(client: TestClient) -> None:
    own = client.post(
        "/analyze", data={"text": ARTICLE}, headers={"Origin": "http://testserver"}, follow_redirects=False
    )
    assert own.status_code == 303
    referred = client.post(
        "/analyze", data={"text": ARTICLE}, headers={"Referer": "http://testserver/"}, follow_redirects=False
    )
    assert referred.status_code == 303
    same = client.post("/api/analyze", json={"text": ARTICLE}, headers={"Sec-Fetch-Site": "same-origin"})
    assert same.status_code == 200
    assert client.post("/api/analyze", json={"text": ARTICLE}).status_code == 200  # curl, scripts: no Origin
    assert client.get("/", headers={"Origin": EVIL}).status_code == 200  # reading is not changing


def test_pages_do_not_make_browsers_send_a_null_origin(client: TestClient) -> None:
    # Under "no-referrer", browsers send `Origin: null` with the page's own form posts.
    assert client.get("/").headers["referrer-policy"] == "same-origin"


# --- Host names (DNS rebinding) ----------------------------------------------------------------------


def test_unknown_host_names_are_refused_when_the_server_knows_its_names() -> None:
    app = create_app("sqlite://", analyzer=with_known_spans, allowed_hosts={"news.example"})
    with TestClient(app, base_url="http://rebound.evil.example") as c:
        body = is_error(c.get("/api/health"), 400, "invalid_host")
        assert "rebound.evil.example" in body["reason"]
        is_error(c.post("/api/analyze", json={"text": ARTICLE}), 400, "invalid_host")
    for base in ("http://news.example", "http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000"):
        with TestClient(app, base_url=base) as c:
            assert c.get("/api/health").status_code == 200, base


def test_served_names_depend_on_where_the_server_listens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UNSPIN_ALLOWED_HOSTS", raising=False)
    assert allowed_hosts("127.0.0.1") == set()  # loopback: IP addresses and localhost only
    assert socket.gethostname().lower() in allowed_hosts("0.0.0.0")
    assert "unspin.example" in allowed_hosts("unspin.example")
    monkeypatch.setenv("UNSPIN_ALLOWED_HOSTS", "News.Example, other.example")
    assert allowed_hosts("127.0.0.1") == {"news.example", "other.example"}


# --- guessing the API key ----------------------------------------------------------------------------


def test_wrong_api_keys_are_throttled_per_client() -> None:
    app = create_app("sqlite://", analyzer=with_known_spans, api_key="s3cret")
    with TestClient(app, client=("203.0.113.7", 50000)) as guesser:
        statuses = [guesser.get("/api/techniques", headers={"X-API-Key": f"guess{i}"}).status_code for i in range(30)]
        assert statuses[:10] == [401] * 10
        assert set(statuses[10:]) == {429}
        refused = guesser.get("/api/techniques", headers={"X-API-Key": "s3cret"})  # even the right key, for now
        body = is_error(refused, 429, "too_many_attempts")
        assert int(refused.headers["retry-after"]) >= 1 and "try again" in body["reason"]
        login = guesser.post("/login", data={"key": "another guess", "next": "/"})
        assert login.status_code == 429
    with TestClient(app, client=("198.51.100.2", 50000)) as other:
        assert other.get("/api/techniques", headers={"X-API-Key": "s3cret"}).status_code == 200
        assert other.get("/api/techniques").status_code == 401  # no key at all is not a guess
