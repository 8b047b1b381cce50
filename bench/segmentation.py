"""Sentence boundaries on PTC: each body line is one gold sentence.

Newlines are replaced by spaces (same length, so offsets do not move) before segmenting, so a
segmenter cannot simply split on line breaks. A predicted boundary is a sentence start offset;
precision/recall compare predicted starts with gold line starts.

    .venv/bin/python bench/segmentation.py [--data ../shared/data/ptc/train-articles]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table


def gold_starts(text: str) -> set[int]:
    starts, pos = set(), 0
    for line in text.split("\n"):
        if line.strip():
            starts.add(pos + (len(line) - len(line.lstrip())))
        pos += len(line) + 1
    return starts


def segmenters() -> dict:
    out = {}
    from unspin.segment.sentences import sentence_spans

    out["unspin (syntok per paragraph)"] = lambda t: [s for s, _ in sentence_spans(t)]
    import pysbd

    seg = pysbd.Segmenter(language="en", clean=False, char_span=True)
    out["pysbd"] = lambda t: [s.start for s in seg.segment(t)]
    try:
        from syntok import segmenter as sy

        def syntok_starts(t: str) -> list[int]:
            return [sent[0].offset for para in sy.analyze(t) for sent in para]

        out["syntok"] = syntok_starts
    except ImportError:
        pass
    try:
        import blingfire

        def bf_starts(t: str) -> list[int]:
            _, offs = blingfire.text_to_sentences_and_offsets(t)
            return [s for s, _ in offs]

        out["blingfire"] = bf_starts
    except ImportError:
        pass
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[1] / "../shared/data/ptc/train-articles"))
    ap.add_argument("--limit", type=int, default=0)
    args = ap.parse_args()
    files = sorted(Path(args.data).glob("article*.txt"))
    if args.limit:
        files = files[: args.limit]
    texts = [f.read_text(encoding="utf-8") for f in files]
    table = Table(title=f"Sentence starts on {len(texts)} PTC articles (newlines blanked)")
    for col in ("segmenter", "P", "R", "F1", "articles/s"):
        table.add_column(col, justify="right" if col != "segmenter" else "left")
    runs = [(name, fn, True) for name, fn in segmenters().items()]
    from unspin.segment.sentences import sentence_spans

    runs.append(("unspin, line breaks kept (as used)", lambda t: [s for s, _ in sentence_spans(t)], False))
    for name, fn, blank in runs:
        tp = fp = fn_ = 0
        t0 = time.perf_counter()
        for text in texts:
            gold = gold_starts(text)
            flat = text.replace("\n", " ") if blank else text
            pred = set()
            for s in fn(flat):
                while s < len(flat) and flat[s].isspace():
                    s += 1
                pred.add(s)
            tp += len(gold & pred)
            fp += len(pred - gold)
            fn_ += len(gold - pred)
        dt = time.perf_counter() - t0
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn_) if tp + fn_ else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        table.add_row(name, f"{p:.3f}", f"{r:.3f}", f"{f:.3f}", f"{len(texts) / dt:.1f}")
    Console().print(table)


if __name__ == "__main__":
    main()
