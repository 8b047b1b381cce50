"""Publication dates written in article text (bylines), normalised to ISO 8601."""

from __future__ import annotations

import re
from datetime import date, datetime

_MONTHS = {
    m: i
    for i, names in enumerate(
        [
            ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
            ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
            ("oct", "october"), ("nov", "november"), ("dec", "december"),
        ],
        start=1,
    )
    for m in names
}  # fmt: skip
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))

_PATTERNS = [
    # 2015-11-14, 2015/11/14
    (re.compile(r"\b(?P<y>\d{4})[-/](?P<m>\d{1,2})[-/](?P<d>\d{1,2})\b"), "ymd"),
    # 14.11.2015 (day first, as written in most of Europe and Russia)
    (re.compile(r"\b(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{4})\b"), "dmy"),
    # November 14, 2015 / Nov. 14 2015
    (
        re.compile(rf"\b(?P<mon>{_MONTH_RE})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>\d{{4}})\b", re.I),
        "mdy",
    ),
    # 14 November 2015
    (
        re.compile(rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<mon>{_MONTH_RE})\.?,?\s+(?P<y>\d{{4}})\b", re.I),
        "dmy",
    ),
]
_TIME = re.compile(r"\b(?P<h>[01]?\d|2[0-3]):(?P<mi>[0-5]\d)(?::(?P<s>[0-5]\d))?\s*(?P<ampm>[ap]\.?m\.?)?", re.I)


def find_date(text: str) -> tuple[str, int, int] | None:
    """First date in `text` as (ISO string, start, end), with a time if one follows within the text."""
    best = None
    for pattern, _order in _PATTERNS:
        m = pattern.search(text)
        if m and (best is None or m.start() < best[0].start()):
            best = (m, _order)
    if best is None:
        return None
    m, _ = best
    g = m.groupdict()
    month = int(g["m"]) if g.get("m") else _MONTHS[g["mon"].lower().rstrip(".")]
    try:
        d = date(int(g["y"]), month, int(g["d"]))
    except ValueError:
        return None
    iso = d.isoformat()
    end = m.end()
    t = _TIME.search(text, m.end())
    if t and len(text[m.end() : t.start()].strip(" ,|-–—at")) == 0:
        hour = int(t["h"])
        if t["ampm"]:
            pm = t["ampm"].lower().startswith("p")
            hour = hour % 12 + (12 if pm else 0)
        iso = datetime(d.year, d.month, d.day, hour, int(t["mi"]), int(t["s"] or 0)).isoformat(timespec="minutes")
        end = t.end()
    return iso, m.start(), end


def normalise_date(value: str | None) -> str | None:
    """ISO 8601 from a date written in any of the supported forms (or already ISO)."""
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?", value):
        return value.replace(" ", "T")
    found = find_date(value)
    return found[0] if found else None
