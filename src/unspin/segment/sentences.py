"""Sentences and paragraphs as character offsets into the document text.

Paragraphs: blocks separated by blank lines; inside a block every line is its own paragraph, unless
the block is hard-wrapped prose (most lines end mid-sentence), which is one paragraph. Sentences:
syntok inside each paragraph (chosen by measurement on PTC, see bench/segmentation.py), so a line
break always ends a sentence except inside hard-wrapped prose.
"""

from __future__ import annotations

from syntok import segmenter

_TERMINAL = ".!?…:;\"'”’»)]"


def _blocks(text: str) -> list[list[tuple[int, int]]]:
    """Blocks of non-blank lines, each line as (start, end) without its newline."""
    blocks: list[list[tuple[int, int]]] = []
    current: list[tuple[int, int]] = []
    pos = 0
    for line in text.split("\n"):
        end = pos + len(line)
        if line.strip():
            current.append((pos, end))
        elif current:
            blocks.append(current)
            current = []
        pos = end + 1
    if current:
        blocks.append(current)
    return blocks


def _hard_wrapped(text: str, block: list[tuple[int, int]]) -> bool:
    if len(block) < 3:
        return False
    body = block[:-1]
    open_ended = sum(1 for s, e in body if not text[s:e].rstrip().endswith(tuple(_TERMINAL)))
    lengths = [e - s for s, e in body]
    return open_ended / len(body) >= 0.6 and max(lengths) <= 120


def trim_span(text: str, start: int, end: int) -> tuple[int, int]:
    """`(start, end)` clamped to the text and shrunk past surrounding whitespace."""
    start = max(0, min(start, len(text)))
    end = max(start, min(end, len(text)))
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for block in _blocks(text):
        if _hard_wrapped(text, block):
            out.append(trim_span(text, block[0][0], block[-1][1]))
        else:
            out.extend(trim_span(text, s, e) for s, e in block)
    return [p for p in out if p[1] > p[0]]


def sentence_spans_in(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentences of text[start:end] as offsets into `text`."""
    spans: list[tuple[int, int]] = []
    chunk = text[start:end]
    for para in segmenter.analyze(chunk):
        for sentence in para:
            tokens = [t for t in sentence if t.value]
            if not tokens:
                continue
            s = tokens[0].offset
            e = tokens[-1].offset + len(tokens[-1].value)
            if e > s:
                spans.append((start + s, start + e))
    if not spans and chunk.strip():
        spans.append(trim_span(text, start, end))
    return spans


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """All sentences of `text`, in order, as (start, end) offsets (end exclusive)."""
    spans: list[tuple[int, int]] = []
    for p_start, p_end in paragraph_spans(text):
        spans.extend(sentence_spans_in(text, p_start, p_end))
    return spans
