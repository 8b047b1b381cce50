"""Article body extraction on real pages with gold bodies (../shared/data/extraction).

Prints, in one run, trafilatura alone, readability-lxml alone, the readability port that ships in
trafilatura alone, unspin's extraction (trafilatura and that port voting),
and unspin's extraction followed by its debris cleaning. Two metrics, both averaged over pages:
token P/R/F1 (bags of word tokens) and 4-gram shingle P/R/F1 (the benchmark's own way of counting).
Speed: pages/s in one process, and with a pool of 2 processes for unspin.

    .venv/bin/python bench/extraction.py [--data ../shared/data/extraction] [--limit N]
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from rich.console import Console
from rich.table import Table

_WORD = re.compile(r"\w+")


def grams(text: str, n: int) -> Counter:
    words = _WORD.findall(text)
    if n == 1:
        return Counter(words)
    return Counter(tuple(words[i : i + n]) for i in range(max(1, len(words) - n + 1)) if words[i : i + n])


def page_scores(pred: str, gold: str, n: int) -> tuple[float, float]:
    p, g = grams(pred, n), grams(gold, n)
    tp = sum((p & g).values())
    np_, ng = sum(p.values()), sum(g.values())
    if np_ == 0 and ng == 0:
        return 1.0, 1.0
    return (tp / np_ if np_ else 0.0), (tp / ng if ng else 0.0)


def summary(preds: dict[str, str], gold: dict[str, str], n: int) -> tuple[float, float, float]:
    scores = [page_scores(preds[k], gold[k], n) for k in gold]
    p = sum(s[0] for s in scores) / len(scores)
    r = sum(s[1] for s in scores) / len(scores)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def run_trafilatura(html: str, url: str | None) -> str:
    import trafilatura

    return trafilatura.extract(html, url=url, include_comments=False) or ""


def run_readability(html: str, url: str | None) -> str:
    """The readability-lxml package (a bench-only dependency)."""
    import logging

    import lxml.html
    from readability import Document

    from unspin.ingest.html import block_text

    logging.getLogger("readability").setLevel(logging.ERROR)
    try:
        return block_text(lxml.html.fromstring(Document(html).summary(html_partial=True)))
    except Exception:
        return ""


def run_readability_port(html: str, url: str | None) -> str:
    """The readability port inside trafilatura: the voter unspin uses."""
    from unspin.ingest.html import readability_body

    return readability_body(html)


def run_unspin(html: str, url: str | None) -> str:
    from unspin.ingest.html import extract_article

    return extract_article(html, url=url).text


def run_unspin_clean(html: str, url: str | None) -> str:
    from unspin.ingest.build import build_document
    from unspin.ingest.sources import RawInput

    return build_document(RawInput("page", html, "html", hints={"url": url} if url else {})).text


def _call(args: tuple) -> str:
    fn, html, url = args
    return fn(html, url)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[1] / "../shared/data/extraction"))
    ap.add_argument("--limit", type=int, default=0)
    args = ap.parse_args()
    root = Path(args.data)
    truth = json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))
    keys = sorted(truth)[: args.limit or None]
    pages = {k: gzip.open(root / "html" / f"{k}.html.gz").read().decode("utf-8", "replace") for k in keys}
    gold = {k: truth[k]["articleBody"] for k in keys}
    urls = {k: truth[k].get("url") for k in keys}

    systems = [
        ("trafilatura alone", run_trafilatura),
        ("readability-lxml alone", run_readability),
        ("readability port (in trafilatura) alone", run_readability_port),
        ("unspin extraction (vote)", run_unspin),
        ("unspin extraction + cleaning", run_unspin_clean),
    ]
    table = Table(title=f"Body extraction on {len(keys)} pages (metrics averaged over pages)")
    for col in ("system", "tok P", "tok R", "tok F1", "4-gram P", "4-gram R", "4-gram F1", "pages/s"):
        table.add_column(col, justify="left" if col == "system" else "right")
    for name, fn in systems:
        fn(pages[keys[0]], urls[keys[0]])  # warm imports
        t0 = time.perf_counter()
        preds = {k: fn(pages[k], urls[k]) for k in keys}
        dt = time.perf_counter() - t0
        tok = summary(preds, gold, 1)
        shg = summary(preds, gold, 4)
        table.add_row(name, *(f"{x:.3f}" for x in tok + shg), f"{len(keys) / dt:.1f}")
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(_call, [(run_unspin, pages[k], urls[k]) for k in keys[:4]]))  # start workers
        t0 = time.perf_counter()
        list(pool.map(_call, [(run_unspin, pages[k], urls[k]) for k in keys], chunksize=4))
        dt = time.perf_counter() - t0
    table.add_row("unspin extraction, 2 processes", *([""] * 6), f"{len(keys) / dt:.1f}")
    Console(width=140).print(table)


if __name__ == "__main__":
    main()
