"""The app behind a real uvicorn server: refusals that reach the client, and analyses that cannot starve it."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from webdocs import serving

from unspin.document import Document
from unspin.web import create_app


def _post(url: str, data: bytes | Iterator[bytes], timeout: float = 30) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def _echo(content: str, kind: str, source: str) -> Document:
    return Document(text=content)


# --- the 413 reaches the client --------------------------------------------------------------------


def test_a_python_client_gets_the_413_for_a_large_body() -> None:
    with serving(create_app("sqlite://", analyzer=_echo)) as base:
        body = json.dumps({"text": "x" * (6 * 1024 * 1024)}).encode()
        for _ in range(3):
            status, reply = _post(base + "/api/analyze", body)
            assert status == 413 and reply["error"] == "payload_too_large"

        def chunks() -> Iterator[bytes]:  # no Content-Length: urllib sends it chunked
            yield b'{"text": "'
            for _ in range(6 * 16):
                yield b"y" * 65536
            yield b'"}'

        status, reply = _post(base + "/api/analyze", chunks())
        assert status == 413 and reply["error"] == "payload_too_large"
        assert _post(base + "/api/analyze", json.dumps({"text": "short"}).encode())[0] == 200


# --- work bounded in time, short requests kept moving -------------------------------------------------


class Spinner:
    """An analyser whose work takes `seconds_per_char` per character, in small steps (as real analysis
    runs Python between model calls); it records the runs that were stopped."""

    def __init__(self, seconds_per_char: float) -> None:
        self.seconds_per_char = seconds_per_char
        self.stopped = 0
        self.lock = threading.Lock()

    def __call__(self, content: str, kind: str, source: str) -> Document:
        end = time.monotonic() + len(content) * self.seconds_per_char
        try:
            while time.monotonic() < end:
                time.sleep(0.005)
        except BaseException:
            with self.lock:
                self.stopped += 1
            raise
        return Document(text=content)


def test_short_analyses_answer_while_two_large_ones_run() -> None:
    spinner = Spinner(seconds_per_char=1e-4)  # 200,000 characters: 20 s of work
    app = create_app("sqlite://", analyzer=spinner, time_limit=3.0)
    with serving(app) as base:
        large = json.dumps({"text": "x" * 200_000}).encode()
        results: list[int] = []
        posts = [threading.Thread(target=lambda: results.append(_post(base + "/api/analyze", large)[0])) for _ in "ab"]
        for post in posts:
            post.start()
        time.sleep(0.5)
        for _ in range(3):
            started = time.monotonic()
            status, _reply = _post(base + "/api/analyze", json.dumps({"text": "x" * 500}).encode())
            assert status == 200 and time.monotonic() - started < 2.0  # not behind the 20 s ones
        for post in posts:
            post.join(timeout=30)
        assert sorted(results) in ([503, 504], [504, 504])  # over the limit, or never got a worker in time
        deadline = time.monotonic() + 5
        while spinner.stopped < results.count(504) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert spinner.stopped == results.count(504)  # the work past the limit was stopped, not left running
        status, _reply = _post(base + "/api/analyze", json.dumps({"text": "x" * 150_000}).encode())
        assert status == 504  # the long lane is free again: this one ran, for the whole limit


def test_the_time_limit_counts_work_not_waiting() -> None:
    spinner = Spinner(seconds_per_char=1e-3)  # 1,500 characters: 1.5 s of work
    app = create_app("sqlite://", analyzer=spinner, time_limit=2.5, parallel=1)
    with serving(app) as base:
        body = json.dumps({"text": "x" * 1500}).encode()
        results: list[int] = []
        posts = [threading.Thread(target=lambda: results.append(_post(base + "/api/analyze", body)[0])) for _ in "ab"]
        for post in posts:
            post.start()
            time.sleep(0.1)
        for post in posts:
            post.join(timeout=30)
        assert results == [200, 200]  # the second waited 1.5 s, then worked 1.5 s: within its limit


def test_a_full_queue_is_answered_503_with_retry_after() -> None:
    spinner = Spinner(seconds_per_char=1e-3)
    app = create_app("sqlite://", analyzer=spinner, time_limit=10.0, parallel=1)
    runner = app.state.web.runner
    runner.short.waiting = 1
    with serving(app) as base:
        body = json.dumps({"text": "x" * 1000}).encode()
        results: list[int] = []
        posts = [threading.Thread(target=lambda: results.append(_post(base + "/api/analyze", body)[0])) for _ in "ab"]
        for post in posts:
            post.start()
        time.sleep(0.3)
        request = urllib.request.Request(base + "/api/analyze", data=body, headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 503 and int(refused.value.headers["Retry-After"]) >= 1
        assert json.load(refused.value)["error"] == "busy"
        for post in posts:
            post.join(timeout=30)
        assert results == [200, 200]
