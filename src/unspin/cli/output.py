"""Writing documents out: JSON (one object, or an array for several), JSON lines, terminal view."""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from unspin.document import Document


class JsonWriter:
    """One JSON object for one document, a JSON array for several, streamed as documents arrive."""

    def __init__(self, out: TextIO | None = None, *, lines: bool = False, indent: int | None = 2) -> None:
        self.out = out or sys.stdout
        self.lines = lines
        self.indent = None if lines else indent
        self.pending: str | None = None
        self.count = 0

    def _dump(self, obj: dict[str, Any]) -> str:
        return json.dumps(obj, ensure_ascii=False, indent=self.indent)

    def write(self, obj: dict[str, Any]) -> None:
        text = self._dump(obj)
        self.count += 1
        if self.lines:
            self.out.write(text + "\n")
            self.out.flush()
            return
        if self.count == 1:
            self.pending = text
            return
        if self.count == 2:
            self.out.write("[\n" + self.pending + ",\n" + text)
            self.pending = None
        else:
            self.out.write(",\n" + text)
        self.out.flush()

    def close(self) -> None:
        if self.lines:
            return
        if self.count == 0:
            self.out.write("[]\n")
        elif self.count == 1:
            self.out.write(self.pending + "\n")
        else:
            self.out.write("\n]\n")
        self.out.flush()


def render_document(doc: Document, console: Console) -> None:
    """A readable terminal view: metadata, scores, and the text with technique spans highlighted."""
    meta = Table.grid(padding=(0, 2))
    meta.add_column(style="bold cyan")
    meta.add_column()
    for label, value in (
        ("source", doc.source),
        ("outlet", " / ".join(dict.fromkeys(v for v in (doc.outlet_name, doc.outlet) if v)) or None),
        ("author", doc.author),
        ("published", doc.published),
        ("language", f"{doc.language} ({doc.language_score:.2f})" if doc.language else None),
        ("url", doc.url),
        ("sentences", str(len(doc.sentences)) if doc.sentences else None),
        ("debris removed", ", ".join(sorted({r.reason for r in doc.removed})) if doc.removed else None),
        ("skipped", ", ".join(s for s in ("techniques", "claims") if not doc.ran(s)) or None),
    ):
        if value:
            meta.add_row(label, value)
    article = doc.scores.get("article") if isinstance(doc.scores, dict) else None
    if article:
        share = f"{article.get('share', 0):.0%} of the text"
        if article.get("min_score"):
            share += f" (spans with confidence {article['min_score']:.2f} or more)"
        meta.add_row("technique share", share)
    console.print(Panel(meta, title=Text(doc.title or "(untitled)", style="bold"), expand=True))
    for w in doc.warnings:
        console.print(f"[yellow]warning:[/] {w}")
    body = Text(doc.text)
    palette = _palette()
    for span in sorted(doc.spans, key=lambda s: (s.start, -s.end)):
        body.stylize(palette.get(span.technique, "reverse"), span.start, span.end)
    console.print(body)
    if doc.spans:
        table = Table(title="Techniques", show_lines=False)
        for col in ("technique", "score", "text"):
            table.add_column(col)
        for span in doc.spans:
            snippet = doc.text[span.start : span.end]
            table.add_row(
                Text(span.technique, style=palette.get(span.technique, "")),
                f"{span.score:.2f}",
                snippet if len(snippet) <= 80 else snippet[:77] + "...",
            )
        console.print(table)
    if doc.claims:
        table = Table(title="Check-worthy claims")
        table.add_column("score")
        table.add_column("sentence")
        for claim in doc.claims:
            table.add_row(f"{claim['score']:.2f}", doc.text[claim["start"] : claim["end"]])
        console.print(table)


def _palette() -> dict[str, str]:
    try:
        from unspin.techniques.taxonomy import TECHNIQUES  # type: ignore[import-not-found]
    except ImportError:
        return {}
    styles = {}
    for t in TECHNIQUES:
        colour = getattr(t, "colour", None) or getattr(t, "color", None)
        label = getattr(t, "label", None) or getattr(t, "ptc_label", None)
        if colour and label:
            styles[label] = f"on {colour}"
    return styles
