"""JSON Lines and CSV files: one article per record, each bad record reported by its line."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
from typing import Any

from unspin.errors import InputError
from unspin.ingest.raw import RawInput

RECORD_FIELDS = ("id", "url", "outlet", "published", "title", "author")


def record_to_input(record: Any, source: str) -> RawInput:
    """Turn one JSONL/CSV record into a RawInput, or raise InputError naming the record."""
    if not isinstance(record, dict):
        raise InputError(source, f"record is a JSON {type(record).__name__}, expected an object")
    html = record.get("html")
    text = record.get("text")
    if not (isinstance(html, str) and html.strip()) and not (isinstance(text, str) and text.strip()):
        raise InputError(source, "record has no non-empty 'text' or 'html' field")
    hints = {k: record[k] for k in RECORD_FIELDS if record.get(k) not in (None, "")}
    if "id" in hints:
        hints["id"] = str(hints["id"])
    if isinstance(html, str) and html.strip():
        return RawInput(source=source, content=html, kind="html", hints=hints)
    return RawInput(source=source, content=text, kind="text", hints=hints)


def read_records(content: str, source: str, *, csv_format: bool) -> Iterator[RawInput | InputError]:
    if csv_format:
        csv.field_size_limit(sys.maxsize)
        reader = csv.DictReader(io.StringIO(content, newline=""))
        if not reader.fieldnames or not ({"text", "html"} & set(reader.fieldnames)):
            yield InputError(source, "CSV header has no 'text' or 'html' column")
            return
        try:
            for row in reader:
                # line_num counts physical lines read so far: the record ends on that line.
                where = f"{source}:{reader.line_num}"
                try:
                    yield record_to_input(row, where)
                except InputError as err:
                    yield err
        except csv.Error as err:
            yield InputError(f"{source}:{reader.line_num}", f"malformed CSV: {err}")
        return
    for lineno, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{source}:{lineno}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            yield InputError(where, f"malformed JSON: {err.msg} (column {err.colno})")
            continue
        try:
            yield record_to_input(record, where)
        except InputError as err:
            yield err
