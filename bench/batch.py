"""Benchmark the batch CLI: `unspin analyze DIR --format jsonl` on a folder of ~1,000-word articles.

    python bench/batch.py [--articles 100] [--words 1000] [--model fast] [--workers 0 2] [--skip - claims]
                          [--claims full fast]

Prints, in one run: articles/s and peak RSS of the CLI as a user runs it (process start and model loading
included), for each `--workers` value, each `--skip` choice asked for ("-": every stage) and each claims
model (`--claims full|fast`); then, in this process and without start-up, articles/s one document at a
time against documents in lanes (one per core, the CLI's default), run in turns; then the time per article
of every pipeline stage (cleaning and metadata, language, segmentation, techniques, claims, framing) and
what extracting the article from an HTML page adds, beside the bare forward passes of the encoders on the
same articles (the technique tagger's; the `fast` tagger's, whose states English framing and the fast
claims head read; the claims model's over the sentences; the multilingual encoder that frames other
languages), so the share of each stage shows, and the peak RSS of this process, which has loaded all of
them. Articles are built from PTC texts when `../shared/data/ptc` exists.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from techniques import make_articles  # noqa: E402

from unspin.ingest.build import build_document  # noqa: E402
from unspin.ingest.sources import RawInput  # noqa: E402
from unspin.lanes import analyse_many, lane_plan  # noqa: E402
from unspin.pipeline import Pipeline  # noqa: E402
from unspin.settings import Settings  # noqa: E402


def cli_run(folder: Path, n: int, model: str, workers: int, skip: str, claims: str) -> tuple[float, int, float]:
    """(wall seconds, JSON lines written, peak RSS in MB of the `unspin analyze` process; `--workers`'
    processes are its children and not counted)."""
    exe = Path(sys.executable).with_name("unspin")
    cmd = [str(exe), "analyze", str(folder), "--format", "jsonl", "--model", model, "--claims", claims]
    if workers:
        cmd += ["--workers", str(workers)]
    if skip != "-":
        cmd += ["--skip", skip]
    with tempfile.TemporaryFile("w+", encoding="utf-8") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)  # reaps the child and gives its own peak RSS
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} exited with status {proc.returncode}")
        out.seek(0)
        lines = sum(1 for line in out if line.strip())
    if lines != n:
        raise SystemExit(f"expected {n} JSON lines from {' '.join(cmd)}, got {lines}")
    return wall, lines, usage.ru_maxrss / 1024


def stage_times(articles: list[str], model: str, threads: int, claims: str) -> tuple[dict[str, float], list[float]]:
    """Milliseconds per article of every stage, and each article's total (its latency, one at a time)."""
    settings = Settings(model=model, threads=threads, claims=claims)
    pipe = Pipeline(settings=settings)
    docs = [build_document(RawInput(source="<bench>", content=a, kind="text"), settings) for a in articles[:3]]
    for d in docs:
        pipe(d)  # warm-up
    times = {"cleaning": 0.0, **{name: 0.0 for name in pipe.stage_names}}
    totals = []
    for a in articles:
        start = t0 = time.perf_counter()
        doc = build_document(RawInput(source="<bench>", content=a, kind="text"), settings)
        times["cleaning"] += time.perf_counter() - t0
        for name, stage in zip(pipe.stage_names, pipe.stages, strict=True):
            t0 = time.perf_counter()
            doc = stage(doc)
            times[name] += time.perf_counter() - t0
        totals.append(1000 * (time.perf_counter() - start))
    return {k: 1000 * v / len(articles) for k, v in times.items()}, totals


def as_page(article: str, i: int) -> str:
    """The article as a news site serves it: title, byline and date in the head and the body, paragraphs
    inside <article>, navigation, a share bar, related links and a footer around it."""
    from html import escape

    paras = [p for p in article.split("\n") if p.strip()]
    title = escape(paras[0][:90]) if paras else "Untitled"
    body = "\n".join(f"<p>{escape(p)}</p>" for p in paras)
    nav = " ".join(f'<a href="/section/{k}">{k.title()}</a>' for k in ("world", "politics", "business", "opinion"))
    related = "".join(f'<li><a href="/story/{i + k}">Related story {k}</a></li>' for k in range(1, 6))
    return (
        f"<!doctype html><html><head><title>{title} | The Daily Example</title>"
        f'<meta name="author" content="A. Reporter">'
        f'<meta property="article:published_time" content="2019-03-0{i % 9 + 1}">'
        f"</head><body><header><nav>{nav}</nav></header><main><article><h1>{title}</h1>"
        f'<p class="byline">By A. Reporter</p>{body}</article>'
        f'<aside><div class="share">Share on social media</div><ul>{related}</ul></aside></main>'
        f"<footer>Copyright The Daily Example. All rights reserved. Privacy policy. Contact us.</footer></body></html>"
    )


def extraction_ms(articles: list[str]) -> tuple[float, float]:
    """Milliseconds per article to build the Document from the article as an HTML page (extraction, then
    cleaning and metadata) and from its plain text (cleaning and metadata alone)."""
    settings = Settings()
    pages = [as_page(a, i) for i, a in enumerate(articles)]
    build_document(RawInput(source="<bench>", content=pages[0], kind="html"), settings)  # imports trafilatura
    out = []
    for kind, inputs in (("html", pages), ("text", articles)):
        t0 = time.perf_counter()
        for content in inputs:
            build_document(RawInput(source="<bench>", content=content, kind=kind), settings)
        out.append(1000 * (time.perf_counter() - t0) / len(inputs))
    return out[0], out[1]


def lanes_against_one(
    articles: list[str], model: str, skip: str, claims: str, rounds: int = 3
) -> tuple[int, list, list]:
    """Articles/s in this process, one document at a time and in lanes, in turns (`rounds` each)."""
    from unspin.pipeline import DEFAULT_STAGES

    stages = [s for s in DEFAULT_STAGES if s != skip]
    jobs = [(RawInput(source=f"a{i}", content=a, kind="text"), {}) for i, a in enumerate(articles)]
    _, lane_settings, lanes = lane_plan(jobs, Settings(model=model, claims=claims))
    one_settings = Settings(model=model, claims=claims)
    list(analyse_many(jobs[:4], one_settings, stages, lanes=1))  # load and warm up both
    list(analyse_many(jobs[:4], lane_settings, stages, lanes=lanes))
    one, many = [], []
    for _ in range(rounds):
        for settings, n, rates in ((one_settings, 1, one), (lane_settings, lanes, many)):
            t0 = time.perf_counter()
            list(analyse_many(jobs, settings, stages, lanes=n))
            rates.append(len(jobs) / (time.perf_counter() - t0))
    return lanes, one, many


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--articles", type=int, default=100)
    ap.add_argument("--words", type=int, default=1000)
    ap.add_argument("--model", default="fast")
    ap.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    ap.add_argument("--skip", nargs="+", default=["-", "claims"], help='"-" runs every stage')
    ap.add_argument("--claims", nargs="+", default=["full", "fast"], help="claims models to run")
    ap.add_argument("--threads", type=int, default=2, help="threads for the in-process stage timings")
    args = ap.parse_args()
    runs = [(skip, c) for skip in args.skip for c in (args.claims if skip != "claims" else args.claims[:1])]

    def label(skip: str, c: str) -> str:
        return ("all" if skip == "-" else f"--skip {skip}") + (f", --claims {c}" if skip != "claims" else "")

    articles = make_articles(args.articles, args.words, seed=1)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for i, a in enumerate(articles):
            (folder / f"article{i:05d}.txt").write_text(a, encoding="utf-8")
        print(f"batch CLI: {args.articles} articles x ~{args.words} words, model {args.model}")
        print(f"{'stages':<36}{'workers':<12}{'wall s':>8}{'articles/s':>12}{'peak RSS MB':>13}")
        for skip, c in runs:
            for w in args.workers:
                wall, n, rss = cli_run(folder, args.articles, args.model, w, skip, c)
                where = "in process" if w == 0 else str(w)
                print(f"{label(skip, c):<36}{where:<12}{wall:>8.1f}{n / wall:>12.2f}{rss:>13.0f}")
        print("(peak RSS: the `unspin analyze` process; with --workers, its worker processes come on top)")

    print("\nin process, without start-up (articles/s, rounds run in turns)")
    for skip, c in runs:
        lanes, one, many = lanes_against_one(articles, args.model, skip, c)
        fmt = lambda xs: " ".join(f"{x:.2f}" for x in xs)  # noqa: E731
        gain = sum(many) / sum(one) - 1
        print(f"{label(skip, c):<36}one at a time: {fmt(one)}   {lanes} lanes: {fmt(many)}   ({gain:+.0%})")

    for c in args.claims:
        ms, totals = stage_times(articles, args.model, args.threads, c)
        total = sum(ms.values())
        print(
            f"\nper article, in process, {args.threads} threads, --claims {c} "
            f"({1000 / total:.2f} articles/s without start-up)"
        )
        print(f"{'stage':<12}{'ms':>8}{'share':>8}")
        for k, v in ms.items():
            print(f"{k:<12}{v:>8.1f}{v / total:>8.0%}")
        p50, p95 = np.percentile(totals, [50, 95])
        print(f"one article, every default stage: p50 {p50:.0f} ms, p95 {p95:.0f} ms")
    html_ms, text_ms = extraction_ms(articles)
    print(
        f"\nfrom an HTML page instead of plain text: extraction, cleaning and metadata {html_ms:.1f} ms per article "
        f"(plain text: cleaning and metadata {text_ms:.1f} ms); the stages after are the same"
    )
    print("\nbare forward passes on the same articles, per article")
    for name, v in encoder_ms(articles, args.model, args.threads).items():
        print(f"{name:<58}{v:>8.1f} ms")
    import resource

    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def encoder_ms(articles: list[str], model: str, threads: int) -> dict[str, float]:
    """Milliseconds per article of each encoder's pass alone (the stages add decoding, pooling and
    small heads): the technique tagger's, the claims model's over the article's sentences, and the
    multilingual encoder's (framing of articles not in English)."""
    from unspin.claims.detector import get_detector
    from unspin.claims.fast import FastClaimDetector
    from unspin.models.e5 import E5Encoder
    from unspin.segment.sentences import sentence_spans
    from unspin.techniques.tagger import TechniqueTagger

    tagger = TechniqueTagger.load(model, threads=threads)
    claims = get_detector(threads=threads)
    fast = FastClaimDetector.load(threads=threads)
    e5 = E5Encoder.load(threads)
    bounds = [sentence_spans(a) for a in articles]
    sentences = [[a[s:e] for s, e in b] for a, b in zip(articles, bounds, strict=True)]
    passes_of_fast = [{fast.tagger.states_key: fast.tagger.token_states(a)} for a in articles]
    reads = "English framing reads its states"
    passes = {}
    if tagger is fast.tagger:
        passes[f"technique tagger {model!r} ({reads})"] = lambda i: tagger.token_probs([articles[i]], hidden=True)
    else:  # English framing makes the `fast` tagger's pass besides this model's
        passes[f"technique tagger {model!r}"] = lambda i: tagger.token_probs([articles[i]], hidden=tagger.has_hidden)
        passes[f"technique tagger 'fast' ({reads}; made too)"] = lambda i: fast.tagger.token_states(articles[i])
    passes |= {
        "claims model, every sentence": lambda i: claims.logits(sentences[i]),
        "fast claims head, every sentence (given the tagger's pass)": lambda i: fast.score_spans(
            articles[i], bounds[i], passes_of_fast[i]
        ),
        "multilingual encoder (framing, other languages)": lambda i: e5.token_states(articles[i]),
    }
    out = {}
    for name, run in passes.items():
        run(0)
        t0 = time.perf_counter()
        for i in range(len(articles)):
            run(i)
        out[name] = 1000 * (time.perf_counter() - t0) / len(articles)
    return out


if __name__ == "__main__":
    main()
