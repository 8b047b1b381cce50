"""The SemEval-2025 Task 10 metrics: entity roles (subtask 1) and narratives (subtask 2), written for unspin.

Rows of the two files are paired by key, never by their order: a mention by (article_id, start, end) as the
file writes them, a narrative line by article_id. Every number is over the gold rows; a gold row without a
prediction counts as wrong, a prediction for no gold row is ignored (and reported).

Roles, for gold mentions m with gold main role g(m), fine-role set G(m), and predicted p(m), P(m):
    EMR            = share of mentions with P(m) == G(m) (the official ranking metric)
    main accuracy  = share of mentions with p(m) == g(m)
    micro P, R, F1 = sum |P ∩ G| / sum |P|, sum |P ∩ G| / sum |G|, their harmonic mean (0 when both are 0)
Narratives, per gold article a, with label sets restricted to the taxonomy (labels outside it are ignored):
    F1(a) = 2 |P ∩ G| / (|P| + |G|), and 0 when both sets are empty
    samples-F1 = mean of F1(a) over gold articles; coarse over narratives, fine over subnarratives
(``Other`` counts as a label at both levels.) When article ids carry a language (``EN_...``, ``A9_BG_...``,
``RU-URW-...``), the same numbers are also given per language.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from unspin.formats.semeval2025 import (
    FileProblem,
    Mention,
    NarrativeLabels,
    SemEval2025FormatError,
    read_documents,
    read_mentions,
    read_narrative_labels,
)
from unspin.framing.taxonomy import NARRATIVES, SUBNARRATIVES

_NARRATIVE_SET = frozenset(NARRATIVES)
_SUBNARRATIVE_SET = frozenset(SUBNARRATIVES)
_LANG_RE = re.compile(r"[A-Za-z]{2}")
KINDS = ("roles", "narratives")


def language_of(article_id: str) -> str | None:
    """The language an article id names (``EN_UA_103861.txt`` -> ``EN``, ``A9_BG_5871.txt`` -> ``BG``,
    ``RU-URW-1080.txt`` -> ``RU``): its first part of exactly two letters, or None."""
    parts = re.split(r"[_\-]", article_id)
    for part in parts[:-1]:
        if _LANG_RE.fullmatch(part):
            return part.upper()
    return None


def _by_language(ids: Iterable[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for article_id in ids:
        out.setdefault(language_of(article_id) or "other", []).append(article_id)
    return dict(sorted(out.items()))


# --------------------------------------------------------------------------------------------- roles

RoleKey = tuple[str, int, int]


def _with_breakdown(scores: RoleScores | NarrativeScores, out: dict[str, object]) -> dict[str, object]:
    """`out` plus the per-language scores and the files' problems and warnings, where there are any."""
    if scores.per_language:
        out["per_language"] = {k: v.to_dict() for k, v in scores.per_language.items()}
    if scores.problems or scores.warnings:
        out["problems"] = [str(p) for p in scores.problems]
        out["warnings"] = list(scores.warnings)
    return out


@dataclass
class RoleScores:
    emr: float
    main_accuracy: float
    precision: float
    recall: float
    f1: float
    mentions: int
    answered: int
    per_language: dict[str, RoleScores] = field(default_factory=dict)
    #: lines of either file that were odd or skipped (file, line, reason)
    problems: list[FileProblem] = field(default_factory=list)
    #: remarks about the files as a whole (gold rows without a prediction, predictions for no gold row)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "EMR": self.emr,
            "main_accuracy": self.main_accuracy,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "mentions": self.mentions,
            "answered": self.answered,
        }
        return _with_breakdown(self, out)


def _role_table(mentions: Iterable[Mention]) -> dict[RoleKey, tuple[str, frozenset[str]]]:
    """{key: (main role, fine-role set)}; a key seen twice keeps its last line, as the task's scorers do."""
    return {m.key: (m.main_role or "", frozenset(m.fine_roles)) for m in mentions}


def _score_role_keys(
    keys: list[RoleKey], gold: Mapping[RoleKey, tuple[str, frozenset[str]]], pred: Mapping[RoleKey, tuple]
) -> RoleScores:
    emr = main = tp = n_pred = n_gold = answered = 0
    for key in keys:
        g_main, g_fine = gold[key]
        p_main, p_fine = pred.get(key, ("", frozenset()))
        answered += key in pred
        emr += g_fine == p_fine
        main += g_main == p_main
        tp += len(g_fine & p_fine)
        n_pred += len(p_fine)
        n_gold += len(g_fine)
    n = max(1, len(keys))
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return RoleScores(emr / n, main / n, p, r, f1, len(keys), answered)


def score_roles(gold: Iterable[Mention], pred: Iterable[Mention]) -> RoleScores:
    """Role metrics of predicted mentions against gold ones, paired by ``Mention.key``."""
    g = _role_table(gold)
    p = _role_table(pred)
    scores = _score_role_keys(list(g), g, p)
    langs = _by_language(dict.fromkeys(k[0] for k in g))
    if len(langs) > 1:
        for lang, articles in langs.items():
            wanted = set(articles)
            scores.per_language[lang] = _score_role_keys([k for k in g if k[0] in wanted], g, p)
    return scores


# --------------------------------------------------------------------------------------------- narratives


@dataclass
class NarrativeScores:
    coarse_f1: float
    fine_f1: float
    articles: int
    answered: int
    per_language: dict[str, NarrativeScores] = field(default_factory=dict)
    problems: list[FileProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "coarse_F1": self.coarse_f1,
            "fine_F1": self.fine_f1,
            "articles": self.articles,
            "answered": self.answered,
        }
        return _with_breakdown(self, out)


def samples_f1_one(gold: Iterable[str], pred: Iterable[str]) -> float:
    """Binary F1 of one article's predicted label set against its gold set; 0 when both are empty."""
    g, p = set(gold), set(pred)
    tp = len(g & p)
    return 2 * tp / (len(g) + len(p)) if tp else 0.0


def _score_narrative_ids(
    ids: list[str], gold: Mapping[str, NarrativeLabels], pred: Mapping[str, NarrativeLabels]
) -> NarrativeScores:
    coarse = fine = 0.0
    answered = 0
    for article_id in ids:
        g = gold[article_id]
        p = pred.get(article_id)
        answered += p is not None
        p_narr = p.narratives if p else ()
        p_sub = p.subnarratives if p else ()
        coarse += samples_f1_one(_NARRATIVE_SET.intersection(g.narratives), _NARRATIVE_SET.intersection(p_narr))
        fine += samples_f1_one(_SUBNARRATIVE_SET.intersection(g.subnarratives), _SUBNARRATIVE_SET.intersection(p_sub))
    n = max(1, len(ids))
    return NarrativeScores(coarse / n, fine / n, len(ids), answered)


def score_narratives(gold: Mapping[str, NarrativeLabels], pred: Mapping[str, NarrativeLabels]) -> NarrativeScores:
    """Samples-F1 at both levels of predicted narratives against gold ones, paired by article id."""
    scores = _score_narrative_ids(list(gold), gold, pred)
    langs = _by_language(gold)
    if len(langs) > 1:
        for lang, articles in langs.items():
            scores.per_language[lang] = _score_narrative_ids(articles, gold, pred)
    return scores


# --------------------------------------------------------------------------------------------- files


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _coverage(gold_keys: Iterable[object], pred_keys: Iterable[object], what: str, pred_path: str) -> list[str]:
    g, p = set(gold_keys), set(pred_keys)
    out = []
    if missing := len(g - p):
        out.append(f"{pred_path}: no prediction for {_plural(missing, 'gold ' + what)} (scored as wrong)")
    if extra := len(p - g):
        out.append(f"{pred_path}: {_plural(extra, 'predicted ' + what)} not in the gold file (ignored)")
    return out


def _documents(documents: str | Path | Mapping[str, str] | None) -> dict[str, str] | None:
    if documents is None or isinstance(documents, Mapping):
        return dict(documents) if documents is not None else None
    return read_documents(documents)


def score_files(
    kind: str,
    gold_path: str | Path,
    pred_path: str | Path,
    documents: str | Path | Mapping[str, str] | None = None,
) -> RoleScores | NarrativeScores:
    """Score a prediction file against a gold file; ``kind`` is ``roles`` or ``narratives``.

    Lines with problems (see ``read_mentions``/``read_narrative_labels``) are listed in ``problems`` with their
    file and line; the rest is scored. Rows are read as the task's scorers read them, so the numbers equal
    theirs. With ``documents`` (a folder, see ``read_documents``, or {article_id: text}) every row must name a
    document, and for roles every mention's text must be found at its offsets: rows that fail are skipped.
    Raises SemEval2025FormatError when a file cannot be read or the gold file has no row at all."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}: use roles or narratives")
    docs = _documents(documents)
    if kind == "roles":
        gold, gold_problems = _role_rows(gold_path, docs, "not scored")
        pred, pred_problems = _role_rows(pred_path, docs, "counts as no prediction")
        if not gold:
            raise SemEval2025FormatError(f"{gold_path}: no mention line to score against")
        role_scores = score_roles(gold, pred)
        role_scores.problems = gold_problems + pred_problems
        role_scores.warnings = _coverage(_role_table(gold), _role_table(pred), "mention", str(pred_path))
        return role_scores
    problems: list[FileProblem] = []
    gold_labels = _known(read_narrative_labels(gold_path, problems), docs, gold_path, problems)
    pred_labels = _known(read_narrative_labels(pred_path, problems), docs, pred_path, problems)
    if not gold_labels:
        raise SemEval2025FormatError(f"{gold_path}: no article line to score against")
    narrative_scores = score_narratives(gold_labels, pred_labels)
    narrative_scores.problems = problems
    narrative_scores.warnings = _coverage(gold_labels, pred_labels, "article", str(pred_path))
    return narrative_scores


def _role_rows(path: str | Path, docs: dict[str, str] | None, effect: str) -> tuple[list[Mention], list[FileProblem]]:
    """The mentions of a gold or predictions file that carry roles (the task's scorers skip the others)."""
    mentions, problems = read_mentions(path, docs, lenient=True)
    for m in mentions:
        if m.main_role is None:
            problems.append(FileProblem(str(path), m.line, f"a mention without roles (4 columns): {effect}"))
    problems.sort(key=lambda p: p.line)
    return [m for m in mentions if m.main_role is not None], problems


def _known(
    labels: dict[str, NarrativeLabels], docs: Mapping[str, str] | None, path: str | Path, problems: list[FileProblem]
) -> dict[str, NarrativeLabels]:
    """The rows whose article is among the documents (all rows without documents); the others reported."""
    if docs is None:
        return labels
    for article_id, row in labels.items():
        if article_id not in docs:
            problems.append(
                FileProblem(str(path), row.line, f"unknown article {article_id!r}: not among the documents")
            )
    return {k: v for k, v in labels.items() if k in docs}
