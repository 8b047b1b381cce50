"""The data model: one `Document` carries an article through every stage.

Every annotation is a pair of character offsets into `Document.text` (end exclusive, Python string
indices, i.e. Unicode code points). `Document.source_map` maps each character of `text` back to the
input the user gave (`Document.source_text`), so spans can always be reported against the input.
"""

from __future__ import annotations

import bisect
import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA_VERSION = 1


@dataclass
class Span:
    """A technique (or other labelled) fragment: `text[start:end]`."""

    start: int
    end: int
    technique: str
    score: float = 1.0
    explanation: str | None = None
    # At the technique model's precise operating point (the default view: a confidence threshold
    # chosen for precision over recall); None where the model has none.
    precise: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"technique": self.technique, "start": self.start, "end": self.end, "score": self.score}
        if self.explanation is not None:
            out["explanation"] = self.explanation
        if self.precise is not None:
            out["precise"] = self.precise
        return out


@dataclass
class Segment:
    """A sentence or paragraph: `text[start:end]`, with an optional score from later stages."""

    start: int
    end: int
    score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"start": self.start, "end": self.end}
        if self.score is not None:
            out["score"] = self.score
        return out


@dataclass
class Removal:
    """A piece of the input that cleaning left out of `text`, in source offsets, with the reason."""

    start: int
    end: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class OffsetMap:
    """Piecewise map from offsets in the analysed text to offsets in the source text.

    Cleaning only ever *keeps slices* of the source, so the map is a list of runs
    `(text_start, source_start, length)`: `text[t] == source[source_start + (t - text_start)]`.
    """

    def __init__(self, runs: list[tuple[int, int, int]] | None = None) -> None:
        self.runs: list[tuple[int, int, int]] = [r for r in (runs or []) if r[2] > 0]
        self._starts = [r[0] for r in self.runs]

    @classmethod
    def identity(cls, length: int) -> OffsetMap:
        return cls([(0, 0, length)])

    def to_source(self, offset: int) -> int:
        """Source offset of text character `offset` (or, for an end offset, one past the last char)."""
        if not self.runs:
            return 0
        i = bisect.bisect_right(self._starts, offset) - 1
        if i < 0:
            return self.runs[0][1]
        t0, s0, n = self.runs[i]
        if offset - t0 <= n:
            return s0 + (offset - t0)
        return s0 + n

    def lookup(self, offset: int) -> int | None:
        """Source offset of character `offset` if a run covers it, else None (for partial maps)."""
        i = bisect.bisect_right(self._starts, offset) - 1
        if i < 0:
            return None
        t0, s0, n = self.runs[i]
        return s0 + (offset - t0) if offset - t0 < n else None

    def compose(self, other: OffsetMap) -> OffsetMap:
        """The map text -> other's source, through this map (characters either map leaves out drop)."""
        runs: list[tuple[int, int, int]] = []
        j = 0
        other_runs = other.runs
        for t0, m0, n in self.runs:
            # other's runs overlapping [m0, m0 + n) in the middle coordinates
            while j < len(other_runs) and other_runs[j][0] + other_runs[j][2] <= m0:
                j += 1
            k = j
            while k < len(other_runs) and other_runs[k][0] < m0 + n:
                o_m, o_s, o_n = other_runs[k]
                lo, hi = max(m0, o_m), min(m0 + n, o_m + o_n)
                if hi > lo:
                    runs.append((t0 + (lo - m0), o_s + (lo - o_m), hi - lo))
                k += 1
        return OffsetMap(runs)

    def span_to_source(self, start: int, end: int) -> tuple[int, int]:
        if end <= start:
            s = self.to_source(start)
            return s, s
        return self.to_source(start), self.to_source(end - 1) + 1

    def to_list(self) -> list[list[int]]:
        return [list(r) for r in self.runs]


@dataclass
class Document:
    """An article and everything learned about it."""

    text: str
    source: str = "<text>"
    source_text: str | None = None
    source_kind: str = "text"  # text | html
    source_map: OffsetMap = field(default_factory=OffsetMap)
    # HTML input only: text offsets -> offsets in the raw HTML, for the characters found there
    html_map: OffsetMap | None = None
    id: str | None = None
    title: str | None = None
    url: str | None = None
    outlet: str | None = None
    outlet_name: str | None = None
    author: str | None = None
    published: str | None = None
    language: str | None = None
    language_score: float | None = None
    sentences: list[Segment] = field(default_factory=list)
    paragraphs: list[Segment] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    claims: list[dict[str, Any]] = field(default_factory=list)
    entities: list[dict[str, Any]] | None = None
    narratives: list[dict[str, Any]] | None = None
    removed: list[Removal] = field(default_factory=list)
    scores: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    # names of the pipeline stages that ran, in order (empty: not analysed by a pipeline)
    stages: list[str] = field(default_factory=list)
    # Working state, never serialised: an encoder's per-token states ([n, d], [n, 2] character offsets)
    # left by one stage for a later one to reuse instead of running the encoder again (the technique
    # tagger's pass read by the framing stage), keyed by the encoder and its weights; the pipeline
    # empties it when the document is done.
    token_states: dict[str, tuple[Any, Any]] = field(default_factory=dict, repr=False, compare=False)

    def ran(self, stage: str) -> bool:
        """Whether `stage` ran, or no stage list is known (a document from before stages were recorded)."""
        return not self.stages or stage in self.stages

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def to_dict(self, *, include_source: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "id": self.id,
            "source": self.source,
            "source_kind": self.source_kind,
            "title": self.title,
            "url": self.url,
            "outlet": self.outlet,
            "outlet_name": self.outlet_name,
            "author": self.author,
            "published": self.published,
            "language": self.language,
            "language_score": self.language_score,
            "text": self.text,
            "content_hash": self.content_hash,
            "sentences": [s.to_dict() for s in self.sentences],
            "paragraphs": [p.to_dict() for p in self.paragraphs],
            # a stage that was skipped leaves its field null, not empty: nothing was looked for
            "spans": [s.to_dict() for s in self.spans] if self.ran("techniques") else None,
            "scores": self.scores,
            "claims": self.claims if self.ran("claims") else None,
            "removed": [r.to_dict() for r in self.removed],
            "source_map": self.source_map.to_list(),
            "warnings": self.warnings,
        }
        if self.html_map is not None:
            out["html_map"] = self.html_map.to_list()
        if self.entities is not None:
            out["entities"] = self.entities
        if self.narratives is not None:
            out["narratives"] = self.narratives
        if self.meta:
            out["meta"] = self.meta
        if self.stages:
            out["stages"] = self.stages
        if include_source:
            out["source_text"] = self.source_text
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Document:
        return cls(
            text=data["text"],
            source=data.get("source", "<text>"),
            source_text=data.get("source_text"),
            source_kind=data.get("source_kind", "text"),
            source_map=OffsetMap([tuple(r) for r in data.get("source_map", [])]),
            html_map=OffsetMap([tuple(r) for r in data["html_map"]]) if data.get("html_map") is not None else None,
            id=data.get("id"),
            title=data.get("title"),
            url=data.get("url"),
            outlet=data.get("outlet"),
            outlet_name=data.get("outlet_name"),
            author=data.get("author"),
            published=data.get("published"),
            language=data.get("language"),
            language_score=data.get("language_score"),
            sentences=[Segment(**s) for s in data.get("sentences", [])],
            paragraphs=[Segment(**p) for p in data.get("paragraphs", [])],
            spans=[Span(**s) for s in data.get("spans") or []],
            claims=list(data.get("claims") or []),
            entities=data.get("entities"),
            narratives=data.get("narratives"),
            removed=[Removal(**r) for r in data.get("removed", [])],
            scores=dict(data.get("scores", {})),
            warnings=list(data.get("warnings", [])),
            meta=dict(data.get("meta", {})),
            stages=list(data.get("stages", [])),
        )
