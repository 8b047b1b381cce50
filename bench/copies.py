"""Republished-copy detection: precision/recall on a test set built from PTC articles, and speed.

Every run builds the test set afresh from ../shared/data/ptc (nothing derived is stored): for a
sample of articles it makes copies the way content laundering makes them — debris lines added
(captions, "Subscribe", comment widgets), a new headline, 10-20% of the paragraphs dropped,
paragraphs reordered, and all of these combined — keeping only copies that share at least 80% of
the original's text. All the other PTC articles are the negatives: many are distinct articles on the
same stories (the same events, people and quotes), the hard case.

Pairs are scored on the groups the index forms: a pair is predicted a copy when both ended in one
group, and is a true copy when both came from the same original.

    .venv/bin/python bench/copies.py [--sample 150] [--seed 13]
"""

from __future__ import annotations

import argparse
import itertools
import random
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from unspin.aggregate.copies import CopyIndex, signature

DEBRIS = [
    "Subscribe",
    "Advertisement",
    "Newsfeed",
    "No comments:",
    "Post a Comment",
    "Share this article",
    "© Agency / Photographer / Go to the mediabank",
    "Read more: Officials Meet Again as Talks Drag On",
    "A crowd gathers outside the building on Tuesday. - Some Outlet International",
]


def variants(text: str, rng: random.Random) -> dict[str, str]:
    lines = text.split("\n")
    title, body = lines[0], [ln for ln in lines[1:] if ln.strip()]

    def with_debris(ls: list[str]) -> list[str]:
        out = list(ls)
        for d in rng.sample(DEBRIS, 4):
            out.insert(rng.randrange(len(out) + 1), d)
        return out

    def dropped(ls: list[str], share: float) -> list[str]:
        n = max(1, int(len(ls) * share))
        drop = set(rng.sample(range(len(ls)), n)) if len(ls) > 3 else set()
        return [ln for i, ln in enumerate(ls) if i not in drop]

    def reordered(ls: list[str]) -> list[str]:
        out = list(ls)
        rng.shuffle(out)
        return out

    new_title = "Opinion: " + " ".join(rng.sample(title.split(), len(title.split())))
    return {
        "debris": "\n".join([title, ""] + with_debris(body)),
        "headline": "\n".join([new_title, ""] + body),
        "dropped": "\n".join([title, ""] + dropped(body, rng.uniform(0.1, 0.2))),
        "reordered": "\n".join([title, ""] + reordered(body)),
        "combined": "\n".join([new_title, ""] + with_debris(reordered(dropped(body, 0.1)))),
    }


def shared_share(original: str, copy: str) -> float:
    """Share of the original's body characters (by line) still present in the copy."""
    body = [ln for ln in original.split("\n")[1:] if ln.strip()]
    kept = set(copy.split("\n"))
    total = sum(len(ln) for ln in body)
    return sum(len(ln) for ln in body if ln in kept) / total if total else 0.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[1] / "../shared/data/ptc/train-articles"))
    ap.add_argument("--sample", type=int, default=150)
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    files = sorted(Path(args.data).glob("article*.txt"))
    originals = {f.stem: f.read_text(encoding="utf-8") for f in files}
    docs: dict[str, str] = dict(originals)
    origin = {k: k for k in originals}
    kinds: dict[str, str] = {k: "original" for k in originals}
    skipped = 0
    for key in rng.sample(sorted(originals), min(args.sample, len(originals))):
        for kind, text in variants(originals[key], rng).items():
            if shared_share(originals[key], text) < 0.8:
                skipped += 1
                continue
            vkey = f"{key}~{kind}"
            docs[vkey], origin[vkey], kinds[vkey] = text, key, kind
    keys = list(docs)
    rng.shuffle(keys)  # copies arrive in any order

    index = CopyIndex()
    t0, c0 = time.perf_counter(), time.process_time()
    for k in keys:
        index.add(k, docs[k])
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    t1 = time.perf_counter()
    for k in keys[:300]:
        signature(docs[k])
    sig_rate = 300 / (time.perf_counter() - t1)

    group_of = {}
    for gi, g in enumerate(index.groups()):
        for m in g.members:
            group_of[m.key] = gi
    tp = fp = fn = 0
    by_kind = {}
    false_pos = []
    for a, b in itertools.combinations(keys, 2):
        true = origin[a] == origin[b]
        pred = a in group_of and group_of.get(a) == group_of.get(b)
        if true and pred:
            tp += 1
        elif pred:
            fp += 1
            false_pos.append((a, b))
        elif true:
            fn += 1
        if true:
            kind = kinds[b] if kinds[a] == "original" else kinds[a]
            hit = by_kind.setdefault(kind, [0, 0])
            hit[0] += pred
            hit[1] += 1
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    table = Table(title=f"Copy detection: {len(originals)} PTC articles + {len(keys) - len(originals)} copies")
    cols = ("pairs true", "TP", "FP", "FN", "precision", "recall", "index docs/s", "per CPU-s", "signature docs/s")
    for col in cols:
        table.add_column(col, justify="right")
    table.add_row(
        str(tp + fn), str(tp), str(fp), str(fn), f"{p:.3f}", f"{r:.3f}",
        f"{len(keys) / dt:.0f}", f"{len(keys) / cpu:.0f}", f"{sig_rate:.0f}",
    )  # fmt: skip
    Console(width=140).print(table)
    kt = Table(title="Recall by kind of copy (pairs with a copy of that kind)")
    kt.add_column("kind")
    kt.add_column("recall", justify="right")
    for kind, (hit, n) in sorted(by_kind.items()):
        kt.add_row(kind, f"{hit / n:.3f} ({hit}/{n})")
    Console().print(kt)
    if skipped:
        print(f"{skipped} generated copies kept less than 80% of the text and were left out")
    from unspin.aggregate.copies import shingles

    print("False positives (pairs the test set calls distinct), with the share of shingles they really share:")
    for a, b in false_pos[:15]:
        sa, sb = shingles(docs[a]), shingles(docs[b])
        print(f"  {a}  {b}  containment {len(sa & sb) / max(1, min(len(sa), len(sb))):.2f}")


if __name__ == "__main__":
    main()
