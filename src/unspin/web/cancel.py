"""Stopping an analysis thread from outside: a `Job` records the thread running it; `cancel` raises
`AnalysisCancelled` in that thread at its next Python instruction; `uninterruptible` marks a block (such as
loading a model) that must run to its end first."""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


class AnalysisCancelled(BaseException):
    """Raised inside an analysis thread that ran past its limit. A BaseException, so that code catching
    `Exception` to carry on with the next stage does not swallow it."""


_local = threading.local()


@dataclass
class Job:
    """One analysis in a worker thread, which the waiting request can stop."""

    thread_id: int | None = None
    started_at: float | None = None
    done: bool = False
    cancelled: bool = False
    fired: bool = False
    shielded: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def begin(self) -> None:
        with self.lock:
            self.thread_id = threading.get_ident()
            self.started_at = time.monotonic()
        _local.job = self

    def end(self) -> None:
        _local.job = None
        with self.lock:
            self.done = True
            if self.fired:  # delivered already, or still pending: never let it reach the next job
                _set_async_exc(threading.get_ident(), None)

    def cancel(self) -> None:
        with self.lock:
            self.cancelled = True
            if self.thread_id is not None and not self.done and not self.shielded and not self.fired:
                self.fired = True
                _set_async_exc(self.thread_id, AnalysisCancelled)


def _set_async_exc(thread_id: int, exc: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc else None)


@contextmanager
def uninterruptible() -> Iterator[None]:
    """Run the block to its end even if the analysis is stopped meanwhile (say, while a model loads);
    the stop takes effect right after it."""
    job: Job | None = getattr(_local, "job", None)
    if job is None:
        yield
        return
    with job.lock:
        job.shielded += 1
    try:
        yield
    finally:
        with job.lock:
            job.shielded -= 1
            stop = job.cancelled and not job.shielded and not job.fired
            if stop:
                job.fired = True
        if stop:
            raise AnalysisCancelled
