"""SemEval-2025 Task 10 answer files from the framing model: roles for given mentions, narratives per article.

The document language (for grouping names) comes from the article id's language part (`EN_...`,
`A9_BG_...`), else from the detector in `unspin.metadata.language`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from unspin.eval.framing import language_of
from unspin.formats.semeval2025 import (
    FileProblem,
    format_narrative_line,
    format_role_line,
    read_documents,
    read_mentions,
)
from unspin.segment.sentences import sentence_spans


def _language(article_id: str, text: str) -> str | None:
    lang = language_of(article_id)
    if lang:
        return lang.lower()
    from unspin.metadata.language import detect_language

    found = detect_language(text)
    return found[0] if found else None


def write_roles(
    docs_dir: Path, mentions_path: Path, out: Path, model: Any, progress: Callable[[int, int], Any] | None = None
) -> tuple[int, list[FileProblem]]:
    """One answer line per usable mention line of `mentions_path`, in the file's order; the lines that
    cannot be used (unknown article, offsets outside it, text that does not match) come back as problems."""
    from unspin.framing.model import best_roles

    docs = read_documents(docs_dir)
    mentions, problems = read_mentions(mentions_path, docs)
    by_doc: dict[str, list[int]] = {}
    for i, m in enumerate(mentions):
        by_doc.setdefault(m.article_id, []).append(i)
    answers: list[str | None] = [None] * len(mentions)
    total = len(by_doc)
    for n, (aid, rows) in enumerate(by_doc.items(), 1):
        text = docs[aid]
        lang = _language(aid, text)
        main, fine = model.roles(text, [(mentions[i].start, mentions[i].end) for i in rows], lang)
        # a language's route has its own fine-role labels
        for i, (m, f) in zip(rows, best_roles(model.route(lang).heads, main, fine), strict=True):
            answers[i] = format_role_line(mentions[i], m, [f])
        if progress:
            progress(n, total)
    lines = [a for a in answers if a is not None]
    out.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return len(lines), problems


def write_narratives(docs_dir: Path, out: Path, model: Any, progress: Callable[[int, int], Any] | None = None) -> int:
    """One line per document of `docs_dir`: its narratives and subnarratives (`Other` where none)."""
    docs = read_documents(docs_dir)
    lines = []
    total = len(docs)
    for n, (aid, text) in enumerate(docs.items(), 1):
        found = model.narratives(text, sentence_spans(text), _language(aid, text))
        narratives = [f["narrative"] for f in found] or ["Other"]
        subs = [f["subnarrative"] or "Other" for f in found] or ["Other"]
        lines.append(format_narrative_line(aid, narratives, subs))
        if progress:
            progress(n, total)
    out.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return len(lines)
