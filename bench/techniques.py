"""Benchmark the `fast` technique tagger on ~1,000-word articles.

    python bench/techniques.py [--threads 2] [--articles 40] [--words 1000] [--model fast]

Prints articles/s and tokens/s end to end (tokenize, windows, ONNX, decoding), the bare ONNX encoder
throughput on the same windows, latency p50/p95 for one article, and the process's peak RSS.
Articles are built from PTC texts when `../shared/data/ptc` exists, else from invented sentences.
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from unspin.analyse.techniques.tagger import TechniqueTagger, window_starts  # noqa: E402

FILLER = [
    "The committee published its annual report on Monday.",
    "Critics called the plan a reckless betrayal of ordinary families.",
    "Officials said that the talks would continue next week in Geneva.",
    "Only a fool would still trust these corrupt career politicians.",
    "The company reported a small rise in quarterly profits.",
    "Our brave soldiers will never surrender to this evil regime!",
]


def make_articles(n: int, words: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    ptc = ROOT.parent / "shared" / "data" / "ptc" / "train-articles"
    pool: list[str] = []
    if ptc.is_dir():
        for p in sorted(ptc.glob("article*.txt"))[:200]:
            pool.extend(line for line in p.read_text(encoding="utf-8").split("\n") if line.strip())
    if not pool:
        pool = FILLER
    out = []
    for _ in range(n):
        lines: list[str] = []
        count = 0
        while count < words:
            line = rng.choice(pool)
            lines.append(line)
            count += len(line.split())
        out.append("\n".join(lines))
    return out


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="fast")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--articles", type=int, default=40)
    ap.add_argument("--words", type=int, default=1000)
    ap.add_argument("--latency-runs", type=int, default=20)
    args = ap.parse_args()

    t0 = time.perf_counter()
    tagger = TechniqueTagger.load(args.model, threads=args.threads)
    load_s = time.perf_counter() - t0
    articles = make_articles(args.articles, args.words)
    n_tokens = sum(len(tagger._encode(a)[0]) for a in articles)
    tagger.predict(articles[:2])  # warm-up

    t0 = time.perf_counter()
    spans = tagger.predict(articles)
    e2e = time.perf_counter() - t0

    # bare encoder: the same windows, prebuilt, straight through the ONNX session
    size = tagger.window - 2
    windows = []
    for a in articles:
        ids, _ = tagger._encode(a)
        for s in window_starts(len(ids), size, tagger.stride):
            windows.append(np.concatenate([[tagger.cls_id], ids[s : s + size], [tagger.sep_id]]))
    batches = []
    for j in range(0, len(windows), tagger.batch_size):
        chunk = windows[j : j + tagger.batch_size]
        width = max(len(w) for w in chunk)
        ids = np.zeros((len(chunk), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for r, w in enumerate(chunk):
            ids[r, : len(w)] = w
            mask[r, : len(w)] = 1
        batches.append((ids, mask))
    t0 = time.perf_counter()
    for ids, mask in batches:
        tagger.session.run(None, {"input_ids": ids, "attention_mask": mask})
    enc_s = time.perf_counter() - t0
    window_tokens = sum(len(w) for w in windows)

    lat = []
    for i in range(args.latency_runs):
        t0 = time.perf_counter()
        tagger.predict([articles[i % len(articles)]])
        lat.append(time.perf_counter() - t0)
    lat.sort()
    p95 = lat[min(len(lat) - 1, int(round(0.95 * (len(lat) - 1))))]

    rows = [
        ("model", f"{args.model} ({tagger.config.get('onnx', 'model.onnx')}, int8 ONNX)"),
        ("threads", str(args.threads)),
        ("articles x words", f"{len(articles)} x ~{args.words} ({n_tokens / len(articles):.0f} tokens each)"),
        ("load time", f"{load_s:.2f} s"),
        ("end-to-end articles/s", f"{len(articles) / e2e:.2f}"),
        ("end-to-end tokens/s", f"{n_tokens / e2e:.0f}"),
        ("encoder-only articles/s", f"{len(articles) / enc_s:.2f}"),
        ("encoder-only tokens/s (article tokens)", f"{n_tokens / enc_s:.0f}"),
        ("encoder-only tokens/s (window tokens)", f"{window_tokens / enc_s:.0f}"),
        ("latency one article p50", f"{statistics.median(lat) * 1000:.0f} ms"),
        ("latency one article p95", f"{p95 * 1000:.0f} ms"),
        ("spans per article", f"{sum(map(len, spans)) / len(articles):.1f}"),
        ("peak RSS", f"{rss_mb():.0f} MB"),
    ]
    w = max(len(k) for k, _ in rows)
    print(f"{'measure':<{w}}  value")
    print(f"{'-' * w}  {'-' * 30}")
    for k, v in rows:
        print(f"{k:<{w}}  {v}")


if __name__ == "__main__":
    main()
