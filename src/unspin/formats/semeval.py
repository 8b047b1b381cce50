"""Read and write the SemEval-2020 Task 11 formats (Propaganda Techniques Corpus).

* Articles: a folder of `article<ID>.txt` files (UTF-8). Offsets are Python string indices into the
  file's text exactly as read (universal newlines are *not* applied, so `\\r\\n` counts as two).
* SI labels: `ID<TAB>start<TAB>end` per line (end exclusive).
* FLC/TC labels: `ID<TAB>Technique<TAB>start<TAB>end` per line; a TC template has `?` as technique.

Malformed input raises `SemEvalFormatError` naming the file and the line. Label files made by a
technique tagger over a folder of articles: `unspin.formats.semeval_tasks`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ARTICLE_RE = re.compile(r"^article(?P<id>[^./\\]+)\.txt$")

#: The 14 technique labels exactly as spelled in the PTC label files.
PTC_TECHNIQUES: tuple[str, ...] = (
    "Appeal_to_Authority",
    "Appeal_to_fear-prejudice",
    "Bandwagon,Reductio_ad_hitlerum",
    "Black-and-White_Fallacy",
    "Causal_Oversimplification",
    "Doubt",
    "Exaggeration,Minimisation",
    "Flag-Waving",
    "Loaded_Language",
    "Name_Calling,Labeling",
    "Repetition",
    "Slogans",
    "Thought-terminating_Cliches",
    "Whataboutism,Straw_Men,Red_Herring",
)
TC_UNKNOWN = "?"


class SemEvalFormatError(ValueError):
    """A SemEval file or folder does not follow the format; the message names the file and line."""


@dataclass(frozen=True, order=True)
class LabelSpan:
    """One line of a SemEval label file. `technique` is None for SI, `"?"` in a TC template; `line` is
    where it was read (0 when made in code), for error messages only."""

    article_id: str
    start: int
    end: int
    technique: str | None = None
    line: int = field(default=0, compare=False)


# --------------------------------------------------------------------------------------------- articles


def article_id_from_name(name: str) -> str | None:
    m = ARTICLE_RE.match(name)
    return m.group("id") if m else None


def read_article(path: str | Path) -> str:
    path = Path(path)
    try:
        with path.open("r", encoding="utf-8", newline="") as fh:
            return fh.read()
    except UnicodeDecodeError as exc:
        raise SemEvalFormatError(f"{path}: not valid UTF-8 ({exc.reason} at byte {exc.start})") from exc


def read_articles(articles_dir: str | Path) -> dict[str, str]:
    """All `article<ID>.txt` files of a folder as {ID: text}, sorted by ID."""
    folder = Path(articles_dir)
    if not folder.is_dir():
        raise SemEvalFormatError(f"{folder}: not a folder of article<ID>.txt files")
    out: dict[str, str] = {}
    for path in sorted(folder.iterdir()):
        aid = article_id_from_name(path.name)
        if aid is None or not path.is_file():
            continue
        out[aid] = read_article(path)
    if not out:
        raise SemEvalFormatError(f"{folder}: no article<ID>.txt files found")
    return dict(sorted(out.items()))


# --------------------------------------------------------------------------------------------- labels


def _parse_int(value: str, what: str, where: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise SemEvalFormatError(f"{where}: {what} {value!r} is not an integer") from None
    if n < 0:
        raise SemEvalFormatError(f"{where}: {what} {n} is negative")
    return n


MAX_REPORTED = 20  # malformed lines named in one error; the rest are counted


def raise_all(problems: list[str]) -> None:
    """One `SemEvalFormatError` naming every problem (the first `MAX_REPORTED` of them), one per line."""
    if not problems:
        return
    shown = problems[:MAX_REPORTED]
    more = len(problems) - len(shown)
    raise SemEvalFormatError("\n".join(shown) + (f"\n... and {more} more" if more else ""))


def parse_label_lines(
    lines: Iterable[str], *, kind: str, source: str = "<labels>", techniques: Iterable[str] | None = None
) -> list[LabelSpan]:
    """Parse label lines. `kind` is "si" (3 columns), "flc"/"tc" (4 columns; tc allows `?`). Every
    malformed line is named in one `SemEvalFormatError`, not only the first."""
    if kind not in ("si", "flc", "tc"):
        raise ValueError(f"unknown label kind {kind!r}: use si, flc or tc")
    allowed = set(techniques) if techniques is not None else set(PTC_TECHNIQUES)
    out: list[LabelSpan] = []
    problems: list[str] = []
    for lineno, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        try:
            out.append(_parse_label_line(line, lineno, kind, f"{source}, line {lineno}", allowed))
        except SemEvalFormatError as err:
            problems.append(str(err))
    raise_all(problems)
    return out


def _parse_label_line(line: str, lineno: int, kind: str, where: str, allowed: set[str]) -> LabelSpan:
    ncols = 3 if kind == "si" else 4
    cols = line.split("\t")
    if len(cols) != ncols:
        expected = "ID<TAB>start<TAB>end" if kind == "si" else "ID<TAB>Technique<TAB>start<TAB>end"
        raise SemEvalFormatError(
            f"{where}: expected {ncols} tab-separated columns ({expected}), got {len(cols)}: {line!r}"
        )
    aid = cols[0].strip()
    if aid.startswith("article"):  # "article111" and "111" name the same article, as in the file names
        aid = aid[len("article") :]
    if not aid:
        raise SemEvalFormatError(f"{where}: empty article ID")
    technique = None
    if kind != "si":
        technique = cols[1].strip()
        if technique == TC_UNKNOWN:
            if kind != "tc":
                raise SemEvalFormatError(f"{where}: technique '?' is only allowed in a TC template")
        elif technique not in allowed:
            raise SemEvalFormatError(f"{where}: unknown technique {technique!r}")
    start = _parse_int(cols[-2].strip(), "start", where)
    end = _parse_int(cols[-1].strip(), "end", where)
    if end <= start:
        raise SemEvalFormatError(f"{where}: end {end} is not after start {start}")
    return LabelSpan(aid, start, end, technique, lineno)


def read_labels(path: str | Path, kind: str, techniques: Iterable[str] | None = None) -> list[LabelSpan]:
    """Read a label file (`kind` = si | flc | tc), or a folder of per-article label files."""
    path = Path(path)
    if path.is_dir():
        out: list[LabelSpan] = []
        for p in sorted(path.glob("*.labels")):
            out.extend(read_labels(p, kind, techniques))
        return out
    if not path.is_file():
        raise SemEvalFormatError(f"{path}: label file not found")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark would otherwise glue itself to the first ID
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SemEvalFormatError(f"{path}, line {line}: not valid UTF-8 ({exc.reason})") from None
    # Label lines end in \n (or \r\n); other characters that str.splitlines() treats as line ends are data.
    return parse_label_lines(text.split("\n"), kind=kind, source=str(path), techniques=techniques)


def format_label(span: LabelSpan, kind: str) -> str:
    if kind == "si":
        return f"{span.article_id}\t{span.start}\t{span.end}"
    technique = span.technique if span.technique is not None else TC_UNKNOWN
    return f"{span.article_id}\t{technique}\t{span.start}\t{span.end}"


def write_labels(spans: Iterable[LabelSpan], out: str | Path, kind: str) -> int:
    """Write label lines (sorted by article, start, end); returns the number of lines written."""
    rows = sorted(spans, key=lambda s: (s.article_id, s.start, s.end, s.technique or ""))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="\n") as fh:
        for s in rows:
            fh.write(format_label(s, kind) + "\n")
    return len(rows)


def check_offsets(spans: Iterable[LabelSpan], articles: dict[str, str], source: str = "<labels>") -> None:
    """Raise if a span names an unknown article or runs past the end of its text (every such span named)."""
    problems: list[str] = []
    for s in spans:
        where = f"{source}, line {s.line}" if s.line else source
        if s.article_id not in articles:
            problems.append(f"{where}: article {s.article_id} has no article{s.article_id}.txt")
        elif s.end > len(articles[s.article_id]):
            problems.append(
                f"{where}: span {s.start}-{s.end} of article {s.article_id} runs past its end "
                f"({len(articles[s.article_id])} characters)"
            )
    raise_all(problems)
