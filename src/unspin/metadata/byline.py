"""Bylines and datelines: the lines that name who wrote an article and when.

`parse_byline` reads one line; the cleaner uses it to recognise such lines (and drop them), and
`unspin.metadata.article` uses it again on the lines dropped to fill `author` and `published`.
"""

from __future__ import annotations

import re

from unspin.metadata.dates import find_date

_POSTED_BY = re.compile(r"^posted by\s+(?P<author>.{2,60}?)(\s+(at|on)\s+(?P<when>.{1,60}))?$", re.I)
_BY_LINE = re.compile(r"^by\s+(?P<author>[^\d|,;:]{2,60}?)(\s*[,|–—-]\s*(?P<rest>.*))?$", re.I)
_PIPE_BYLINE = re.compile(r"^(?P<author>[^|\d]{2,60}?)\s*\|(?P<rest>.*)$")
_NAME_PARTICLES = {"de", "van", "von", "der", "al", "bin", "da", "le", "la"}


def is_posted_by(line: str) -> bool:
    """A blog's "Posted by NAME at TIME" line (anywhere in the text, not only at its head)."""
    return _POSTED_BY.match(line) is not None


def looks_like_name(s: str) -> bool:
    words = s.split()
    if not 1 <= len(words) <= 5 or any(ch.isdigit() for ch in s):
        return False
    return all(w[0].isupper() or w.lower() in _NAME_PARTICLES for w in words)


def normalise_author(name: str) -> str:
    """'Andrei AKULOV' -> 'Andrei Akulov'; names written in capitals are shown as names."""
    name = " ".join(name.strip(" ,|-–—").split())
    out = []
    for w in name.split(" "):
        if len(w) > 1 and w.isupper():
            w = "-".join(p.capitalize() for p in w.split("-"))
        out.append(w)
    return " ".join(out)


def parse_byline(line: str) -> tuple[str | None, str | None] | None:
    """(author, ISO date) when the line is a byline or a dateline, else None."""
    s = " ".join(line.split())
    m = _PIPE_BYLINE.match(s)
    if m and looks_like_name(m["author"].strip()):
        found = find_date(m["rest"])
        if found:
            return normalise_author(m["author"]), found[0]
    m = _BY_LINE.match(s)
    if m and looks_like_name(m["author"].strip()):
        found = find_date(m["rest"] or "")
        return normalise_author(m["author"]), found[0] if found else None
    m = _POSTED_BY.match(s)
    if m:
        found = find_date(m["when"] or "")
        return normalise_author(m["author"]), found[0] if found else None
    found = find_date(s)
    if found:
        rest = (s[: found[1]] + s[found[2] :]).strip(" |,-–—")
        rest = re.sub(r"^(published|posted|updated|on|date)\b:?\s*", "", rest, flags=re.I).strip(" |,-–—")
        if not rest:
            return None, found[0]
    return None
