"""Running analyses for the web: off the event loop, in lanes by size, each within a time limit that counts
from the moment it starts, and stopped when it runs past it.

Short articles and long ones go to different lanes, so a few very long texts cannot hold every worker
while short analyses wait. A request waits for a worker at most as long as the time limit (then 503); the
limit itself counts only time spent analysing. An analysis past its limit is answered with 504 and its
thread is stopped: an `AnalysisCancelled` is raised in it at the next Python instruction, so the worker is
free again (model loading, marked with `uninterruptible`, is allowed to finish first).
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

from unspin.document import Document
from unspin.errors import InputError
from unspin.web.analysis import Analyzer, WebError, input_error
from unspin.web.cancel import AnalysisCancelled, Job

# Texts longer than this (characters) go to the lane for long texts.
LARGE_CHARS = 100_000


class AnalysisTimeout(WebError):
    def __init__(self, seconds: float) -> None:
        super().__init__(504, "analysis_timeout", f"the analysis took longer than the limit of {seconds:g} s")


def busy(lane: str, retry: float) -> WebError:
    seconds = max(1, round(retry))
    return WebError(
        503,
        "busy",
        f"every worker for {lane} texts is busy; try again in {seconds} s",
        headers={"Retry-After": str(seconds)},
    )


def _retrieve(future: asyncio.Future) -> None:
    """Mark the outcome of a run nobody waits for any more as seen (it was answered 504 or 503)."""
    if not future.cancelled():
        future.exception()


class Lane:
    """A pool of worker threads for one size class, with a bound on how many requests may wait."""

    def __init__(self, name: str, workers: int, waiting: int) -> None:
        self.name = name
        self.workers = workers
        self.waiting = waiting
        self.pending = 0  # running or waiting; only touched from the event loop
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"unspin-{name}")

    def full(self) -> bool:
        return self.pending >= self.workers + self.waiting


class AnalysisRunner:
    """Runs the analyser off the event loop: texts up to `large_chars` characters on `parallel` workers, longer
    ones on their own worker, each analysis stopped after `time_limit` seconds of work."""

    def __init__(
        self, analyzer: Analyzer, time_limit: float, parallel: int = 2, large_chars: int = LARGE_CHARS
    ) -> None:
        self.analyzer = analyzer
        self.time_limit = time_limit
        self.large_chars = large_chars
        self.short = Lane("short", parallel, waiting=32 * parallel)
        self.long = Lane("long", 1, waiting=2)

    def lane_for(self, content: str) -> Lane:
        return self.long if len(content) > self.large_chars else self.short

    async def run(self, content: str, kind: str, source: str) -> Document:
        lane = self.lane_for(content)
        if lane.full():
            raise busy(lane.name, self.time_limit)
        loop = asyncio.get_running_loop()
        job = Job()
        started = asyncio.Event()
        lane.pending += 1
        try:
            future = loop.run_in_executor(lane.pool, self._call, job, started, loop, content, kind, source)
            future.add_done_callback(_retrieve)
            try:
                return await self._wait(job, started, future, lane)
            except asyncio.CancelledError:  # the request went away: so does its work
                job.cancel()
                future.cancel()
                raise
        finally:
            lane.pending -= 1

    async def _wait(self, job: Job, started: asyncio.Event, future: asyncio.Future, lane: Lane) -> Document:
        waiting = asyncio.ensure_future(started.wait())
        try:
            await asyncio.wait({future, waiting}, timeout=self.time_limit, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiting.cancel()
        if not started.is_set() and not future.done():
            job.cancel()  # it may start right now: then it stops at once
            future.cancel()
            raise busy(lane.name, self.time_limit)
        remaining = self.time_limit - (time.monotonic() - (job.started_at or time.monotonic()))
        try:
            return await asyncio.wait_for(asyncio.shield(future), max(remaining, 0.0))
        except asyncio.TimeoutError:
            job.cancel()
            raise AnalysisTimeout(self.time_limit) from None

    def _call(
        self, job: Job, started: asyncio.Event, loop: asyncio.AbstractEventLoop, content: str, kind: str, source: str
    ) -> Document:
        job.begin()
        try:
            loop.call_soon_threadsafe(started.set)
            if job.cancelled:
                raise AnalysisCancelled
            try:
                doc = self.analyzer(content, kind, source)
            except InputError as err:
                raise input_error(err) from None
        finally:
            job.end()
        if not isinstance(doc, Document):
            raise TypeError(f"the analyser returned {type(doc).__name__}, not a Document")
        return doc

    def close(self) -> None:
        for lane in (self.short, self.long):
            lane.pool.shutdown(wait=False, cancel_futures=True)
