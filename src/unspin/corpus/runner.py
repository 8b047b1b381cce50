"""`corpus add`: read inputs, analyse what is new, store in batches — in process or on Dask.

Nothing is lost and nothing doubled: each input's hash is checked before it is analysed (a resumed
run skips what a killed run already stored), each batch is written in one transaction, the content
hash is unique in the database, and every bad input is written to the errors table with its reason.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from unspin.corpus.store import CorpusStore
from unspin.document import Document
from unspin.errors import InputError
from unspin.ingest.build import build_document
from unspin.ingest.sources import RECORD_SUFFIXES, RawInput, iter_folder, read_paths
from unspin.settings import Settings


@dataclass
class RunReport:
    run_id: int
    added: int = 0
    skipped: int = 0
    errors: list[InputError] = field(default_factory=list)
    status: str = "finished"


def input_hash(raw: RawInput) -> str:
    h = hashlib.sha256()
    h.update(raw.kind.encode())
    h.update(b"\0")
    h.update(raw.content.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def estimate_inputs(paths: Iterable[str]) -> int | None:
    """How many documents the paths hold, counted cheaply (files, and lines of record files)."""
    total = 0
    for p in paths:
        if p == "-":
            return None
        path = Path(p)
        files = list(iter_folder(path)) if path.is_dir() else [path]
        for f in files:
            if f.suffix.lower() in RECORD_SUFFIXES:
                try:
                    with f.open("rb") as fh:
                        total += sum(1 for line in fh if line.strip())
                except OSError:
                    total += 1
            elif f.suffix.lower() in (".warc", ".gz") and ".warc" in f.name.lower():
                return None
            else:
                total += 1
    return total


# -- analysis, shared by the in-process path and the Dask workers --------------------------------

_PIPELINES: dict[tuple, object] = {}


def _pipeline(settings: Settings, stages: tuple[str, ...]):
    """One pipeline per process (and so per Dask worker): models load once."""
    from unspin.pipeline import Pipeline

    key = (stages, settings.model, settings.clean, settings.max_bytes, settings.threads)
    if key not in _PIPELINES:
        _PIPELINES[key] = Pipeline(stages=list(stages), settings=settings)
    return _PIPELINES[key]


def analyse_raw(raws: list[tuple[RawInput, str]], settings: Settings, stages: tuple[str, ...]) -> list:
    """Build and analyse a batch of inputs; a bad input becomes its InputError."""
    pipeline = _pipeline(settings, stages)
    out: list[Document | InputError] = []
    for raw, ihash in raws:
        try:
            doc = build_document(raw, settings)
            doc.meta["input_hash"] = ihash
            out.append(pipeline(doc))
        except InputError as err:
            out.append(err)
        except Exception as err:  # a bug on one input must not stop the corpus run
            out.append(InputError(raw.source, f"analysis failed: {type(err).__name__}: {err}"))
    return out


def _chunks(items: Iterator, size: int) -> Iterator[list]:
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class _Writer:
    def __init__(self, store: CorpusStore, run: RunReport, batch_size: int, tick: Callable[[int], None]) -> None:
        self.store, self.run, self.batch_size, self.tick = store, run, batch_size, tick
        self.docs: list[Document] = []
        self.errors: list[InputError] = []

    def error(self, err: InputError) -> None:
        self.errors.append(err)
        self.run.errors.append(err)
        self.tick(1)

    def doc(self, doc: Document) -> None:
        self.docs.append(doc)
        if len(self.docs) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        if self.docs:
            ids, warnings = self.store.add_documents(self.docs, self.run.run_id)
            self.run.added += len(ids)
            self.run.skipped += len(self.docs) - len(ids)
            self.tick(len(self.docs))
            for w in warnings:
                self.errors.append(w)
                self.run.errors.append(w)
            self.docs = []
        if self.errors:
            self.store.add_errors(self.errors, self.run.run_id)
            self.errors = []


def add_paths(
    paths: list[str],
    store: CorpusStore,
    settings: Settings | None = None,
    *,
    stages: Iterable[str] | None = None,
    batch_size: int = 16,
    workers: int = 0,
    scheduler: str | None = None,
    tick: Callable[[int], None] = lambda n: None,
) -> RunReport:
    from unspin.pipeline import DEFAULT_STAGES

    settings = settings or Settings()
    stages = tuple(stages if stages is not None else DEFAULT_STAGES)
    run = RunReport(run_id=store.start_run([str(p) for p in paths], settings.model))
    writer = _Writer(store, run, batch_size, tick)
    seen: set[str] = set()

    def new_inputs() -> Iterator[tuple[RawInput, str]]:
        """Inputs not stored yet, in chunks checked against the database; errors go to the writer."""
        for chunk in _chunks(iter(read_paths(paths, settings)), 64):
            raws = []
            for item in chunk:
                if isinstance(item, InputError):
                    writer.error(item)
                else:
                    raws.append((item, input_hash(item)))
            known = store.known_inputs(h for _, h in raws)
            for raw, h in raws:
                if h in known or h in seen:
                    run.skipped += 1
                    tick(1)
                    continue
                seen.add(h)
                yield raw, h

    try:
        if workers or scheduler:
            _run_dask(new_inputs(), writer, settings, stages, workers, scheduler)
        else:
            for batch in _chunks(new_inputs(), batch_size):
                for item in analyse_raw(batch, settings, stages):
                    writer.error(item) if isinstance(item, InputError) else writer.doc(item)
        writer.flush()
    except BaseException:
        run.status = "failed"
        try:
            writer.flush()
        finally:
            store.finish_run(run.run_id, run.status, run.added, run.skipped, len(run.errors))
        raise
    store.finish_run(run.run_id, run.status, run.added, run.skipped, len(run.errors))
    return run


def _run_dask(
    inputs: Iterator[tuple[RawInput, str]],
    writer: _Writer,
    settings: Settings,
    stages: tuple[str, ...],
    workers: int,
    scheduler: str | None,
    task_size: int = 4,
) -> None:
    """Batches of inputs analysed on Dask workers; results written by this process as they come back."""
    from dataclasses import replace

    from dask.distributed import Client, LocalCluster, as_completed

    # one thread per worker process, so the models in each worker use one core each
    settings = replace(settings, threads=1)
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
        in_flight = 3 * n_workers
        batches = _chunks(inputs, task_size)
        pending = as_completed()
        for _ in range(in_flight):
            batch = next(batches, None)
            if batch is None:
                break
            pending.add(client.submit(analyse_raw, batch, settings, stages, pure=False))
        for future in pending:
            for item in future.result():
                writer.error(item) if isinstance(item, InputError) else writer.doc(item)
            future.release()
            batch = next(batches, None)
            if batch is not None:
                pending.add(client.submit(analyse_raw, batch, settings, stages, pure=False))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
