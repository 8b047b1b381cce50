"""The SemEval-2020 Task 11 span metrics (Da San Martino et al.), written for unspin.

Spans are half-open character intervals ``[start, end)``. For predicted spans S and gold spans T:

    P = (1/|S|) * sum_s sum_t |s ∩ t| / |s|        R = (1/|T|) * sum_s sum_t |s ∩ t| / |t|

where a pair (s, t) only counts when both are in the same article and, for FLC, carry the same technique.
F1 is their harmonic mean (0 when both are 0); P is 0 without predictions and R is 0 without gold.

* SI (span identification): labels are ignored and overlapping spans are merged per article, on both sides.
* FLC (fragment-level classification): overlapping spans of the same technique are merged per article, on
  both sides, as the official scorer does (so predicting a fragment twice changes nothing); pairs count only
  when the technique matches; per-technique scores use only that technique's spans.
* TC (technique classification): the gold spans are given; each prediction is matched to gold by
  (article, start, end) and micro-F1 is the share of gold spans whose label is predicted (a span that
  carries k gold labels takes up to k predictions). P is correct / predictions, R is correct / gold.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from unspin.eval.intervals import merge_intervals
from unspin.formats.semeval import LabelSpan, check_offsets, read_articles, read_labels


@dataclass
class TechniqueScore:
    precision: float
    recall: float
    f1: float
    n_pred: int
    n_gold: int


@dataclass
class SpanScores:
    precision: float
    recall: float
    f1: float
    n_pred: int
    n_gold: int
    per_technique: dict[str, TechniqueScore] = field(default_factory=dict)
    #: what the scorer noticed about the files that does not stop it (articles on one side only)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "n_pred": self.n_pred,
            "n_gold": self.n_gold,
            "per_technique": {k: vars(v) for k, v in self.per_technique.items()},
            "warnings": list(self.warnings),
        }


def f1_score(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def _group(spans: Iterable[LabelSpan], by_technique: bool) -> dict[tuple[str, str | None], list[tuple[int, int]]]:
    out: dict[tuple[str, str | None], list[tuple[int, int]]] = defaultdict(list)
    for s in spans:
        if s.end <= s.start:
            continue
        out[(s.article_id, s.technique if by_technique else None)].append((s.start, s.end))
    return out


def _partial_credit(
    pred: dict[tuple[str, str | None], list[tuple[int, int]]],
    gold: dict[tuple[str, str | None], list[tuple[int, int]]],
) -> tuple[float, float, int, int]:
    """(sum of per-prediction credit, sum of per-gold credit, |S|, |T|) over matching groups."""
    p_sum = r_sum = 0.0
    for key, ps in pred.items():
        gs = gold.get(key, [])
        if not gs:
            continue
        gs_sorted = sorted(gs)
        for s in ps:
            for t in gs_sorted:
                if t[0] >= s[1]:
                    break
                ov = _overlap(s, t)
                if ov:
                    p_sum += ov / (s[1] - s[0])
                    r_sum += ov / (t[1] - t[0])
    n_pred = sum(len(v) for v in pred.values())
    n_gold = sum(len(v) for v in gold.values())
    return p_sum, r_sum, n_pred, n_gold


def _scores(p_sum: float, r_sum: float, n_pred: int, n_gold: int) -> tuple[float, float, float]:
    p = p_sum / n_pred if n_pred else 0.0
    r = r_sum / n_gold if n_gold else 0.0
    return p, r, f1_score(p, r)


def _merged(spans: Iterable[LabelSpan], by_technique: bool) -> dict[tuple[str, str | None], list[tuple[int, int]]]:
    """Spans grouped per article (and technique), overlapping or touching ones merged into one."""
    return {k: merge_intervals(v) for k, v in _group(spans, by_technique).items()}


def score_si(gold: Iterable[LabelSpan], pred: Iterable[LabelSpan]) -> SpanScores:
    """Span identification: labels ignored, overlapping spans merged per article on both sides."""
    p_sum, r_sum, n_pred, n_gold = _partial_credit(_merged(pred, False), _merged(gold, False))
    p, r, f = _scores(p_sum, r_sum, n_pred, n_gold)
    return SpanScores(p, r, f, n_pred, n_gold)


def score_flc(gold: Iterable[LabelSpan], pred: Iterable[LabelSpan]) -> SpanScores:
    """Fragment-level classification: spans merged per article and technique on both sides, partial
    overlap credit only when the technique matches."""
    g = _merged(gold, True)
    s = _merged(pred, True)
    p_sum, r_sum, n_pred, n_gold = _partial_credit(s, g)
    p, r, f = _scores(p_sum, r_sum, n_pred, n_gold)
    per: dict[str, TechniqueScore] = {}
    techniques = sorted({k[1] for k in g} | {k[1] for k in s if k[1] is not None})
    for tech in techniques:
        gt = {k: v for k, v in g.items() if k[1] == tech}
        st = {k: v for k, v in s.items() if k[1] == tech}
        tp, tr, tn_pred, tn_gold = _partial_credit(st, gt)
        pp, rr, ff = _scores(tp, tr, tn_pred, tn_gold)
        per[tech] = TechniqueScore(pp, rr, ff, tn_pred, tn_gold)  # type: ignore[index]
    return SpanScores(p, r, f, n_pred, n_gold, per)


def score_tc(gold: Iterable[LabelSpan], pred: Iterable[LabelSpan]) -> SpanScores:
    """Technique classification: accuracy of the predicted label of each gold span (micro-F1)."""
    gold_by: dict[tuple[str, int, int], Counter[str]] = defaultdict(Counter)
    pred_by: dict[tuple[str, int, int], Counter[str]] = defaultdict(Counter)
    n_gold = n_pred = 0
    for t in gold:
        gold_by[(t.article_id, t.start, t.end)][t.technique or ""] += 1
        n_gold += 1
    for s in pred:
        pred_by[(s.article_id, s.start, s.end)][s.technique or ""] += 1
        n_pred += 1
    correct: Counter[str] = Counter()
    gold_n: Counter[str] = Counter()
    pred_n: Counter[str] = Counter()
    for key, gc in gold_by.items():
        gold_n.update(gc)
        correct.update(gc & pred_by.get(key, Counter()))
    for pc in pred_by.values():
        pred_n.update(pc)
    total = sum(correct.values())
    p = total / n_pred if n_pred else 0.0
    r = total / n_gold if n_gold else 0.0
    per: dict[str, TechniqueScore] = {}
    for tech in sorted(set(gold_n) | set(pred_n)):
        pp = correct[tech] / pred_n[tech] if pred_n[tech] else 0.0
        rr = correct[tech] / gold_n[tech] if gold_n[tech] else 0.0
        per[tech] = TechniqueScore(pp, rr, f1_score(pp, rr), pred_n[tech], gold_n[tech])
    return SpanScores(p, r, f1_score(p, r), n_pred, n_gold, per)


SCORERS = {"si": score_si, "flc": score_flc, "tc": score_tc}


def read_label_file(kind: str, path: str | Path) -> list[LabelSpan]:
    """Read a gold or prediction file for `kind`; SI accepts the 3-column SI or the 4-column FLC format."""
    if kind != "si":
        return read_labels(path, kind)
    try:
        return read_labels(path, "si")
    except ValueError as si_error:
        try:
            return read_labels(path, "flc")
        except ValueError:
            raise si_error from None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def coverage_warnings(gold: list[LabelSpan], pred: list[LabelSpan], pred_name: str = "predictions") -> list[str]:
    """Articles named on one side only: they score, but are usually a mistake worth seeing."""
    gold_ids = {s.article_id for s in gold}
    pred_ids = {s.article_id for s in pred}
    out = []
    if only_pred := sorted(pred_ids - gold_ids):
        out.append(
            f"{pred_name}: {_plural(len(only_pred), 'article')} with no gold spans "
            f"({', '.join(only_pred[:5])}{', ...' if len(only_pred) > 5 else ''}): their spans count against precision"
        )
    if only_gold := sorted(gold_ids - pred_ids):
        out.append(
            f"{pred_name}: nothing predicted for {_plural(len(only_gold), 'gold article')} "
            f"({', '.join(only_gold[:5])}{', ...' if len(only_gold) > 5 else ''})"
        )
    return out


def score_files(
    kind: str, gold_path: str | Path, pred_path: str | Path, articles_dir: str | Path | None = None
) -> SpanScores:
    """Score a prediction file against a gold file (`kind` = si | flc | tc).

    With `articles_dir` (a folder of article<ID>.txt), every span of both files must name an article of the
    folder and end inside its text; a span that does not is an error naming its file and line.
    """
    if kind not in SCORERS:
        raise ValueError(f"unknown task {kind!r}: use si, flc or tc")
    gold = read_label_file(kind, gold_path)
    pred = read_label_file(kind, pred_path)
    if articles_dir is not None:
        articles = read_articles(articles_dir)
        check_offsets(gold, articles, str(gold_path))
        check_offsets(pred, articles, str(pred_path))
    scores = SCORERS[kind](gold, pred)
    scores.warnings = coverage_warnings(gold, pred, str(pred_path))
    return scores
