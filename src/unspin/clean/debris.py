"""Remove the debris that extracted article text still carries, keeping a map back to the input.

Cleaning works on whole lines and only ever *drops* lines: the clean text is a concatenation of
slices of the input, so every character maps back to the input exactly (`OffsetMap`). Each rule is
narrow (a full-line match or a strong pattern) because dropping a body sentence is worse than
leaving a stray line in. Every dropped line is reported with its reason (`CleanResult.removed`);
bylines, datelines and source links are among them, and `unspin.metadata.article` reads the author,
date and URL from those lines. The first line is kept as the title when it looks like one
(`CleanResult.title_span`), and the debris rules leave it alone.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from unspin.document import OffsetMap, Removal
from unspin.metadata.byline import is_posted_by, parse_byline
from unspin.metadata.outlets import caption_signatures, caption_suffix, is_url

# Whole lines that are interface text, compared lower-cased with punctuation and spaces squeezed.
UI_LINES = {
    "subscribe", "unsubscribe", "subscribe now", "newsfeed", "news feed", "log in or register",
    "login or register", "log in", "login", "sign in", "sign up", "register", "loader", "loading",
    "chats", "chat", "comments", "comment", "no comments", "post a comment", "leave a comment",
    "leave a reply", "show comments", "add comment", "view comments", "to participate in the discussion",
    "share", "share this", "share this article", "share this story", "share on facebook",
    "share on twitter", "tweet", "email", "e mail", "print", "print this page", "advertisement",
    "advertising", "sponsored", "sponsored content", "read more", "read next", "continue reading",
    "related", "related articles", "related posts", "related stories", "recommended", "most popular",
    "most read", "trending", "trending now", "newsletter", "sign up for our newsletter", "follow us",
    "follow us on twitter", "follow us on facebook", "accept cookies", "skip to content",
    "skip to main content", "menu", "search", "home", "back to top", "next", "previous", "older post",
    "newer post", "newer post older post home", "watch", "listen", "click here", "all rights reserved",
    "terms of use", "privacy policy", "contact us", "about us", "tags", "topics", "also read", "see also",
    "you may also like", "more", "close", "top stories", "latest news", "breaking news", "go to the mediabank",
    "image", "photo", "video", "audio", "gallery", "open in app", "download the app", "toggle navigation",
}  # fmt: skip

# Patterns that match a whole (stripped) line, with the reason reported for it.
LINE_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^(no|\d+)\s+comments?\s*:?$", re.I), "comment widget"),
    (re.compile(r"^(post|leave|add|write)\s+a\s+(comment|reply)\b.{0,40}$", re.I), "comment widget"),
    (re.compile(r"^subscribe to:\s*post comments", re.I), "comment widget"),
    (re.compile(r"^(email this|blogthis!?|share to (twitter|facebook|pinterest))", re.I), "share buttons"),
    (re.compile(r"^labels?:\s.{0,200}$", re.I), "tag list"),
    (re.compile(r"^(tags?|topics?|filed under)\s*:\s.{0,200}$", re.I), "tag list"),
    (re.compile(r"^(newer|older) post\b.{0,40}$", re.I), "navigation"),
    (re.compile(r"^(©|\(c\)\s|copyright\b).{0,300}$", re.I), "photo credit or copyright"),
    (re.compile(r"go to the mediabank", re.I), "photo credit"),
    (re.compile(r"^(photo|image|picture|photograph|illustration|video)(\s+credit)?\s*[:/|].{0,300}$", re.I),
     "photo credit"),
    (re.compile(r"^(image|photo) (caption|copyright)\b.{0,300}$", re.I), "photo credit"),
    (re.compile(r"^\(?(AP|AFP|Reuters|EPA|Getty Images?)\s+Photo\s*/.{0,200}\)?$", re.I), "photo credit"),
    (re.compile(r"^(read|see) (more|also)\s*[:|].{0,200}$", re.I), "related link"),
    (re.compile(r"^(related|also read|read next|recommended|more on this)\s*:.{0,200}$", re.I), "related link"),
    (re.compile(r"^the (views|opinions)( and opinions| and views)? expressed (in this|here|by the)", re.I),
     "disclaimer"),
    (re.compile(r"^(this (article|story|piece) (was )?(originally |first )?(published|appeared)|"
                r"(originally|first) (published|appeared)) (on|in|at|by)\b.{0,300}$", re.I), "source note"),
    (re.compile(r"^(source|via|originally published at)\s*:\s*\S+.{0,200}$", re.I), "source note"),
    (re.compile(r"^(click|tap) here\b.{0,80}$", re.I), "interface text"),
    (re.compile(r"^(follow|like) us on\b.{0,80}$", re.I), "interface text"),
    (re.compile(r"^(sign up|subscribe) (for|to) (our|the) (free )?(daily |weekly )?newsletters?\b.{0,120}$", re.I),
     "interface text"),
]  # fmt: skip

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_SMALL_WORDS = {
    "a", "an", "the", "of", "in", "on", "at", "to", "for", "and", "or", "but", "as", "by", "with", "from",
    "is", "are", "be", "vs", "via", "over", "into", "after", "before", "about", "than", "its", "his", "her",
}  # fmt: skip


@dataclass
class Line:
    start: int  # offset of the first character in the source
    end: int  # offset just past the content (before '\r\n' / '\n')
    next_start: int  # offset of the next line
    text: str

    @property
    def stripped(self) -> str:
        return self.text.strip()


@dataclass
class CleanResult:
    text: str
    source_map: OffsetMap  # clean text -> input
    removed: list[Removal] = field(default_factory=list)  # the lines dropped, offsets into the input
    title_span: tuple[int, int] | None = None  # the line kept as the title, offsets into the clean text


def split_lines(source: str) -> list[Line]:
    lines: list[Line] = []
    pos = 0
    n = len(source)
    while pos <= n:
        nl = source.find("\n", pos)
        if nl == -1:
            if pos < n:
                lines.append(Line(pos, n, n, source[pos:n]))
            break
        end = nl - 1 if nl > pos and source[nl - 1] == "\r" else nl
        lines.append(Line(pos, end, nl + 1, source[pos:end]))
        pos = nl + 1
    return lines


def _squeeze(s: str) -> str:
    s = re.sub(r"[^\w\s]", " ", s.lower())
    return " ".join(s.split())


@functools.lru_cache(maxsize=8192)  # a text uses few distinct letters; each is named once
def script_of(ch: str) -> str:
    """A coarse script name for a letter ('LATIN', 'CYRILLIC', 'ARABIC', 'CJK', ...)."""
    try:
        name = unicodedata.name(ch)
    except ValueError:
        return "OTHER"
    first = name.split(" ")[0]
    if first in ("CJK", "HIRAGANA", "KATAKANA", "HANGUL"):
        return "CJK"
    return first


def dominant_script(text: str) -> str | None:
    letters = Counter(ch for ch in text[:20000] if ch.isalpha())
    counts: Counter[str] = Counter()
    for ch, n in letters.items():
        counts[script_of(ch)] += n
    return counts.most_common(1)[0][0] if counts else None


def _is_foreign_script_line(s: str, main_script: str | None) -> bool:
    if main_script is None:
        return False
    letters = [ch for ch in s if ch.isalpha()]
    if len(letters) < 3 or len(s.split()) > 8 or "@" in s:
        return False
    foreign = sum(1 for ch in letters if script_of(ch) != main_script)
    return foreign / len(letters) > 0.8


def _headline_like(s: str) -> bool:
    """Short, no sentence-final full stop, most words capitalised: a teaser or a related-link title."""
    if not s or len(s) > 160 or s.endswith((".", ":", ";", ",")):
        return False
    words = _WORD.findall(s)
    if not 2 <= len(words) <= 22:
        return False
    content = [w for w in words if w.lower() not in _SMALL_WORDS]
    if not content:
        return False
    caps = sum(1 for w in content if w[0].isupper())
    return caps / len(content) >= 0.7


def _title_like(s: str) -> bool:
    return 0 < len(s) <= 250 and len(s.split()) <= 40


def clean_text(source: str, *, detect_title: bool = True, remove_debris: bool = True) -> CleanResult:
    lines = split_lines(source)
    main_script = dominant_script(source)
    nonblank = [i for i, ln in enumerate(lines) if ln.stripped]

    drop: dict[int, str] = {}

    title_idx = None
    if detect_title and nonblank:
        first = nonblank[0]
        s = lines[first].stripped
        nxt = lines[first + 1] if first + 1 < len(lines) else None
        if _title_like(s) and (
            nxt is None or not nxt.stripped or not s.endswith(".") or parse_byline(nxt.stripped) is not None
        ):
            title_idx = first

    if remove_debris:
        # lines signed " - Name" by an outlet are photo captions
        _, caption_names = caption_signatures(ln.stripped for ln in lines)
        head = [i for i in nonblank if title_idx is None or i > title_idx][:4]
        tail = set(nonblank[-6:])
        prev_reason: str | None = None
        for i in nonblank:
            if i == title_idx:
                prev_reason = None
                continue
            s = lines[i].stripped
            reason = _line_reason(s, main_script, caption_names)
            if reason is None and ((i in head and parse_byline(s) is not None) or is_posted_by(s)):
                reason = "byline"
            if reason is None and i in tail and is_url(s.rstrip(" |")):
                # a bare URL at the end is the source the text was taken from; inside the body it is
                # a reference and stays
                reason = "source link"
            if reason is None and _is_foreign_script_line(s, main_script) and (prev_reason or i in tail):
                # UI strings in another script sit among other debris or at the very end
                reason = "other script"
            if reason is None and prev_reason in ("caption", "photo credit") and _headline_like(s):
                reason = "related link"
            if reason is None and re.fullmatch(r"\d{1,6}", s) and prev_reason is not None:
                reason = "counter"
            if reason is not None:
                drop[i] = reason
            prev_reason = reason
        # A counter line just before other debris ("0" above "To participate in the discussion").
        for i in nonblank:
            if i not in drop and re.fullmatch(r"\d{1,6}", lines[i].stripped):
                later = [j for j in nonblank if j > i][:1]
                if later and later[0] in drop:
                    drop[i] = "counter"

    text, source_map, title_span = _assemble(source, lines, drop, title_idx)
    removed = [Removal(lines[i].start, lines[i].end, reason) for i, reason in sorted(drop.items())]
    return CleanResult(text, source_map, removed, title_span)


def _assemble(
    source: str, lines: list[Line], drop: dict[int, str], title_idx: int | None
) -> tuple[str, OffsetMap, tuple[int, int] | None]:
    """Concatenate the kept lines. Where nothing was dropped the text is the input itself: blank lines
    and spaces are kept as they are, so offsets do not move. Where lines were dropped, the gap they
    leave becomes at most one blank line."""
    runs: list[tuple[int, int, int]] = []
    out_len = 0
    title_span = None
    kept = [i for i, ln in enumerate(lines) if ln.stripped and i not in drop]
    if not kept:
        return "", OffsetMap(), None

    def add(src_start: int, length: int) -> None:
        nonlocal out_len
        if length > 0:
            runs.append((out_len, src_start, length))
            out_len += length

    prev = None
    for i in kept:
        gap = range(0 if prev is None else prev + 1, i)
        dropped_in_gap = any(j in drop for j in gap)
        if prev is None:
            if not dropped_in_gap:
                add(0, lines[i].start)  # leading blank lines / spaces, as they were
        elif not dropped_in_gap:
            add(lines[prev].end, lines[i].start - lines[prev].end)  # the newline(s) between, verbatim
        else:
            # newline ending the previous kept line, one blank line if the gap had any, and the
            # newline just before this line
            add(lines[prev].end, lines[prev].next_start - lines[prev].end)
            blanks = [j for j in gap if j not in drop]
            if blanks:
                b = lines[blanks[0]]
                add(b.next_start - 1, 1) if b.next_start - 1 >= b.end else None
        if i == title_idx:
            lead = len(lines[i].text) - len(lines[i].text.lstrip())
            title_span = (out_len + lead, out_len + lead + len(lines[i].stripped))
        add(lines[i].start, lines[i].end - lines[i].start)
        prev = i
    text = "".join(source[s0 : s0 + n] for _, s0, n in runs)
    stripped_len = len(text.rstrip())
    if stripped_len < len(text):
        text = text[:stripped_len]
        runs = _truncate_runs(runs, stripped_len)
    return text, OffsetMap(_merge_runs(runs)), title_span


def _truncate_runs(runs: list[tuple[int, int, int]], length: int) -> list[tuple[int, int, int]]:
    out = []
    for t0, s0, n in runs:
        if t0 >= length:
            break
        out.append((t0, s0, min(n, length - t0)))
    return out


def _merge_runs(runs: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    merged: list[tuple[int, int, int]] = []
    for t0, s0, n in runs:
        if n <= 0:
            continue
        if merged:
            pt, ps, pn = merged[-1]
            if pt + pn == t0 and ps + pn == s0:
                merged[-1] = (pt, ps, pn + n)
                continue
        merged.append((t0, s0, n))
    return merged


def _line_reason(s: str, main_script: str | None, caption_names: set[str]) -> str | None:
    s = " ".join(s.split())  # no-break and other odd spaces count as spaces
    squeezed = _squeeze(s)
    if squeezed in UI_LINES:
        return "interface text"
    for pattern, reason in LINE_PATTERNS:
        if pattern.search(s):
            return reason
    if caption_names and caption_suffix(s) in caption_names:
        return "caption"
    return None
