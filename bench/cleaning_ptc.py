"""Cleaning on already-clean text: the PTC articles must come out unchanged.

For every article the clean text must equal the input (after trailing whitespace), the offset map
must be the identity, and no line may be removed. Prints a table and lists any article that changed.

    .venv/bin/python bench/cleaning_ptc.py [--data ../shared/data/ptc/train-articles]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from unspin.clean.debris import clean_text


def main() -> None:
    ap = argparse.ArgumentParser()
    default = Path(__file__).resolve().parents[1] / "../shared/data/ptc/train-articles"
    ap.add_argument("--data", default=str(default))
    args = ap.parse_args()
    files = sorted(Path(args.data).glob("article*.txt"))
    changed, removed_lines, offsets_moved = [], 0, 0
    t0 = time.perf_counter()
    for f in files:
        src = f.read_text(encoding="utf-8")
        res = clean_text(src)
        removed_lines += len(res.removed)
        moved = any(res.source_map.to_source(i) != i for i in range(0, len(res.text)))
        offsets_moved += moved
        if res.removed or res.text != src.rstrip() or moved:
            changed.append((f.name, [(r.reason, src[r.start : r.end][:70]) for r in res.removed]))
    dt = time.perf_counter() - t0
    table = Table(title="Cleaning already-clean PTC articles")
    for col in ("articles", "changed", "lines removed", "offset maps not identity", "articles/s"):
        table.add_column(col, justify="right")
    table.add_row(
        str(len(files)), str(len(changed)), str(removed_lines), str(offsets_moved), f"{len(files) / dt:.0f}"
    )
    Console().print(table)
    for name, rem in changed[:50]:
        print(name, rem)


if __name__ == "__main__":
    main()
