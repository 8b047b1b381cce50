"""SemEval-2020 Task 11 label files for a folder of `article<ID>.txt` files, from a technique tagger.

The writers take any *tagger*: an object with `predict(texts: list[str]) -> list[list[Span]]`
(and, for TC, `classify(text, spans) -> list[str]`), so they work with `TechniqueTagger` or a stub.
Articles run in lanes (`unspin.lanes.run_in_lanes`), one article per model call, so results do not
depend on the number of lanes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, TypeVar

from unspin.document import Span
from unspin.eval.intervals import merge_intervals
from unspin.formats.semeval import TC_UNKNOWN, LabelSpan, check_offsets, read_articles, read_labels, write_labels
from unspin.lanes import run_in_lanes
from unspin.scoring import merge_repeats


class Tagger(Protocol):
    def predict(self, texts: list[str]) -> list[list[Span]]: ...


class TCTagger(Protocol):
    def classify(self, text: str, spans: list[tuple[int, int]]) -> list[str]: ...


T = TypeVar("T")
R = TypeVar("R")
Progress = Callable[[int, int], None]  # (articles done, articles in all)


def map_articles(fn: Callable[[T], R], items: Sequence[T], lanes: int = 1, progress: Progress | None = None) -> list[R]:
    """`fn` over every item, results in order, on `lanes` threads (`unspin.lanes.run_in_lanes`)."""
    out: list[R] = []
    for result in run_in_lanes(fn, items, lanes if len(items) > 1 else 1):
        out.append(result)
        if progress is not None:
            progress(len(out), len(items))
    return out


def tag_articles(
    articles_dir: str | Path, tagger: Tagger, lanes: int = 1, progress: Progress | None = None
) -> dict[str, list[Span]]:
    """Technique spans of every article of a folder (one article per model call: a call never mixes
    two texts, so results do not depend on `lanes`)."""
    articles = read_articles(articles_dir)
    found = map_articles(lambda aid: tagger.predict([articles[aid]])[0], list(articles), lanes, progress)
    return dict(zip(articles, found, strict=True))


def write_si(
    articles_dir: str | Path, out: str | Path, tagger: Tagger, lanes: int = 1, progress: Progress | None = None
) -> int:
    """Span identification for every article of a folder: merged technique spans, labels dropped."""
    si = getattr(tagger, "predict_si", None)
    rows: list[LabelSpan] = []
    if si is not None:
        articles = read_articles(articles_dir)
        found = map_articles(lambda aid: si(articles[aid]), list(articles), lanes, progress)
        for aid, spans in zip(articles, found, strict=True):
            rows.extend(LabelSpan(aid, a, b) for a, b in spans)
    else:
        for aid, spans in tag_articles(articles_dir, tagger, lanes, progress).items():
            rows.extend(LabelSpan(aid, a, b) for a, b in merge_intervals((s.start, s.end) for s in spans))
    return write_labels(rows, out, "si")


def write_flc(
    articles_dir: str | Path, out: str | Path, tagger: Tagger, lanes: int = 1, progress: Progress | None = None
) -> int:
    """Fragment-level classification: the technique spans of every article of a folder, overlapping (or
    touching) spans of one technique written once, as their union (the official metric merges them
    anyway)."""
    rows: list[LabelSpan] = []
    for aid, spans in tag_articles(articles_dir, tagger, lanes, progress).items():
        plain = [Span(s.start, s.end, s.technique, s.score) for s in spans]  # every operating point at once
        rows.extend(LabelSpan(aid, s.start, s.end, s.technique) for s in merge_repeats(plain))
    return write_labels(rows, out, "flc")


def fill_tc(
    articles_dir: str | Path,
    template: str | Path,
    out: str | Path,
    tagger: TCTagger,
    lanes: int = 1,
    progress: Progress | None = None,
) -> int:
    """Technique classification: fill the technique column of a span template (`ID ? start end`).

    Lines keep the template's order; a span that runs past its article's end is an error.
    """
    articles = read_articles(articles_dir)
    spans = read_labels(template, "tc")
    check_offsets(spans, articles, str(template))
    by_article: dict[str, list[int]] = {}
    for i, s in enumerate(spans):
        by_article.setdefault(s.article_id, []).append(i)
    labels: list[str] = [TC_UNKNOWN] * len(spans)
    items = list(by_article.items())
    found = map_articles(
        lambda item: tagger.classify(articles[item[0]], [(spans[i].start, spans[i].end) for i in item[1]]),
        items,
        lanes,
        progress,
    )
    for (_, idx), predicted in zip(items, found, strict=True):
        for i, lab in zip(idx, predicted, strict=True):
            labels[i] = lab
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="\n") as fh:
        for s, lab in zip(spans, labels, strict=True):
            fh.write(f"{s.article_id}\t{lab}\t{s.start}\t{s.end}\n")
    return len(spans)
