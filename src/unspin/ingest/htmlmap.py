"""Map extracted article text back to offsets in the raw HTML.

The extractors rebuild text from the DOM, so their output is not a slice of the page. We scan the raw
HTML for its visible text (outside tags, comments, scripts and styles), decode entities while
remembering where each character came from, and align the extracted text to that stream word by
word (a word counts as found when the word after it follows it in the page too). Every character
found gets the HTML offset it was written at; whitespace and the rare character the extractors
synthesised stay unmapped.
"""

from __future__ import annotations

import bisect
import html as htmllib
import re

from unspin.document import OffsetMap

# A comment, CDATA section, raw-text element or tag left open runs to the end of the page, as in a
# browser; matching it that way keeps the scan linear (an open '<!--' repeated 100,000 times would
# otherwise be scanned to the end of the page from every one of them). A '<' that starts no tag is text.
_TAG_OR_TEXT = re.compile(
    r"<!--.*?(?:-->|\Z)|<!\[CDATA\[.*?(?:\]\]>|\Z)"
    r"|<(script|style|noscript|template|textarea|title)\b[^>]*>.*?(?:</\1\s*>|\Z)"
    r"|<[A-Za-z/!?][^>]*(?:>|\Z)|<|[^<]+",
    re.S | re.I,
)
_ENTITY = re.compile(r"&(#\d{1,7};?|#[xX][0-9a-fA-F]{1,6};?|[A-Za-z][A-Za-z0-9]{1,31};?)")
_SPACE = re.compile(r"\s")
_TAG_NAME = re.compile(r"</?([A-Za-z][A-Za-z0-9]*)")
_INLINE = {
    "a", "b", "i", "em", "strong", "span", "sup", "sub", "u", "s", "font", "abbr", "time", "small", "mark",
    "cite", "q", "code", "bdi", "bdo", "dfn", "kbd", "samp", "var", "ins", "del", "wbr", "big", "tt",
}  # fmt: skip
_WORD = re.compile(r"\S+")
# How far ahead of the last match a word may be found (characters of visible text): keeps the
# alignment local, so that a word is not matched to a far-away repetition of it.
_WINDOW = 20000
_TRIES = 8


class _VisibleText:
    """Visible text of a page as one string, with segments mapping it back to HTML offsets."""

    def __init__(self, page: str) -> None:
        parts: list[str] = []
        # (stream_start, html_start, length, exact): exact segments map character by character;
        # a decoded entity maps all its characters to the entity's '&'.
        self.segments: list[tuple[int, int, int, bool]] = []
        n = 0

        def add(piece: str, html_start: int, exact: bool) -> None:
            nonlocal n
            if piece:
                parts.append(piece)
                self.segments.append((n, html_start, len(piece), exact))
                n += len(piece)

        for m in _TAG_OR_TEXT.finditer(page):
            piece = m.group(0)
            if piece.startswith("<") and len(piece) > 1:
                tag = _TAG_NAME.match(piece)
                if not (tag and tag.group(1).lower() in _INLINE) and not (self.segments and self.segments[-1][1] < 0):
                    # a block boundary separates words, as a browser renders it; one space for a run of
                    # them, so that markup nested deep does not push the text out of the search window
                    add(" ", -1, False)
                continue
            base, pos = m.start(), 0
            for em in _ENTITY.finditer(piece):
                add(piece[pos : em.start()], base + pos, True)
                add(htmllib.unescape(em.group(0)), base + em.start(), False)
                pos = em.end()
            add(piece[pos:], base + pos, True)
        self.text = _SPACE.sub(" ", "".join(parts))
        self._starts = [s[0] for s in self.segments]

    def html_offset(self, i: int) -> int:
        k = bisect.bisect_right(self._starts, i) - 1
        s0, h0, _n, exact = self.segments[k]
        if h0 < 0:
            return -1
        return h0 + (i - s0) if exact else h0


def html_offset_map(text: str, page: str) -> OffsetMap:
    """Runs mapping characters of `text` (extracted from `page`) to offsets in `page`."""
    visible = _VisibleText(page)
    stream = visible.text
    words = [(m.start(), m.group(0)) for m in _WORD.finditer(text)]
    runs: list[tuple[int, int, int]] = []
    pos = 0
    for w, (t_start, word) in enumerate(words):
        nxt = words[w + 1][1] if w + 1 < len(words) else None
        found, start = -1, pos
        for _ in range(_TRIES):
            cand = stream.find(word, start, pos + _WINDOW + len(word))
            if cand < 0:
                break
            after = stream[cand + len(word) : cand + len(word) + 200].lstrip()
            if nxt is None or after.startswith(nxt[:20]):
                found = cand
                break
            start = cand + 1
        if found < 0:
            continue
        for k in range(len(word)):
            src = visible.html_offset(found + k)
            if src < 0:
                continue
            t = t_start + k
            if runs and runs[-1][0] + runs[-1][2] == t and runs[-1][1] + runs[-1][2] == src:
                runs[-1] = (runs[-1][0], runs[-1][1], runs[-1][2] + 1)
            else:
                runs.append((t, src, 1))
        pos = found + len(word)
    return OffsetMap(runs)


def visible_text(page: str) -> str:
    """The text a browser would show of `page`, one line per block element, read straight from the
    markup without building a tree: the last resort for a page the HTML parser cannot hold (nested
    deeper than its limit)."""
    parts: list[str] = []
    for m in _TAG_OR_TEXT.finditer(page):
        piece = m.group(0)
        if piece.startswith("<") and len(piece) > 1:
            tag = _TAG_NAME.match(piece)
            if not (tag and tag.group(1).lower() in _INLINE):
                parts.append("\n")
            continue
        parts.append(htmllib.unescape(piece))
    lines = (" ".join(line.split()) for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line)
