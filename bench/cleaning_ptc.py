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
    gold: dict[str, list[tuple[int, int]]] = {}
    labels = Path(args.data).parent / "train-task-flc-tc.labels"
    if labels.exists():
        for line in labels.read_text(encoding="utf-8").splitlines():
            aid, _tech, start, end = line.split("\t")
            gold.setdefault(aid, []).append((int(start), int(end)))
    changed, removed_lines, gold_hit = [], 0, 0
    t0 = time.perf_counter()
    for f in files:
        src = f.read_text(encoding="utf-8")
        res = clean_text(src)
        removed_lines += len(res.removed)
        for s, e in gold.get(f.stem.removeprefix("article"), []):
            gold_hit += any(s < r.end and e > r.start for r in res.removed)
        assert all(src[res.source_map.to_source(i)] == ch for i, ch in enumerate(res.text))
        if not res.removed:
            assert res.text == src.rstrip(), f.name  # nothing removed: the text is the input itself
        else:
            changed.append((f.name, [(r.reason, src[r.start : r.end][:70]) for r in res.removed]))
    dt = time.perf_counter() - t0
    table = Table(title="Cleaning already-clean PTC articles")
    cols = ("articles", "with debris removed", "lines removed", "gold technique spans in removed lines", "articles/s")
    for col in cols:
        table.add_column(col, justify="right")
    n_gold = sum(len(v) for v in gold.values())
    table.add_row(
        str(len(files)), str(len(changed)), str(removed_lines), f"{gold_hit} of {n_gold}", f"{len(files) / dt:.0f}"
    )
    Console().print(table)
    print("Every kept character maps back to the same input character; articles without debris are unchanged.")
    for name, rem in changed:
        print(f"  {name}: " + "; ".join(f"{reason}: {line!r}" for reason, line in rem))


if __name__ == "__main__":
    main()
