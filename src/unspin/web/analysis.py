"""The analyser as the web sees it: any callable or Pipeline, the web's errors, and checks on the input."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import PurePath
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from unspin.document import Document
from unspin.errors import InputError
from unspin.ingest.sources import HTML_SUFFIXES, decode_bytes, looks_like_html
from unspin.web.cancel import uninterruptible

# (content, kind "text" | "html", source name) -> analysed Document
Analyzer = Callable[[str, str, str], Document]


class WebError(Exception):
    """An error the web layer reports as JSON: HTTP status, short code, a reason in words."""

    def __init__(self, status: int, code: str, reason: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.code = code
        self.reason = reason
        self.headers = headers


def input_error(err: InputError) -> WebError:
    if err.reason.startswith("binary file"):
        return WebError(415, "unsupported_media_type", f"{err.source}: {err.reason}")
    return WebError(400, "bad_input", f"{err.source}: {err.reason}")


class PipelineAnalyzer:
    """The default analyser: one `Pipeline` for the process, built on first use."""

    def __init__(self, model: str = "fast") -> None:
        self.model = model
        self._pipeline: Any = None
        self._lock = threading.Lock()

    def _get(self) -> Any:
        with self._lock:
            if self._pipeline is None:
                from unspin.pipeline import Pipeline
                from unspin.settings import Settings

                # every span is stored; the page and the API show the precise ones unless asked
                self._pipeline = Pipeline(settings=Settings(model=self.model, all_spans=True))
            return self._pipeline

    def __call__(self, content: str, kind: str, source: str) -> Document:
        with uninterruptible():  # a model half loaded would stay broken for every later request
            pipeline = self._get()
        if kind == "html":
            return pipeline.analyze_html(content, source=source)
        return pipeline.analyze_text(content, source=source)


def as_analyzer(analyzer: Any, model: str = "fast") -> Analyzer:
    """Accept an Analyzer, a `Pipeline`-like object (with analyze_text/analyze_html), or None for the
    default pipeline with technique model `model`."""
    if analyzer is None:
        return PipelineAnalyzer(model)
    if hasattr(analyzer, "analyze_text") and hasattr(analyzer, "analyze_html"):

        def run(content: str, kind: str, source: str) -> Document:
            if kind == "html":
                return analyzer.analyze_html(content, source=source)
            return analyzer.analyze_text(content, source=source)

        return run
    if callable(analyzer):
        return analyzer
    raise TypeError(f"analyzer must be callable, got {type(analyzer).__name__}")


def upload_content(filename: str | None, data: bytes) -> tuple[str, str, str]:
    """Decode an uploaded file: (content, kind, source); binary files raise InputError."""
    source = PurePath(filename).name if filename else "<upload>"
    check_text("filename", source)
    text, _warnings = decode_bytes(data, source)
    if "\x00" in text:  # anywhere, not only where decode_bytes looks for binary content
        raise InputError(source, "binary file: contains NUL bytes, not text or HTML")
    suffix = PurePath(source).suffix.lower()
    kind = "html" if suffix in HTML_SUFFIXES or looks_like_html(text) else "text"
    return text, kind, source


def check_text(name: str, value: str) -> str:
    """Refuse a text field that holds what no text file can (as reading a file does): NUL characters,
    and lone surrogates, which are not Unicode characters at all."""
    if "\x00" in value:
        raise WebError(400, "bad_input", f"'{name}' holds NUL characters (U+0000): binary data, not text or HTML")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as err:
        code = ord(value[err.start])
        reason = f"'{name}' holds a lone surrogate (U+{code:04X}) at {err.start}, which is not valid Unicode"
        raise WebError(400, "bad_input", reason) from None
    return value


async def read_upload(upload: UploadFile) -> tuple[str, str, str]:
    """An uploaded file as (content, kind, source), decoded off the event loop (guessing the encoding of a
    large file takes long enough to hold up every other request)."""
    data = await upload.read()
    try:
        return await run_in_threadpool(upload_content, upload.filename, data)
    except InputError as err:
        raise input_error(err) from None
