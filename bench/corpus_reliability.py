"""Corpus reliability: nothing lost and nothing doubled when runs are killed or run side by side.

Scenarios, each on SQLite and (with --postgres URL, or UNSPIN_TEST_POSTGRES_URL set) on PostgreSQL:
- kill -9 at random points of a `corpus add` of N documents (--kills times), then one run to the end;
- two and three concurrent `corpus add` runs whose inputs overlap (half of each run's inputs are shared).
For each: distinct inputs, documents stored, lost, doubled, runs that crashed, run statuses.

    .venv/bin/python bench/corpus_reliability.py [--n 300] [--kills 5] [--stages language,segment]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console
from rich.table import Table

from unspin.store import Store, normalise_url

WORDS = (
    "port ministry harvest council budget river grain convoy border talks summit energy tariff vote court "
    "election coalition protest drought inflation railway pipeline treaty sanction subsidy strike refinery"
).split()
RUN = """
import sys
from unspin.corpus.runner import add_paths
from unspin.store import Store
add_paths(sys.argv[3:], Store(sys.argv[1]), stages=sys.argv[2].split(","), batch_size=4)
"""


def article(seed: int) -> str:
    rng = random.Random(seed)
    paras = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 35))) + "." for _ in range(8)]
    return f"Headline number {seed}\n\n" + "\n".join(paras)


def write_folder(folder: Path, seeds: list[int]) -> Path:
    folder.mkdir(parents=True)
    for seed in seeds:
        (folder / f"a{seed:06d}.txt").write_text(article(seed))
    return folder


def start(db: str, stages: str, *folders: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-c", RUN, db, stages, *map(str, folders)]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def outcome(db: str, distinct: int, crashed: int) -> dict:
    store = Store(db)
    hashes = [d["content_hash"] for d in store.iter_documents()]
    statuses = Counter(r["status"] for r in store.runs())
    store.close()
    return {"distinct": distinct, "stored": len(set(hashes)), "lost": distinct - len(set(hashes)),
            "doubled": len(hashes) - len(set(hashes)), "crashed": crashed,
            "runs": ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))}  # fmt: skip


def killed_runs(db: str, work: Path, n: int, kills: int, stages: str, rng: random.Random) -> dict:
    """Kill -9 each run once the store holds a random number of documents (a new point each time)."""
    folder = write_folder(work / "kill", list(range(n)))
    store = Store(db)
    killed = 0
    for target in sorted(rng.sample(range(1, n), kills)):
        proc = start(db, stages, folder)
        while proc.poll() is None and store.count() < target:
            time.sleep(0.02)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            killed += 1
        proc.wait()
    store.close()
    final = start(db, stages, folder)
    final.communicate()
    result = outcome(db, n, int(final.returncode != 0))
    result["runs"] += f" ({killed} killed)"
    return result


def concurrent_runs(db: str, work: Path, n: int, k: int, stages: str) -> dict:
    shared = list(range(10_000, 10_000 + n // 2))
    folders = []
    for i in range(k):
        own = list(range(20_000 + i * n, 20_000 + i * n + n // 2))
        folders.append((write_folder(work / f"shared-{i}", shared), write_folder(work / f"own-{i}", own)))
    Store(db).close()
    procs = [start(db, stages, a, b) for a, b in folders]
    crashed = 0
    for p in procs:
        p.communicate()
        crashed += p.returncode != 0
    return outcome(db, len(shared) + k * (n // 2), crashed)


def databases(work: Path, postgres: str | None, name: str) -> Iterator[tuple[str, str]]:
    yield "SQLite", f"sqlite:///{work / (name + '.db')}"
    if postgres:
        import sqlalchemy as sa

        admin = sa.create_engine(normalise_url(postgres), isolation_level="AUTOCOMMIT")
        db = "bench_" + uuid.uuid4().hex[:10]
        with admin.connect() as c:
            c.execute(sa.text(f"CREATE DATABASE {db}"))
        try:
            yield "PostgreSQL", normalise_url(postgres).rsplit("/", 1)[0] + "/" + db
        finally:
            with admin.connect() as c:
                c.execute(sa.text(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
            admin.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--kills", type=int, default=5)
    ap.add_argument("--stages", default="language,segment")
    ap.add_argument("--postgres", default=os.environ.get("UNSPIN_TEST_POSTGRES_URL"))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp())
    table = Table(title=f"corpus reliability: {args.n} documents per run, stages {args.stages}")
    for col in ("scenario", "database", "distinct inputs", "stored", "lost", "doubled", "crashed", "runs"):
        table.add_column(col, justify="left" if col in ("scenario", "database", "runs") else "right")
    scenarios = [
        (f"kill -9 x{args.kills}, then resume", lambda db, w: killed_runs(db, w, args.n, args.kills, args.stages, rng)),
        ("2 concurrent runs, half shared", lambda db, w: concurrent_runs(db, w, args.n, 2, args.stages)),
        ("3 concurrent runs, half shared", lambda db, w: concurrent_runs(db, w, args.n, 3, args.stages)),
    ]
    for i, (name, scenario) in enumerate(scenarios):
        for label, db in databases(work, args.postgres, f"s{i}"):
            r = scenario(db, work / f"{i}-{label}")
            table.add_row(name, label, *(str(r[c]) for c in ("distinct", "stored", "lost", "doubled", "crashed")),
                          r["runs"])  # fmt: skip
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
