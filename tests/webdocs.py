"""Documents and analysers for the web tests: known spans without any model."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient

from unspin.document import Document, Span
from unspin.pipeline import Pipeline

ARTICLE = (
    "Traitors in the capital sold out our glorious nation\n\n"
    "The corrupt elites in the capital have once again betrayed every hard-working family. "
    "Everyone knows the truth: they are puppets of foreign masters. "
    "Can we really trust a government that lies every single day? "
    "Our glorious nation will never bow to these traitors.\n\n"
    "If this deal goes through, our children will grow up in a country they no longer recognise. "
    "Prices rose the very week the agreement was announced, so the agreement is to blame for every empty shelf. "
    "Either you stand with the people or you stand with the elites; there is no third way. "
    "A retired general told our reporters that the deal is the greatest betrayal in our history.\n\n"
    "And what about their own record? They never apologised for the scandals of the last decade. "
    "Enough is enough. Take back our country!\n\n"
    "The ministry said the deal was signed on Tuesday."
)

HOSTILE = (
    "A hostile headline\n\n"
    "Before <script>window.__pwned = 1;</script> the tag. "
    'An image <img src=x onerror="window.__pwned = 2"> here. '
    'A link <a href="javascript:window.__pwned=3">click me</a> and </textarea><b>bold?</b> end. '
    'Also "quotes" & ampersands.'
)

_pipeline: Pipeline | None = None


def pipeline() -> Pipeline:
    global _pipeline
    if _pipeline is None:
        _pipeline = Pipeline(stages=["language", "segment"])  # spans come from KNOWN, not from a model
    return _pipeline


def _find(text: str, phrase: str) -> tuple[int, int]:
    start = text.index(phrase)
    return start, start + len(phrase)


# (phrase, technique, score): overlapping on purpose ("corrupt elites" inside a longer span).
KNOWN = [
    ("corrupt elites", "Name_Calling,Labeling", 0.92),
    ("The corrupt elites in the capital have once again betrayed", "Loaded_Language", 0.35),
    ("Everyone knows the truth", "Bandwagon,Reductio_ad_hitlerum", 0.71),
    ("puppets of foreign masters", "Name_Calling,Labeling", 0.66),
    ("Can we really trust a government that lies every single day?", "Doubt", 0.58),
    ("Our glorious nation will never bow", "Flag-Waving", 0.83),
    ("glorious", "Loaded_Language", 0.77),
    ("our children will grow up in a country they no longer recognise", "Appeal_to_fear-prejudice", 0.74),
    ("so the agreement is to blame for every empty shelf", "Causal_Oversimplification", 0.62),
    (
        "Either you stand with the people or you stand with the elites; there is no third way",
        "Black-and-White_Fallacy",
        0.81,
    ),
    ("A retired general told our reporters", "Appeal_to_Authority", 0.55),
    ("the greatest betrayal in our history", "Exaggeration,Minimisation", 0.88),
    ("And what about their own record?", "Whataboutism,Straw_Men,Red_Herring", 0.69),
    ("Enough is enough.", "Thought-terminating_Cliches", 0.64),
    ("Take back our country!", "Slogans", 0.93),
    ("Before <script>window.__pwned = 1;</script> the tag", "Loaded_Language", 0.9),
    ('<img src=x onerror="window.__pwned = 2">', "Doubt", 0.8),
    ("</textarea><b>bold?</b>", "Slogans", 0.7),
]


def with_known_spans(content: str, kind: str, source: str) -> Document:
    """The real pipeline, then the KNOWN phrases marked wherever they occur in the analysed text."""
    if kind == "html":
        doc = pipeline().analyze_html(content, source=source)
    else:
        doc = pipeline().analyze_text(content, source=source)
    for phrase, technique, score in KNOWN:
        start = doc.text.find(phrase)
        while start >= 0:
            doc.spans.append(Span(start, start + len(phrase), technique, score))
            start = doc.text.find(phrase, start + 1)
    doc.claims = [
        {"start": s, "end": e, "text": doc.text[s:e], "score": 0.81}
        for s, e in [_find(doc.text, p) for p in ["The ministry said the deal was signed on Tuesday."] if p in doc.text]
    ]
    doc.stages += ["techniques", "claims"]  # filled here in their place
    return doc


def slow(content: str, kind: str, source: str) -> Document:
    time.sleep(3)
    return Document(text=content)


def analyze(client: TestClient, text: str = ARTICLE) -> dict:
    """POST the text to /api/analyze and return the reply, which must be a 200."""
    response = client.post("/api/analyze", json={"text": text})
    assert response.status_code == 200, response.text
    return response.json()


def is_error(response: Any, status: int, code: str) -> dict:
    """Assert a JSON error reply `{"error": code, "reason": ...}` with this status; return it."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["error"] == code and body["reason"]
    return body


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve `app` with uvicorn on a free loopback port in a thread; yields the base URL."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def with_marked_spans(content: str, kind: str, source: str) -> Document:
    """As `with_known_spans`, each span marked as a technique model with a precise operating point marks
    them: `precise` when its confidence reaches 0.6 (the default view), not otherwise."""
    doc = with_known_spans(content, kind, source)
    for sp in doc.spans:
        sp.precise = sp.score >= 0.6
    return doc
