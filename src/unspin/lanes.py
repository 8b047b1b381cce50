"""Lanes: many inputs through the models, in this process or spread over Dask workers.

`run_in_lanes` is the one lane runner: a function over a stream of items on N threads, results in
input order. `analyze`, `corpus add` and the SemEval writers all run their documents through it.

A job is one input and the metadata its document should carry (`doc.meta`). In this process, two or
more inputs run in lanes: one document per core at a time, on threads that share one copy of the
models, each model on one thread (the models release the GIL while they compute, so one lane's
model runs while another lane cleans and segments its next text); a single input gets one lane and
all the cores, for the shortest wait. Dask workers get small batches of jobs; each worker process
builds its pipeline once and keeps it, and runs its models on one thread, so that N workers on N
cores do not fight over them. A bad input becomes its `InputError`; so does an unexpected failure on
one input, and the run goes on.

    for item in analyse_many(jobs, settings, workers=2):          # Documents / InputErrors
        ...
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import astuple, replace
from itertools import chain
from typing import Any, TypeVar

from unspin.document import Document
from unspin.errors import InputError
from unspin.ingest.build import build_document
from unspin.ingest.sources import RawInput
from unspin.settings import Settings

Job = tuple[RawInput, dict[str, Any]]
Result = Document | InputError
T = TypeVar("T")
R = TypeVar("R")
_END = object()

_PIPELINES: dict[tuple, Any] = {}
_PIPELINES_LOCK = threading.Lock()


class PipelineLoadError(RuntimeError):
    """A worker could not build the pipeline (a model missing or not installed)."""


def process_pipeline(settings: Settings, stages: Sequence[str] | None = None) -> Any:
    """This process's pipeline for these settings and stages, built on first use (models load once)."""
    from unspin.pipeline import DEFAULT_STAGES, Pipeline

    stages = tuple(stages if stages is not None else DEFAULT_STAGES)
    key = (stages, astuple(settings))
    with _PIPELINES_LOCK:
        if key not in _PIPELINES:
            try:
                _PIPELINES[key] = Pipeline(stages=list(stages), settings=settings)
            except Exception as err:
                raise PipelineLoadError(f"cannot load the analysis models: {err}") from err
        return _PIPELINES[key]


def analyse_jobs(jobs: Sequence[Job], settings: Settings, stages: Sequence[str] | None = None) -> list[Result]:
    """Build and analyse a batch of inputs, in order; a bad input becomes its InputError."""
    pipeline = process_pipeline(settings, stages)
    out: list[Result] = []
    for raw, meta in jobs:
        try:
            doc = build_document(raw, settings)
            doc.meta.update(meta)
            out.append(pipeline(doc))
        except InputError as err:
            out.append(err)
        except Exception as err:  # a bug on one input must not stop the batch
            out.append(InputError(raw.source, f"analysis failed: {type(err).__name__}: {err}"))
    return out


def run_in_lanes(fn: Callable[[T], R], items: Iterable[T], lanes: int) -> Iterator[R]:
    """`fn` over every item on `lanes` threads, results in input order (one lane: on this thread).

    Items are read on this thread as results are taken, at most two per lane ahead of the one being
    returned. Models loaded with one thread each compute outside the GIL, so lanes use the cores.
    An exception raised by `fn` comes out where its item's result would have.
    """
    if lanes <= 1:
        for item in items:
            yield fn(item)
        return
    it = iter(items)
    pool = ThreadPoolExecutor(lanes, thread_name_prefix="unspin-lane")
    pending: deque[Any] = deque()

    def fill() -> None:
        while len(pending) < 2 * lanes:
            item = next(it, _END)
            if item is _END:
                return
            pending.append(pool.submit(fn, item))

    try:
        fill()
        while pending:
            head = pending.popleft()
            fill()
            yield head.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def cores_for(settings: Settings) -> int:
    """How many cores this process's models may use: `settings.threads`, else every core."""
    return settings.threads or os.cpu_count() or 1


def lane_plan(
    jobs: Iterable[Job | InputError], settings: Settings, lanes: int | None = None
) -> tuple[Iterator[Job | InputError], Settings, int]:
    """How a stream runs in this process: `(stream, settings, lanes)`. The stream is `jobs` with the
    items looked at put back. With two or more inputs, `lanes` documents at a time (default: one per
    core, or per `settings.threads`), and settings whose models use one thread each; with one input,
    one lane and the settings as they are."""
    lanes = cores_for(settings) if lanes is None else max(1, int(lanes))
    it = iter(jobs)
    head: list[Job | InputError] = []
    n_jobs = 0
    if lanes > 1:
        for item in it:
            head.append(item)
            if not isinstance(item, InputError):
                n_jobs += 1
                if n_jobs == 2:
                    break
    stream = chain(head, it)
    if lanes < 2 or n_jobs < 2:
        return stream, settings, 1
    return stream, replace(settings, threads=1), lanes


def analyse_many(
    jobs: Iterable[Job | InputError],
    settings: Settings | None = None,
    stages: Sequence[str] | None = None,
    *,
    workers: int = 0,
    scheduler: str | None = None,
    batch_size: int = 4,
    ordered: bool = True,
    lanes: int | None = None,
) -> Iterator[Result]:
    """Analyse a stream of jobs; InputErrors in the stream are passed on as they come.

    `workers=0` and no `scheduler`: in this process, in `lanes` (see `lane_plan`; 1: one document
    at a time). Else on a local Dask cluster of `workers` processes, or on the cluster at
    `scheduler`. `ordered`: documents come back in input order (else as they finish; in this process
    they always keep input order). Inputs are read lazily; a few per lane or batches per worker are in
    flight at a time.
    """
    settings = settings or Settings()
    if not workers and not scheduler:
        stream, lane_settings, n_lanes = lane_plan(jobs, settings, lanes)
        if n_lanes == 1:
            for item in stream:
                yield item if isinstance(item, InputError) else analyse_jobs([item], lane_settings, stages)[0]
        else:
            yield from _in_lanes(stream, lane_settings, stages, n_lanes)
        return
    yield from _on_dask(jobs, settings, stages, workers, scheduler, batch_size, ordered)


def _in_lanes(
    stream: Iterator[Job | InputError], settings: Settings, stages: Sequence[str] | None, lanes: int
) -> Iterator[Result]:
    """The jobs on `lanes` threads sharing one pipeline, results in input order."""
    process_pipeline(settings, stages)  # load the models once, before any lane starts

    def analyse(item: Job | InputError) -> Result:
        return item if isinstance(item, InputError) else analyse_jobs([item], settings, stages)[0]

    return run_in_lanes(analyse, stream, lanes)


def _pass_errors(jobs: Iterable[Job | InputError], errors: deque) -> Iterator[Job]:
    """The jobs of a stream; its InputErrors are set aside in `errors`."""
    for item in jobs:
        if isinstance(item, InputError):
            errors.append(item)
        else:
            yield item


def _on_dask(
    jobs: Iterable[Job | InputError],
    settings: Settings,
    stages: Sequence[str] | None,
    workers: int,
    scheduler: str | None,
    batch_size: int,
    ordered: bool,
) -> Iterator[Result]:
    from dask.distributed import Client, LocalCluster, as_completed

    settings = replace(settings, threads=1)  # one core per worker process
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
        )
        client = Client(cluster)
    try:
        n_workers = max(1, len(client.scheduler_info().get("workers", {})) or workers or 1)
        errors: deque[InputError] = deque()
        batches = chunks(_pass_errors(jobs, errors), batch_size)

        def submit() -> Any | None:
            batch = next(batches, None)
            if batch is None:
                return None
            return client.submit(analyse_jobs, batch, settings, stages, pure=False)

        def drain_errors() -> Iterator[Result]:
            while errors:
                yield errors.popleft()

        # in input order: a queue of futures; else as they finish (Dask's as_completed takes additions)
        pending: Any = deque() if ordered else as_completed()
        add = pending.append if ordered else pending.add
        finished = None if ordered else iter(pending)
        for _ in range(3 * n_workers):
            fut = submit()
            if fut is None:
                break
            add(fut)
        yield from drain_errors()
        while True:
            fut = (pending.popleft() if pending else None) if ordered else next(finished, None)
            if fut is None:
                break
            results = fut.result()
            fut.release()
            nxt = submit()
            if nxt is not None:
                add(nxt)
            yield from drain_errors()
            yield from results
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
