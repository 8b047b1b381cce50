"""Read and write the SemEval-2025 Task 10 files (entity framing, narratives, dominant narrative).

* Documents: a folder of ``<article_id>`` text files (``EN_UA_103861.txt``, ...), UTF-8; the article id is the
  file name, extension included, as the label files name it. Texts are kept exactly as stored (``\\r\\n`` stays).
* Subtask 1 (roles): ``article_id<TAB>mention<TAB>start<TAB>end[<TAB>main_role<TAB>fine_role...]``; the 4-column
  form is the input (mentions to answer), the longer one gold or predictions. The file's ``end`` is INCLUSIVE;
  inside unspin a ``Mention`` has ``end`` exclusive, and the file's own numbers are kept for writing back and for
  matching rows by key (``Mention.key``).
* Subtask 2 (narratives): ``article_id<TAB>narrative;narrative...<TAB>subnarrative;subnarrative...``.
* Subtask 3 (dominant narrative): ``article_id<TAB>narrative<TAB>subnarrative<TAB>explanation``.

Offsets of the task's mention files. The annotation files do not always count characters the way Python does:
some offsets count UTF-16 code units (a character outside the Basic Multilingual Plane, such as an emoji, counts
two) and some count every line end as ``\\r\\n`` in documents stored with ``\\n``. When documents are given, each
mention is located in the document under the first of these readings in which the mention's text is found at its
offsets: as written, UTF-16, CRLF, UTF-16 and CRLF. ``Mention.offsets`` says which one was used, and
``Mention.start``/``end`` are then Python offsets into the document as read; a mention found under none of them is
a problem (reported and skipped), never guessed at.

Bad lines do not stop a reader: each is reported as a ``FileProblem`` (file, line, reason) and the rest is kept.
"""

from __future__ import annotations

import difflib
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from unspin.framing.taxonomy import FINE_ROLES, MAIN_ROLES, NARRATIVES, SUBNARRATIVES, main_role_of

ROLE_COLUMNS = "article_id<TAB>mention<TAB>start<TAB>end[<TAB>main_role<TAB>fine_role...]"
NARRATIVE_COLUMNS = "article_id<TAB>narrative;...<TAB>subnarrative;..."
DOMINANT_COLUMNS = "article_id<TAB>narrative<TAB>subnarrative<TAB>explanation"
#: how the file's offsets were read, in the order they are tried (see the module's docstring)
OFFSET_READINGS: tuple[str, ...] = ("exact", "utf16", "crlf", "utf16+crlf")
_MAIN_SET = frozenset(MAIN_ROLES)
_FINE_SET = frozenset(FINE_ROLES)
_NARRATIVE_SET = frozenset(NARRATIVES)
_SUBNARRATIVE_SET = frozenset(SUBNARRATIVES)


class SemEval2025FormatError(ValueError):
    """A SemEval-2025 file or folder cannot be read at all; the message names it (and the line, if any)."""


@dataclass(frozen=True)
class FileProblem:
    """One thing wrong with one line of a file (line 0: the file as a whole)."""

    path: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}, line {self.line}: {self.reason}" if self.line else f"{self.path}: {self.reason}"


@dataclass(frozen=True)
class Mention:
    """One entity mention of a subtask-1 file.

    ``start``/``end`` (end exclusive) index the document as read when documents were given (see ``offsets``),
    else they are the file's numbers with ``end`` made exclusive. ``file_start``/``file_end`` are the numbers as
    written in the file (end inclusive): writers write them back and scorers match rows on ``key``.
    ``main_role`` is None in a mentions-only (4-column) file."""

    article_id: str
    text: str
    start: int
    end: int
    main_role: str | None = None
    fine_roles: tuple[str, ...] = ()
    line: int = 0
    file_start: int | None = None
    file_end: int | None = None
    offsets: str = "exact"

    @property
    def given_start(self) -> int:
        return self.start if self.file_start is None else self.file_start

    @property
    def given_end(self) -> int:
        """The end offset as the file writes it (inclusive)."""
        return self.end - 1 if self.file_end is None else self.file_end

    @property
    def key(self) -> tuple[str, int, int]:
        """(article_id, start, end) as written in the file: how rows of two files are paired."""
        return (self.article_id, self.given_start, self.given_end)


@dataclass(frozen=True)
class NarrativeLabels:
    """The labels of one article in a subtask-2 file, stripped and without duplicates, in file order."""

    narratives: tuple[str, ...]
    subnarratives: tuple[str, ...]
    line: int = 0


@dataclass(frozen=True)
class DominantNarrative:
    """One line of a subtask-3 file; ``subnarrative`` is None where the file says ``none``."""

    article_id: str
    narrative: str
    subnarrative: str | None
    explanation: str
    line: int = 0


# --------------------------------------------------------------------------------------------- documents


def read_documents(folder: str | Path) -> dict[str, str]:
    """All ``*.txt`` documents of a folder (or of its ``raw-documents/`` subfolder) as {article_id: text}.

    The article id is the file name (``EN_UA_103861.txt``); texts are read as UTF-8 without any newline
    translation, so offsets count ``\\r\\n`` as two characters, as the files store it."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SemEval2025FormatError(f"{folder}: not a folder of documents")
    if (folder / "raw-documents").is_dir():
        folder = folder / "raw-documents"
    docs: dict[str, str] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix != ".txt" or not path.is_file():
            continue
        try:
            with path.open("r", encoding="utf-8", newline="") as fh:
                docs[path.name] = fh.read()
        except UnicodeDecodeError as exc:
            raise SemEval2025FormatError(f"{path}: not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    if not docs:
        raise SemEval2025FormatError(f"{folder}: no .txt documents found")
    return docs


def _read_lines(path: str | Path) -> list[str]:
    """The lines of a label file without their line ends (``\\n``, ``\\r\\n`` or ``\\r``)."""
    path = Path(path)
    try:
        with path.open("r", encoding="utf-8") as fh:
            return [line.rstrip("\n") for line in fh]
    except UnicodeDecodeError as exc:
        raise SemEval2025FormatError(f"{path}: not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    except IsADirectoryError:
        raise SemEval2025FormatError(f"{path}: is a folder, not a label file") from None
    except OSError as exc:
        raise SemEval2025FormatError(f"{path}: cannot be read ({exc.strerror})") from None


# --------------------------------------------------------------------------------------------- offsets


def _positions(text: str, utf16: bool, crlf: bool) -> list[int]:
    """positions[i]: where character i of ``text`` starts when counted under the given reading."""
    out = [0] * (len(text) + 1)
    pos = 0
    prev = ""
    for i, ch in enumerate(text):
        out[i] = pos
        pos += 1
        if utf16 and ord(ch) > 0xFFFF:
            pos += 1
        if crlf and ch == "\n" and prev != "\r":
            pos += 1
        prev = ch
    out[len(text)] = pos
    return out


class _Locator:
    """Finds a mention in its document under the offset readings of OFFSET_READINGS (cached per document)."""

    def __init__(self, documents: dict[str, str]) -> None:
        self.documents = documents
        self._cache: dict[tuple[str, str], list[int] | None] = {}

    def _reading(self, article_id: str, reading: str) -> list[int] | None:
        key = (article_id, reading)
        if key not in self._cache:
            text = self.documents[article_id]
            utf16 = "utf16" in reading and any(ord(c) > 0xFFFF for c in text)
            crlf = "crlf" in reading and text.count("\n") > text.count("\r\n")
            wanted = reading.split("+")
            # a reading that counts this document exactly as Python does adds nothing: skip it
            useful = all((r == "utf16" and utf16) or (r == "crlf" and crlf) for r in wanted)
            self._cache[key] = _positions(text, utf16, crlf) if useful else None
        return self._cache[key]

    def locate(self, article_id: str, mention: str, start: int, end_incl: int) -> tuple[int, int, str] | None:
        """(start, end exclusive, reading) of the mention in the document as read, or None."""
        text = self.documents[article_id]
        if 0 <= start <= end_incl < len(text) and text[start : end_incl + 1] == mention:
            return start, end_incl + 1, "exact"
        for reading in OFFSET_READINGS[1:]:
            pos = self._reading(article_id, reading)
            if pos is None:
                continue
            s = bisect_left(pos, start)
            e = bisect_left(pos, end_incl + 1)
            if s < len(pos) and e < len(pos) and pos[s] == start and pos[e] == end_incl + 1:
                if text[s:e] == mention:
                    return s, e, reading
        return None


def _mismatch_reason(text: str, mention: str, start: int, end_incl: int) -> str:
    if start >= len(text) or end_incl >= len(text):
        return (
            f"offsets {start}-{end_incl} fall outside the document ({len(text)} characters; the file's end is "
            f"inclusive)"
        )
    found = text[start : end_incl + 1]
    return f"mention {mention!r} does not match the document at {start}-{end_incl}, which holds {found!r}"


# --------------------------------------------------------------------------------------------- subtask 1


def _suggest(label: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(label, list(choices), n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _role_problems(main: str, fines: Sequence[str], four_columns: bool) -> list[str]:
    """What is wrong with the role columns of one line (empty when nothing is)."""
    if four_columns:
        return []
    out = []
    if not main:
        out.append("no main role in column 5")
    elif main not in _MAIN_SET:
        out.append(f"unknown main role {main!r}: use one of {', '.join(MAIN_ROLES)}{_suggest(main, MAIN_ROLES)}")
    if not fines:
        out.append("no fine role after the main role")
    for fine in fines:
        if fine not in _FINE_SET:
            out.append(f"unknown fine role {fine!r}{_suggest(fine, FINE_ROLES)}")
        elif main in _MAIN_SET and main_role_of(fine) != main:
            out.append(f"fine role {fine!r} belongs to {main_role_of(fine)}, not to {main}")
    return out


def _dedupe(labels: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(x for x in labels if x))


def _parse_offsets(cols: list[str]) -> tuple[int, int, str | None] | str:
    """(start, end, what is odd about them or None), or why they cannot be read at all."""
    try:
        start, end = int(cols[2]), int(cols[3])
    except ValueError:
        return f"start and end must be integers, found {cols[2]!r} and {cols[3]!r}"
    if start < 0 or end < start:
        return start, end, f"offsets {start}-{end} are not a span (the file's end is inclusive: 0 <= start <= end)"
    return start, end, None


def _parse_role_line(
    cols: list[str], lenient: bool, locator: _Locator | None, line: int
) -> tuple[Mention | None, list[str]]:
    """The mention of one line (None when the line is skipped) and the reasons to report about it."""
    if len(cols) < 4:
        return None, [f"expected {ROLE_COLUMNS}, found {len(cols)} column(s)"]
    offsets = _parse_offsets(cols)
    if isinstance(offsets, str):
        return None, [offsets]
    start, end_incl, odd = offsets
    article_id, text = cols[0].strip(), cols[1]
    main = cols[4].strip() if len(cols) > 4 else ""
    fines = _dedupe(r.strip() for r in cols[5:])
    reasons = ([] if article_id else ["no article id in column 1"]) + ([odd] if odd else [])
    reasons += _role_problems(main, fines, len(cols) == 4)
    if reasons and (not lenient or (odd and locator is not None)):
        return None, reasons
    found: tuple[int, int, str] | None = (start, end_incl + 1, "unchecked")
    if locator is not None:
        if article_id not in locator.documents:
            return None, [*reasons, f"unknown article {article_id!r}: not among the documents"]
        found = locator.locate(article_id, text, start, end_incl)
        if found is None:
            return None, [*reasons, _mismatch_reason(locator.documents[article_id], text, start, end_incl)]
    s, e, reading = found
    role = None if len(cols) == 4 else main
    return Mention(article_id, text, s, e, role, fines, line, start, end_incl, reading), reasons


def read_mentions(
    path: str | Path, documents: dict[str, str] | None = None, *, lenient: bool = False
) -> tuple[list[Mention], list[FileProblem]]:
    """Read a subtask-1 file: the 4-column mentions or the 5+-column gold or predictions.

    With ``documents`` ({article_id: text}, see ``read_documents``), every mention must name one of them and its
    text must be found at its offsets (see the module's docstring); ``start``/``end`` then index that text.

    Returns the mentions in file order and the problems found. A line with a problem is skipped, except that
    with ``lenient=True`` (used by the scorer, to score exactly what the task's scorers score) a line whose
    labels are merely odd (an unknown or missing role, a fine role of another main role, an empty article id,
    and without documents a start after the end) is reported and kept as written; lines that cannot be read
    (too few columns, offsets that are not integers) and, with documents, mentions not found in them are always
    skipped. A header row (``article_id`` first) is skipped. A key (article_id, start, end) seen twice is
    reported; both lines are kept."""
    src = str(path)
    problems: list[FileProblem] = []
    mentions: list[Mention] = []
    seen: dict[tuple[str, int, int], int] = {}
    locator = _Locator(documents) if documents is not None else None
    for lineno, line in enumerate(_read_lines(path), start=1):
        cols = line.split("\t")
        if not line.strip() or cols[0] == "article_id":
            continue
        mention, reasons = _parse_role_line(cols, lenient, locator, lineno)
        problems.extend(FileProblem(src, lineno, r) for r in reasons)
        if mention is None:
            continue
        if mention.key in seen:
            where = f"{mention.given_start}-{mention.given_end} of {mention.article_id}"
            problems.append(FileProblem(src, lineno, f"mention {where} repeats line {seen[mention.key]}"))
        seen.setdefault(mention.key, lineno)
        mentions.append(mention)
    return mentions, problems


def format_role_line(mention: Mention, main_role: str, fine_roles: Sequence[str]) -> str:
    """One line of a subtask-1 predictions file (no line end), with the mention's offsets as the file gave them
    (end inclusive). Raises ValueError for a label outside the taxonomy or no fine role."""
    if main_role not in _MAIN_SET:
        raise ValueError(f"unknown main role {main_role!r}: use one of {', '.join(MAIN_ROLES)}")
    fines = _dedupe(fine_roles)
    if not fines:
        raise ValueError(f"{mention.article_id} {mention.given_start}-{mention.given_end}: no fine role given")
    for fine in fines:
        if fine not in _FINE_SET:
            raise ValueError(f"unknown fine role {fine!r}{_suggest(fine, FINE_ROLES)}")
    for field in (mention.article_id, mention.text):
        if any(c in field for c in "\t\r\n"):
            raise ValueError(f"{field!r} holds a tab or a line break and cannot be written on one line")
    cols = [mention.article_id, mention.text, str(mention.given_start), str(mention.given_end), main_role, *fines]
    return "\t".join(cols)


# --------------------------------------------------------------------------------------------- subtask 2


def _label_problems(labels: Sequence[str], allowed: frozenset[str], what: str, choices: Sequence[str]) -> list[str]:
    return [f"unknown {what} {x!r}{_suggest(x, choices)}" for x in labels if x not in allowed]


def _raise_first(found: list[FileProblem]) -> None:
    if found:
        more = f" (and {len(found) - 1} more problem(s))" if len(found) > 1 else ""
        raise SemEval2025FormatError(f"{found[0]}{more}")


def read_narrative_labels(path: str | Path, problems: list[FileProblem] | None = None) -> dict[str, NarrativeLabels]:
    """Read a subtask-2 file as {article_id: NarrativeLabels}.

    Labels are split on ``;``, stripped, empty ones dropped and duplicates removed (first kept). Labels outside
    the taxonomy are kept as written and reported (a scorer ignores them). A line with fewer than 3 columns is
    skipped; an article seen again replaces the earlier line (as the task's scorers do) and is reported.
    Problems go to ``problems`` when a list is given; without one the first problem raises
    SemEval2025FormatError naming the file and line."""
    src = str(path)
    found: list[FileProblem] = []
    out: dict[str, NarrativeLabels] = {}
    for lineno, line in enumerate(_read_lines(path), start=1):
        if not line.strip():
            continue
        cols = line.split("\t")
        article_id = cols[0].strip()
        if len(cols) < 3 or not article_id:
            why = "no article id in column 1" if len(cols) >= 3 else f"found {len(cols)} column(s)"
            found.append(FileProblem(src, lineno, f"expected {NARRATIVE_COLUMNS}: {why}"))
            continue
        narratives = _dedupe(x.strip() for x in cols[1].split(";"))
        subnarratives = _dedupe(x.strip() for x in cols[2].split(";"))
        reasons = _label_problems(narratives, _NARRATIVE_SET, "narrative", NARRATIVES)
        reasons += _label_problems(subnarratives, _SUBNARRATIVE_SET, "subnarrative", SUBNARRATIVES)
        if len(cols) > 3:
            reasons.append(f"expected 3 columns, found {len(cols)}: the extra ones are ignored")
        if article_id in out:
            reasons.append(f"{article_id} repeats line {out[article_id].line}: this line replaces it")
        found.extend(FileProblem(src, lineno, r) for r in reasons)
        out.pop(article_id, None)
        out[article_id] = NarrativeLabels(narratives, subnarratives, lineno)
    if problems is None:
        _raise_first(found)
    else:
        problems.extend(found)
    return out


def format_narrative_line(article_id: str, narratives: Sequence[str], subnarratives: Sequence[str]) -> str:
    """One line of a subtask-2 predictions file (no line end). Raises ValueError for a label outside the
    taxonomy or an empty side (an article that serves no narrative is labelled ``Other`` at both levels)."""
    if not article_id or any(c in article_id for c in "\t\r\n"):
        raise ValueError(f"article id {article_id!r} cannot be written on one line")
    cols = [article_id]
    for labels, allowed, what, choices in (
        (narratives, _NARRATIVE_SET, "narrative", NARRATIVES),
        (subnarratives, _SUBNARRATIVE_SET, "subnarrative", SUBNARRATIVES),
    ):
        kept = _dedupe(labels)
        if not kept:
            raise ValueError(f"{article_id}: no {what} given (use 'Other')")
        bad = _label_problems(kept, allowed, what, choices)
        if bad:
            raise ValueError(f"{article_id}: {bad[0]}")
        cols.append(";".join(kept))
    return "\t".join(cols)


# --------------------------------------------------------------------------------------------- subtask 3


def read_dominant(path: str | Path, problems: list[FileProblem] | None = None) -> dict[str, DominantNarrative]:
    """Read a subtask-3 file as {article_id: DominantNarrative}; ``none`` as subnarrative becomes None.

    Lines with fewer than 4 columns are skipped; labels outside the taxonomy are kept and reported. Problems go
    to ``problems`` when a list is given; without one the first problem raises SemEval2025FormatError."""
    src = str(path)
    found: list[FileProblem] = []
    out: dict[str, DominantNarrative] = {}
    for lineno, line in enumerate(_read_lines(path), start=1):
        if not line.strip():
            continue
        cols = line.split("\t")
        if len(cols) < 4 or not cols[0].strip():
            found.append(FileProblem(src, lineno, f"expected {DOMINANT_COLUMNS}, found {len(cols)} column(s)"))
            continue
        article_id, narrative, sub = cols[0].strip(), cols[1].strip(), cols[2].strip()
        explanation = "\t".join(cols[3:]).strip()
        subnarrative = None if sub.lower() == "none" or not sub else sub
        reasons = _label_problems([narrative], _NARRATIVE_SET, "narrative", NARRATIVES)
        if subnarrative is not None:
            reasons += _label_problems([subnarrative], _SUBNARRATIVE_SET, "subnarrative", SUBNARRATIVES)
        if article_id in out:
            reasons.append(f"{article_id} repeats line {out[article_id].line}: this line replaces it")
        found.extend(FileProblem(src, lineno, r) for r in reasons)
        out[article_id] = DominantNarrative(article_id, narrative, subnarrative, explanation, lineno)
    if problems is None:
        _raise_first(found)
    else:
        problems.extend(found)
    return out
