"""Corpus throughput: in process, on Dask with 1 worker x 1 thread and with 2 workers x 1 thread.

All three runs analyse the same documents with the same stages into fresh SQLite databases, in one
run of this script, so the ratios are comparable: the 2-worker speed-up over 1 worker (target 1.8x
on 2 cores) and Dask's overhead against the in-process run (target 10% or less).

    .venv/bin/python bench/corpus_scale.py [--n 120] [--stages language,segment,techniques,claims]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from unspin.corpus.runner import add_paths
from unspin.pipeline import DEFAULT_STAGES
from unspin.store import Store


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[1] / "../shared/data/ptc/train-articles"))
    ap.add_argument("--n", type=int, default=120)
    ap.add_argument("--stages", default=",".join(DEFAULT_STAGES))
    args = ap.parse_args()
    stages = args.stages.split(",")
    files = sorted(Path(args.data).glob("article*.txt"))[: args.n]
    work = Path(tempfile.mkdtemp())
    src = work / "docs"
    src.mkdir()
    words = 0
    for f in files:
        text = f.read_text(encoding="utf-8")
        words += len(text.split())
        (src / f.name).write_text(text, encoding="utf-8")
    rows = []
    for name, workers in (("in process", 0), ("Dask 1 worker x 1 thread", 1), ("Dask 2 workers x 1 thread", 2)):
        store = Store(f"sqlite:///{work / f'{workers}.db'}")
        t0 = time.perf_counter()
        report = add_paths([str(src)], store, stages=stages, workers=workers)
        dt = time.perf_counter() - t0
        assert report.added == len(files), report
        rows.append((name, len(files) / dt, dt))
    table = Table(title=f"corpus add: {len(files)} PTC articles ({words / len(files):.0f} words each), stages {stages}")
    for col in ("run", "docs/s", "seconds", "vs in process", "vs 1 worker"):
        table.add_column(col, justify="left" if col == "run" else "right")
    base, one = rows[0][1], rows[1][1]
    for name, rate, dt in rows:
        table.add_row(name, f"{rate:.2f}", f"{dt:.1f}", f"{rate / base:.2f}x", f"{rate / one:.2f}x")
    Console(width=140).print(table)
    print("Model loading is included in every run (once per process, once per Dask worker).")


if __name__ == "__main__":
    main()
