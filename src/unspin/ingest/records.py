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


def _hints(record: dict, source: str, warnings: list[str]) -> dict[str, str]:
    """The record's metadata fields as strings; a field of another shape is left out with a warning."""
    hints: dict[str, str] = {}
    for key in RECORD_FIELDS:
        value = record.get(key)
        if value is None or value == "":
            continue
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            warnings.append(f"field {key!r} is a JSON {type(value).__name__}, not text: left out")
            continue
        hints[key] = str(value)
    return hints


def record_to_input(record: Any, source: str) -> RawInput:
    """Turn one JSONL/CSV record into a RawInput, or raise InputError naming the record."""
    if not isinstance(record, dict):
        raise InputError(source, f"record is a JSON {type(record).__name__}, expected an object")
    html = record.get("html")
    text = record.get("text")
    if not (isinstance(html, str) and html.strip()) and not (isinstance(text, str) and text.strip()):
        raise InputError(source, "record has no non-empty 'text' or 'html' field")
    warnings: list[str] = []
    hints = _hints(record, source, warnings)
    if isinstance(html, str) and html.strip():
        return RawInput(source=source, content=html, kind="html", hints=hints, warnings=warnings)
    return RawInput(source=source, content=text, kind="text", hints=hints, warnings=warnings)


def read_csv(content: str, source: str) -> Iterator[RawInput | InputError]:
    """One article per CSV row; a malformed row is reported by the line it ends on, and reading goes on."""
    csv.field_size_limit(sys.maxsize)
    reader = csv.DictReader(io.StringIO(content, newline=""))
    try:
        fieldnames = reader.fieldnames
    except csv.Error as err:
        yield InputError(f"{source}:{reader.line_num}", f"malformed CSV header: {err}")
        return
    if not fieldnames or not ({"text", "html"} & set(fieldnames)):
        yield InputError(source, "CSV header has no 'text' or 'html' column")
        return
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as err:  # the reader starts afresh at the next line: later rows are kept
            yield InputError(f"{source}:{reader.line_num}", f"malformed CSV: {err}")
            continue
        # line_num counts physical lines read so far: the record ends on that line.
        where = f"{source}:{reader.line_num}"
        try:
            yield record_to_input(row, where)
        except InputError as err:
            yield err


def read_jsonl(content: str, source: str) -> Iterator[RawInput | InputError]:
    """One article per JSON line. Lines end at \\n only (as JSON Lines says): U+2028 and the other
    characters str.splitlines() also breaks at belong to the record."""
    for lineno, line in enumerate(content.split("\n"), start=1):
        if not line.strip(" \t\r"):
            continue
        where = f"{source}:{lineno}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            yield InputError(where, f"malformed JSON: {err.msg} (column {err.colno})")
            continue
        except RecursionError:
            yield InputError(where, "malformed JSON: nested too deeply to read")
            continue
        except ValueError:  # the one other failure json raises: an integer of thousands of digits
            yield InputError(where, "malformed JSON: a number too long to read")
            continue
        try:
            yield record_to_input(record, where)
        except InputError as err:
            yield err


def read_records(content: str, source: str, *, csv_format: bool) -> Iterator[RawInput | InputError]:
    """The records of a JSONL or CSV file."""
    return read_csv(content, source) if csv_format else read_jsonl(content, source)
