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
        ("skipped", ", ".join(s for s in ("techniques", "claims", "framing") if not doc.ran(s)) or None),
    ):
        if value:
            meta.add_row(label, value)
    article = doc.scores.get("article") if isinstance(doc.scores, dict) else None
    if article:
        share = f"{article.get('share', 0):.0%} of the text"
        if article.get("min_score"):
            share += f" (spans with confidence {article['min_score']:.2f} or more)"
        meta.add_row("technique share", share)
        if article.get("view") == "precise":
            more = article.get("more_spans", 0)
            shown = f"{len(doc.spans)} of {len(doc.spans) + more}, the surer ones"
            meta.add_row("spans shown", shown + ("; --all-spans for all" if more else ""))
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
                Text(snippet if len(snippet) <= 80 else snippet[:77] + "..."),
            )
        console.print(table)
    if doc.claims:
        table = Table(title="Check-worthy claims")
        table.add_column("score")
        table.add_column("sentence")
        for claim in doc.claims:
            table.add_row(f"{claim['score']:.2f}", Text(doc.text[claim["start"] : claim["end"]]))
        console.print(table)
    _render_framing(doc, console)


# Terminal colours of the three main roles (the role is always written out too).
ROLE_STYLES = {"Protagonist": "bold blue", "Antagonist": "bold red", "Innocent": "bold magenta"}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _score(value: Any) -> str:
    number = _number(value)
    return "" if number is None else f"{number:.2f}"


def _shorten(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 2]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut[:-1]).rstrip() + "..."  # whole words where it can


def _offsets(text: str, items: Any) -> list[tuple[int, int]]:
    spans = []
    for item in items if isinstance(items, list) else []:
        start, end = (item.get("start"), item.get("end")) if isinstance(item, dict) else (None, None)
        if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text):
            spans.append((start, end))
    return sorted(set(spans))


def _by_score(items: list[Any]) -> list[dict[str, Any]]:
    rows = [x for x in items if isinstance(x, dict)]
    return sorted(rows, key=lambda x: -(_number(x.get("score")) or 0.0))


def _cast_table(doc: Document, entities: list[Any]) -> Table:
    table = Table(title="Cast", caption=None if entities else "no entity cast in a role")
    for col in ("entity", "main role", "fine roles", "mentions"):
        table.add_column(col, justify="right" if col == "mentions" else "left")
    rows = _by_score(entities)
    rows.sort(key=lambda e: e.get("main_role") not in ROLE_STYLES)  # the unframed last, stable otherwise
    for e in rows:
        role_name = e.get("main_role") if e.get("main_role") in ROLE_STYLES else None
        role = Text(role_name or "no role", style=ROLE_STYLES.get(role_name or "", "dim"))
        if role_name and _number(e.get("score")) is not None:
            role.append(f" {_score(e.get('score'))}")
        fine = _by_score(e.get("roles") or []) if role_name else []
        fine_text = ", ".join(f"{r.get('role')} {_score(r.get('score'))}".strip() for r in fine[:3])
        table.add_row(
            Text(str(e.get("name") or "")), role, Text(fine_text), str(len(_offsets(doc.text, e.get("mentions"))))
        )
    return table


def _narratives_table(doc: Document, narratives: list[Any]) -> Table:
    table = Table(title="Narratives", caption=None if narratives else "no narrative found")
    for col in ("narrative", "subnarrative", "score", "evidence"):
        table.add_column(col)
    for n in _by_score(narratives):
        label = str(n.get("narrative") or "")
        sub = n.get("subnarrative") if isinstance(n.get("subnarrative"), str) else ""
        if sub.startswith(label + ":"):  # "Narrative: Subnarrative" -> the new part
            sub = sub[len(label) + 1 :].strip()
        evidence = _offsets(doc.text, n.get("evidence"))
        first = _shorten(doc.text[evidence[0][0] : evidence[0][1]]) if evidence else ""
        table.add_row(Text(label), Text(sub), _score(n.get("score")), Text(first))
    return table


def _render_framing(doc: Document, console: Console) -> None:
    """The cast and the narratives, when the framing stage ran (nothing when the fields are None). Every cell
    from the article is a `Text`: names and sentences must never be read as console markup."""
    if doc.entities is not None:
        console.print(_cast_table(doc, doc.entities))
    if doc.narratives is not None:
        console.print(_narratives_table(doc, doc.narratives))


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
