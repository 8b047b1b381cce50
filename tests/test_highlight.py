"""Highlighting: how overlapping spans cut the article text into pieces."""

from __future__ import annotations

from unspin.web.highlight import split_pieces


def test_pieces_keep_overlapping_spans_visible() -> None:
    text = "abcdefghij"
    spans = [{"start": 1, "end": 6}, {"start": 3, "end": 8}, {"start": 3, "end": 4}]
    pieces = [(p.text, p.spans) for p in split_pieces(text, spans)]
    assert pieces == [("a", []), ("bc", [0]), ("d", [0, 1, 2]), ("ef", [0, 1]), ("gh", [1]), ("ij", [])]
    assert "".join(p for p, _ in pieces) == text
