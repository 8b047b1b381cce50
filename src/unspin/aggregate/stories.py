"""Stories: articles about the same event, grouped by what they say and when they appeared.

Each article is embedded (all-MiniLM-L6-v2 sentence embedding of its title and opening, see
`unspin.models.sentence_encoder`); two articles join one story when their embeddings are close and
they were published within a time window of each other (undated articles only join on a much closer
match). Stories are the connected groups of such links.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

SIMILARITY = 0.65
UNDATED_SIMILARITY = 0.85
WINDOW_DAYS = 4
LEAD_CHARS = 600


def lead_text(title: str | None, text: str) -> str:
    """What an article is about: its title and opening, as one short text."""
    body = text
    if title and body.startswith(title):
        body = body[len(title) :]
    lead = " ".join(body.split())[:LEAD_CHARS]
    return f"{title}. {lead}" if title else lead


def _day(published: str | None) -> int | None:
    if not published or len(published) < 10:
        return None
    try:
        return date.fromisoformat(published[:10]).toordinal()
    except ValueError:
        return None


@dataclass
class Story:
    members: list[int]  # indices into the input lists, earliest first
    cohesion: float  # mean similarity of the members to the story's centre
    keys: list[str] = field(default_factory=list)


def group_stories(
    vectors: np.ndarray,
    published: list[str | None],
    *,
    similarity: float = SIMILARITY,
    window_days: int = WINDOW_DAYS,
    undated_similarity: float = UNDATED_SIMILARITY,
) -> list[Story]:
    """Connected groups (two or more articles) of pairs close in meaning and in time."""
    n = len(published)
    if n < 2:
        return []
    days = [_day(p) for p in published]
    sims = vectors @ vectors.T
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i in range(n):
        for j in np.nonzero(sims[i, i + 1 :] >= min(similarity, undated_similarity))[0] + i + 1:
            di, dj = days[i], days[j]
            if di is None or dj is None:
                ok = sims[i, j] >= undated_similarity
            else:
                ok = sims[i, j] >= similarity and abs(di - dj) <= window_days
            if ok:
                parent[find(i)] = find(int(j))
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    stories = []
    for members in groups.values():
        if len(members) < 2:
            continue
        members.sort(key=lambda i: (days[i] is None, days[i] or 0, i))
        centre = vectors[members].mean(0)
        centre /= max(float(np.linalg.norm(centre)), 1e-12)
        stories.append(Story(members, round(float((vectors[members] @ centre).mean()), 4)))
    stories.sort(key=lambda s: -len(s.members))
    return stories
