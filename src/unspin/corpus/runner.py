"""`corpus add`: read inputs, analyse what is new (in process or on Dask), store in batches.

Nothing is lost and nothing doubled: each input's hash is checked before it is analysed (a resumed
run skips what a killed run already stored), each batch is written in one transaction, the content
hash is unique in the database, and every bad input is written to the errors table with its reason.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from unspin.document import Document
from unspin.errors import InputError
from unspin.ingest.sources import RECORD_SUFFIXES, RawInput, iter_folder, read_paths
from unspin.lanes import Job, analyse_many, chunks
from unspin.settings import Settings
from unspin.store import Store


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


class _Writer:
    def __init__(self, store: Store, run: RunReport, batch_size: int, tick: Callable[[int], None]) -> None:
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
    store: Store,
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

    def new_inputs() -> Iterator[Job]:
        """Inputs not stored yet, in chunks checked against the database; errors go to the writer."""
        for chunk in chunks(iter(read_paths(paths, settings)), 64):
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
                yield raw, {"input_hash": h}

    try:
        results = analyse_many(new_inputs(), settings, stages, workers=workers, scheduler=scheduler, ordered=False)
        for item in results:
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
