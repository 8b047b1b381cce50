"""Running the analyser for the web: any callable, a time limit, a bound on parallel work."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import PurePath
from typing import Any

from unspin.document import Document
from unspin.errors import InputError
from unspin.ingest.sources import HTML_SUFFIXES, decode_bytes, looks_like_html

# (content, kind "text" | "html", source name) -> analysed Document
Analyzer = Callable[[str, str, str], Document]


class WebError(Exception):
    """An error the web layer reports as JSON: HTTP status, short code, a reason in words."""

    def __init__(self, status: int, code: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.code = code
        self.reason = reason


class AnalysisTimeout(WebError):
    def __init__(self, seconds: float) -> None:
        super().__init__(504, "analysis_timeout", f"the analysis took longer than the limit of {seconds:g} s")


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

                self._pipeline = Pipeline(settings=Settings(model=self.model))
            return self._pipeline

    def __call__(self, content: str, kind: str, source: str) -> Document:
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
    text, _warnings = decode_bytes(data, source)
    suffix = PurePath(source).suffix.lower()
    kind = "html" if suffix in HTML_SUFFIXES or looks_like_html(text) else "text"
    return text, kind, source


class AnalysisRunner:
    """Runs the analyser off the event loop, at most `parallel` at a time, each within `time_limit` seconds.

    A run past the limit is answered with 504 at once; its thread finishes in the background (Python
    cannot stop a thread), and the bounded pool keeps such runs from piling up.
    """

    def __init__(self, analyzer: Analyzer, time_limit: float, parallel: int = 2) -> None:
        self.analyzer = analyzer
        self.time_limit = time_limit
        self._pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="unspin-analysis")

    async def run(self, content: str, kind: str, source: str) -> Document:
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._pool, self._call, content, kind, source)
        try:
            return await asyncio.wait_for(future, self.time_limit)
        except asyncio.TimeoutError:
            raise AnalysisTimeout(self.time_limit) from None

    def _call(self, content: str, kind: str, source: str) -> Document:
        try:
            doc = self.analyzer(content, kind, source)
        except InputError as err:
            raise input_error(err) from None
        if not isinstance(doc, Document):
            raise TypeError(f"the analyser returned {type(doc).__name__}, not a Document")
        return doc

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
