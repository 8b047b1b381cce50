"""What the technique decoder counts as a word: function words, word boundaries, recurring words.

Spans are cut at word boundaries (a hyphenated word or a contraction is one word), fragments made
only of function words are dropped, and content words that recur in an article raise Repetition.
"""

from __future__ import annotations

import re
from collections import Counter

WORD_RE = re.compile(r"\w+", re.UNICODE)

# Short function words that never make a phrase "recur" on their own.
STOPWORDS = frozenset(
    """a an and are as at be been but by can could did do does for from had has have he her his i if in into
    is it its may me might must my no nor not of on or our she should so than that the their them then there
    these they this those to too us was we were what when where which who whom why will with would you your
    said says also just about after all any been being more most other over such only own same some
    very""".split()
)

_HYPHENS = "-\u2010\u2011"
_JOINERS = _HYPHENS + "'\u2019"  # hyphens and apostrophes inside a word: so-called, don't, Russia's


def recurring_words(text: str) -> list[tuple[int, int]]:
    """Character ranges of content words that occur at least twice in the text (case-insensitive)."""
    words = [(m.start(), m.end(), m.group().lower()) for m in WORD_RE.finditer(text)]
    counts = Counter(w for _, _, w in words if len(w) >= 3 and w not in STOPWORDS and not w.isdigit())
    return [(a, b) for a, b, w in words if counts.get(w, 0) >= 2]


def function_words_only(phrase: str) -> bool:
    """True when every word of `phrase` is a function word or shorter than 3 letters ("for", "has",
    "a"), none of them in capitals ("NO" and "ALL" can be loaded). Such fragments are what a tagger's
    low thresholds leave behind; annotators mark them in under 1% of PTC spans."""
    return all(
        (w.lower() in STOPWORDS or len(w) < 3) and not (len(w) > 1 and w.isupper()) for w in WORD_RE.findall(phrase)
    )


def is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _in_word(text: str, i: int) -> bool:
    """Is text[i] part of a word: a word character, or a hyphen/apostrophe between two of them."""
    ch = text[i]
    if is_word_char(ch):
        return True
    return ch in _JOINERS and 0 < i < len(text) - 1 and is_word_char(text[i - 1]) and is_word_char(text[i + 1])


def snap_to_words(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen [start, end) to whole words (hyphenated words and contractions included), then trim
    surrounding whitespace and hyphens."""
    n = len(text)
    start, end = max(0, start), min(n, end)
    while start > 0 and start < n and _in_word(text, start) and _in_word(text, start - 1):
        start -= 1
    while end < n and end > 0 and _in_word(text, end) and _in_word(text, end - 1):
        end += 1
    while start < end and (text[start].isspace() or text[start] in _HYPHENS):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in _HYPHENS):
        end -= 1
    return start, end
