"""Outlets: domains from URLs, readable names that map to a domain, and the names that sign captions."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from urllib.parse import urlsplit

_URL = re.compile(r"^(?:https?://|www\.)\S+$", re.IGNORECASE)
_CAPTION_SUFFIX = re.compile(r"\s[-–—]\s(?P<name>[A-Z][\w&'. ]{1,40})\s*$")
_CREDIT_NAME = re.compile(r"^(?:©|\(c\))\s*(?P<name>[^/|\n]{2,40}?)\s*(?:/|\||$)", re.I)


def domain_of(url: str | None) -> str | None:
    """`https://www.example.co.uk/a/b` -> `example.co.uk` (a leading `www.`/`m.`/`amp.` is dropped)."""
    if not url:
        return None
    url = url.strip()
    if not re.match(r"^[a-z][a-z0-9+.-]*://", url, re.IGNORECASE):
        url = "http://" + url
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    if not host or "." not in host:
        return None
    host = host.lower().rstrip(".")
    for prefix in ("www.", "m.", "amp.", "mobile."):
        if host.startswith(prefix) and host.count(".") >= 2:
            host = host[len(prefix) :]
            break
    return host


def is_url(line: str) -> bool:
    return bool(_URL.match(line.strip()))


@lru_cache(maxsize=1)
def known_outlets() -> dict[str, str]:
    """Lower-cased outlet name -> domain, from the list shipped with unspin (names as outlets sign)."""
    data = json.loads(resources.files("unspin.metadata").joinpath("outlets.json").read_text(encoding="utf-8"))
    table: dict[str, str] = {}
    for domain, names in data.items():
        for name in names:
            table[name.lower()] = domain
    return table


def outlet_domain_for_name(name: str | None) -> str | None:
    if not name:
        return None
    return known_outlets().get(name.strip().lower())


@lru_cache(maxsize=1)
def _names_by_domain() -> dict[str, str]:
    data = json.loads(resources.files("unspin.metadata").joinpath("outlets.json").read_text(encoding="utf-8"))
    return {domain: names[0] for domain, names in data.items() if names}


def outlet_name_for_domain(domain: str | None) -> str | None:
    if not domain:
        return None
    return _names_by_domain().get(domain.lower())


def caption_suffix(line: str) -> str | None:
    """The NAME of a line ending in " - NAME" (how photo captions are signed), else None."""
    m = _CAPTION_SUFFIX.search(line)
    return m["name"].strip() if m else None


def caption_signatures(lines: Iterable[str]) -> tuple[list[str], set[str]]:
    """Outlet names that sign captions, from a text's stripped lines: `(credit_names, caption_names)`.

    Credit names are the NAME of every "© NAME / ..." line. Caption names are the " - NAME" suffixes
    that are an outlet's: the one in a © credit, or, when the suffix ends two or more lines, one on the
    list of known outlets (lists such as "Stage 1 - Interlagos" repeat too).
    """
    lines = list(lines)
    credit_names = [m["name"].strip() for s in lines if (m := _CREDIT_NAME.match(s))]
    suffixes = Counter(name for s in lines if (name := caption_suffix(s)) is not None)
    caption_names = {
        name
        for name, count in suffixes.items()
        if any(name.lower().startswith(c.lower()) for c in credit_names)
        or (count >= 2 and outlet_domain_for_name(name) is not None)
    }
    return credit_names, caption_names
