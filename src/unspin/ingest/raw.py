"""One article as it arrived, before extraction and cleaning, and the test that tells HTML from text."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RawInput:
    """One article as it arrived, before extraction and cleaning."""

    source: str
    content: str
    kind: str  # "text" or "html"
    hints: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def looks_like_html(content: str) -> bool:
    head = content[:2048].lstrip().lower()
    if head.startswith(("<!doctype html", "<html", "<?xml")) and "<html" in content[:4096].lower():
        return True
    if head.startswith("<"):
        lowered = content[:20000].lower()
        return any(tag in lowered for tag in ("<body", "<p>", "<p ", "<div", "<article", "<head"))
    return False
