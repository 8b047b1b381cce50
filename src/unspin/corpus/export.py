"""Export stored documents: JSON lines, CSV, Parquet, SemEval label lines.

JSON lines carry each Document JSON whole, `entities` and `narratives` included (absent where the
framing stage did not run). CSV and Parquet sum them up as they do spans: counts and the leading labels
(`entities` and `narratives` empty, not 0, where the stage did not run); Parquet adds both as JSON."""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterable
from typing import Any, TextIO

from unspin.document import OffsetMap

CSV_FIELDS = [
    "corpus_id", "id", "source", "url", "outlet", "outlet_name", "title", "author", "published", "language",
    "article_score", "spans", "top_techniques", "claims", "words", "entities", "cast", "narratives",
]  # fmt: skip
CAST_SHOWN = 5  # entities with a main role named in the `cast` column


def cast_summary(entities: list[dict[str, Any]] | None) -> str | None:
    """'name: main role' for the entities given a main role, the highest scored first."""
    if not isinstance(entities, list):
        return None
    cast = [e for e in entities if isinstance(e, dict) and e.get("name") and e.get("main_role")]
    cast.sort(key=lambda e: -(e.get("score") or 0.0))
    return "; ".join(f"{e['name']}: {e['main_role']}" for e in cast[:CAST_SHOWN])


def narrative_summary(narratives: list[dict[str, Any]] | None) -> str | None:
    """The narratives served, each once, the highest scored first, separated by ';'."""
    if not isinstance(narratives, list):
        return None
    best: dict[str, float] = {}
    for n in narratives:
        if isinstance(n, dict) and isinstance(n.get("narrative"), str):
            best[n["narrative"]] = max(best.get(n["narrative"], 0.0), n.get("score") or 0.0)
    return ";".join(sorted(best, key=lambda label: -best[label]))


def flat_row(doc: dict[str, Any]) -> dict[str, Any]:
    article = (doc.get("scores") or {}).get("article") or {}
    mix = Counter(s["technique"] for s in (doc.get("spans") or []))
    return {
        "corpus_id": doc.get("corpus_id"),
        "id": doc.get("id"),
        "source": doc.get("source"),
        "url": doc.get("url"),
        "outlet": doc.get("outlet"),
        "outlet_name": doc.get("outlet_name"),
        "title": doc.get("title"),
        "author": doc.get("author"),
        "published": doc.get("published"),
        "language": doc.get("language"),
        "article_score": article.get("share") if isinstance(article, dict) else None,
        "spans": len(doc.get("spans") or []),
        "top_techniques": ";".join(t for t, _ in mix.most_common(3)),
        "claims": len(doc.get("claims") or []),
        "words": len(doc.get("text", "").split()),
        "entities": len(doc["entities"]) if isinstance(doc.get("entities"), list) else None,
        "cast": cast_summary(doc.get("entities")),
        "narratives": narrative_summary(doc.get("narratives")),
    }


def write_jsonl(docs: Iterable[dict[str, Any]], out: TextIO) -> int:
    n = 0
    for doc in docs:
        out.write(json.dumps(doc, ensure_ascii=False) + "\n")
        n += 1
    return n


def write_csv(docs: Iterable[dict[str, Any]], out: TextIO) -> int:
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS)
    writer.writeheader()
    n = 0
    for doc in docs:
        writer.writerow(flat_row(doc))
        n += 1
    return n


def write_parquet(docs: Iterable[dict[str, Any]], path: str) -> int:
    """One row per document: the flat fields, plus the text, and the spans, claims, entities and
    narratives as JSON (entities and narratives null where the framing stage did not run)."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as err:  # pragma: no cover - pyarrow is a dependency
        raise RuntimeError("Parquet export needs pyarrow (pip install pyarrow)") from err
    rows = []
    for doc in docs:
        row = flat_row(doc)
        row["text"] = doc.get("text")
        row["spans_json"] = json.dumps(doc.get("spans") or [], ensure_ascii=False)
        row["claims_json"] = json.dumps(doc.get("claims") or [], ensure_ascii=False)
        for field in ("entities", "narratives"):
            value = doc.get(field)
            row[f"{field}_json"] = json.dumps(value, ensure_ascii=False) if isinstance(value, list) else None
        rows.append(row)
    table = pa.Table.from_pylist(rows)
    pq.write_table(table, path)
    return len(rows)


def semeval_lines(doc: dict[str, Any]) -> list[str]:
    """FLC lines for one document, with offsets into the input as given (through the source map)."""
    article_id = str(doc.get("id") or doc.get("corpus_id"))
    if article_id.startswith("article"):
        article_id = article_id[len("article") :]
    source_map = OffsetMap([tuple(r) for r in doc.get("source_map", [])])
    lines = []
    for s in doc.get("spans") or []:
        start, end = source_map.span_to_source(s["start"], s["end"])
        lines.append(f"{article_id}\t{s['technique']}\t{start}\t{end}")
    return lines


def write_semeval(docs: Iterable[dict[str, Any]], out: TextIO) -> int:
    n = 0
    for doc in docs:
        for line in semeval_lines(doc):
            out.write(line + "\n")
        n += 1
    return n
