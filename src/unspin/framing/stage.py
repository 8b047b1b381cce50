"""The framing stage: fills `Document.entities` and `Document.narratives` (see `unspin.framing.model`).

Languages: the model learnt from English, Bulgarian, Hindi, Portuguese and Russian articles. For
another language (or none detected) the stage still runs, since the encoder knows about 100 languages,
and adds a warning that the results are untested there. A text with no words gets empty lists.
"""

from __future__ import annotations

from typing import Any

from unspin.document import Document
from unspin.framing.model import LANGUAGES, FramingModel


def _sentences(doc: Document) -> list[tuple[int, int]]:
    """The segment stage's sentences, or the text split here when that stage did not run."""
    if doc.sentences or not doc.text.strip():
        return [(s.start, s.end) for s in doc.sentences]
    from unspin.segment.sentences import sentence_spans

    return sentence_spans(doc.text)


class FramingStage:
    name = "framing"

    def __init__(self, model: FramingModel) -> None:
        self.model = model

    def __call__(self, doc: Document) -> Document:
        lang = (doc.language or "").split("-")[0].lower() or None
        if lang not in LANGUAGES:
            doc.warnings.append(
                f"framing: trained on {', '.join(LANGUAGES)}; roles and narratives for language "
                f"{lang or 'unknown'!r} are untested"
            )
        sentences = _sentences(doc)
        doc.entities, doc.narratives = self.model.analyse(doc.text, lang, sentences, doc.token_states)
        return doc


class CustomNarrativesStage:
    """Adds the scores of the user's own narratives (`unspin.framing.custom`) to `Document.narratives`,
    marked `"custom": true`, after the taxonomy's."""

    name = "custom_narratives"

    def __init__(self, scorer: Any) -> None:
        self.scorer = scorer

    def __call__(self, doc: Document) -> Document:
        sentences = _sentences(doc)
        doc.narratives = [*(doc.narratives or []), *self.scorer.score(doc.text, sentences)]
        return doc
