"""Benchmark the shipped check-worthy claims model: throughput, latency and F1 on CheckThat! dev-test.

    python bench/claims.py [--data-dir ../shared/data/checkthat2024-en] [--threads 2]

Throughput is measured over the dev-test sentences scored as one list (tokenisation, length-sorted
batching and calibration included), best of `--repeats` runs. Latency is per call when scoring one
sentence at a time. F1/P/R are for the Yes class at the shipped threshold.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from unspin.claims.detector import ClaimDetector  # noqa: E402
from unspin.eval.binary import prf  # noqa: E402
from unspin.eval.calibration import expected_calibration_error  # noqa: E402
from unspin.train.checkthat import read_checkthat_tsv  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data" / "checkthat2024-en"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--split", default="dev-test")
    ap.add_argument("--model-dir", type=Path, default=None, help="default: the shipped model")
    ap.add_argument("--threads", type=int, nargs="+", default=[2])
    ap.add_argument("--batch-size", type=int, nargs="+", default=[16])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--latency-samples", type=int, default=100)
    args = ap.parse_args(argv)

    path = args.data_dir / f"CT24_checkworthy_english_{args.split}.tsv"
    if not path.is_file():
        print(f"{path}: not found (pass --data-dir)", file=sys.stderr)
        return 2
    rows = read_checkthat_tsv(path)
    texts = [r.text for r in rows]
    labels = [r.label for r in rows]

    print(f"# claims model on CheckThat! 2024 English {args.split}: {len(texts)} sentences")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    print()
    print(
        "| threads | batch | sentences/s | tokens/s | sentences per CPU-second | ms/sentence (batched) "
        "| single-call p50 ms | p95 ms | F1 | P | R | ECE |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for threads in args.threads:
        for bs in args.batch_size:
            kwargs = {"threads": threads, "batch_size": bs}
            det = ClaimDetector.load(args.model_dir, **kwargs) if args.model_dir else ClaimDetector.load(**kwargs)
            n_tokens = sum(len(e.ids) for e in det.tokenizer.encode_batch(texts))
            det.score(texts[:64])  # warm-up
            best, best_cpu = float("inf"), float("inf")
            scores: list[float] = []
            for _ in range(args.repeats):
                t0, c0 = time.perf_counter(), time.process_time()
                scores = det.score(texts)
                best = min(best, time.perf_counter() - t0)
                best_cpu = min(best_cpu, time.process_time() - c0)
            single = []
            for t in texts[: args.latency_samples]:
                t0 = time.perf_counter()
                det.score([t])
                single.append((time.perf_counter() - t0) * 1000)
            single.sort()
            p95 = single[min(len(single) - 1, int(0.95 * len(single)))]
            m = prf(labels, [s >= det.threshold for s in scores])
            ece = expected_calibration_error(scores, labels)
            print(
                f"| {threads} | {bs} | {len(texts) / best:.0f} | {n_tokens / best:.0f} "
                f"| {len(texts) / best_cpu:.0f} "
                f"| {1000 * best / len(texts):.2f} | {statistics.median(single):.1f} | {p95:.1f} "
                f"| {m['f1']:.3f} | {m['precision']:.3f} | {m['recall']:.3f} | {ece:.3f} |"
            )
    model = det.model_dir / det.config["model_file"]
    print()
    print(
        f"model: {model.name}, {model.stat().st_size / 1e6:.1f} MB, threshold {det.threshold:.4f}, "
        f"max length {det.max_length} tokens"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
