"""The `segment` stage: paragraphs and sentences of the document, as offsets into its text."""

from __future__ import annotations

from unspin.document import Document, Segment
from unspin.segment.sentences import paragraph_spans, sentence_spans_in


class SegmentStage:
    """Paragraphs and sentences as offsets into the text."""

    name = "segment"

    def __call__(self, doc: Document) -> Document:
        doc.paragraphs = [Segment(s, e) for s, e in paragraph_spans(doc.text)]
        doc.sentences = [Segment(s, e) for p in doc.paragraphs for s, e in sentence_spans_in(doc.text, p.start, p.end)]
        return doc
