"""Benchmark the technique taggers on ~1,000-word articles, every shipped model in one run.

    python bench/techniques.py [--threads 2] [--articles 40] [--words 1000] [--models fast,accurate]

For each model: articles/s and tokens/s end to end (tokenize, windows, ONNX, decoding, and the TC
step for models that relabel their spans through it), the bare ONNX encoder's throughput on the same
windows (so the overhead shows as a ratio), latency p50/p95 for one article, TC of given spans
(`classify`: token probabilities plus the span classifier), and the RSS the model adds. Each model
runs in its own process, so RSS is its own.
Articles are built from PTC texts when `../shared/data/ptc` exists, else from invented sentences.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from unspin.techniques.runner import window_starts  # noqa: E402
from unspin.techniques.tagger import MODELS_DIR, TechniqueTagger  # noqa: E402

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


def measure(model: str, threads: int, n_articles: int, words: int, latency_runs: int) -> dict[str, object]:
    rss0 = rss_mb()
    t0 = time.perf_counter()
    tagger = TechniqueTagger.load(model, threads=threads)
    load_s = time.perf_counter() - t0
    articles = make_articles(n_articles, words)
    runner = tagger.runner
    n_tokens = sum(len(runner.encode(a)[0]) for a in articles)
    tagger.predict(articles[:2])  # warm-up

    t0 = time.perf_counter()
    spans = tagger.predict(articles)
    e2e = time.perf_counter() - t0

    # bare encoder: the same windows, prebuilt, straight through the ONNX session
    size = runner.window - 2
    windows = []
    for a in articles:
        ids, _ = runner.encode(a)
        for s in window_starts(len(ids), size, runner.stride):
            windows.append(np.concatenate([[runner.cls_id], ids[s : s + size], [runner.sep_id]]))
    batches = []
    for j in range(0, len(windows), runner.batch_size):
        chunk = windows[j : j + runner.batch_size]
        width = max(len(w) for w in chunk)
        ids = np.full((len(chunk), width), runner.pad_id, dtype=np.int64)
        mask = np.zeros_like(ids)
        for r, w in enumerate(chunk):
            ids[r, : len(w)] = w
            mask[r, : len(w)] = 1
        batches.append((ids, mask))
    t0 = time.perf_counter()
    for ids, mask in batches:
        runner.session.run(None, {"input_ids": ids, "attention_mask": mask})
    enc_s = time.perf_counter() - t0
    window_tokens = sum(len(w) for w in windows)

    lat = []
    for i in range(latency_runs):
        t0 = time.perf_counter()
        tagger.predict([articles[i % len(articles)]])
        lat.append(time.perf_counter() - t0)
    lat.sort()
    p95 = lat[min(len(lat) - 1, int(round(0.95 * (len(lat) - 1))))]

    # TC: the technique of given spans (here each article's own predicted places), one article a call
    places = [sorted({(sp.start, sp.end) for sp in article_spans}) for article_spans in spans]
    t0 = time.perf_counter()
    for a, pl in zip(articles, places, strict=True):
        tagger.classify(a, pl)
    tc_s = time.perf_counter() - t0
    n_places = sum(map(len, places))
    return {
        "onnx": f"{tagger.config.get('onnx', 'model.onnx')}"
        + (" + base tensors" if tagger.config.get("frozen") else ""),
        "articles": f"{len(articles)} x ~{words} words ({n_tokens / len(articles):.0f} tokens)",
        "load time": f"{load_s:.2f} s",
        "end-to-end articles/s": f"{len(articles) / e2e:.2f}",
        "end-to-end tokens/s": f"{n_tokens / e2e:.0f}",
        "encoder-only articles/s": f"{len(articles) / enc_s:.2f}",
        "encoder-only tokens/s (window tokens)": f"{window_tokens / enc_s:.0f}",
        "end-to-end / encoder-only time": f"{e2e / enc_s:.2f}",
        "latency one article p50": f"{statistics.median(lat) * 1000:.0f} ms",
        "latency one article p95": f"{p95 * 1000:.0f} ms",
        "spans per article": f"{sum(map(len, spans)) / len(articles):.1f}",
        "FLC spans through the TC step": (
            "no"
            if tagger.params.relabel is None
            else "span head"
            if tagger.params.tc.span_head is not None
            else "span classifier"
        ),
        "TC of given spans, spans/s": f"{n_places / tc_s:.0f}",
        "peak RSS (process)": f"{rss_mb():.0f} MB",
        "RSS added by the model": f"{rss_mb() - rss0:.0f} MB",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    shipped = [m for m in ("fast", "minilm-l6", "accurate") if (MODELS_DIR / m / "config.json").is_file()]
    ap.add_argument("--models", default=",".join(shipped))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--articles", type=int, default=40)
    ap.add_argument("--words", type=int, default=1000)
    ap.add_argument("--latency-runs", type=int, default=20)
    ap.add_argument("--one", help=argparse.SUPPRESS)  # internal: measure one model, print JSON
    args = ap.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.threads, args.articles, args.words, args.latency_runs)))
        return
    models = [m for m in args.models.split(",") if m]
    results = {}
    for m in models:
        cmd = [
            sys.executable,
            __file__,
            "--one",
            m,
            "--threads",
            str(args.threads),
            "--articles",
            str(args.articles),
            "--words",
            str(args.words),
            "--latency-runs",
            str(args.latency_runs),
        ]
        results[m] = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    keys = list(next(iter(results.values())))
    w = max(len(k) for k in keys)
    cw = max(24, *(len(v) for r in results.values() for v in r.values()))
    print(f"threads: {args.threads}")
    print(f"{'measure':<{w}}  " + "  ".join(f"{m:<{cw}}" for m in models))
    print(f"{'-' * w}  " + "  ".join("-" * cw for _ in models))
    for k in keys:
        print(f"{k:<{w}}  " + "  ".join(f"{results[m][k]:<{cw}}" for m in models))


if __name__ == "__main__":
    main()
