"""Framing: who an article casts as protagonist, antagonist or innocent, and which narratives it serves.

One pass of the multilingual encoder (`unspin.models.e5`) over the article gives a state per token;
small linear heads (`unspin.framing.heads`) over pooled states (`unspin.framing.features`) then:

1. **find framed entities**: a token head marks the tokens of mentions that annotators singled out as
   cast in a role (SemEval-2025 Task 10, subtask 1: people, organisations, countries, groups); runs of
   marked tokens, widened to whole words, are mentions. An entity is cast when one of its mentions
   reaches the `mention` threshold; when fewer than `MIN_CAST` are, the best other candidates (above
   `FLOOR`) are listed too, with no main role: the text names them without clearly casting them;
2. **group** the mentions into entities (`unspin.framing.entities`: name variants, surnames, aliases);
3. **roles**: the main role (Protagonist, Antagonist, Innocent) and the fine roles (22) of each mention,
   from its own tokens, the tokens around it and all mentions of its entity; an entity's scores are the
   mean over its mentions, and its main role is null where no role reaches `role_min`;
4. **narratives**: is the article about one of the taxonomy's narratives at all ("Other" if not), which
   domain (Ukraine war or climate change), which narratives (the best one, and others above a threshold)
   and, under each, which subnarratives; thresholds chosen by cross-validation (see the model card);
5. **evidence**: the sentences of the article that the narrative's head scores highest.

    from unspin.framing.model import FramingModel
    model = FramingModel.load()
    entities, narratives = model.analyse(text, language="en", sentences=[(0, 120), ...])
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from unspin.framing.entities import Mention, group_mentions
from unspin.framing.features import article_vector, mention_vectors, sentence_vectors
from unspin.framing.heads import FramingHeads
from unspin.framing.taxonomy import domain_of, main_role_of, parent_of

LANGUAGES = ("en", "bg", "hi", "pt", "ru")
EVIDENCE = 2  # sentences of evidence per narrative
TOP_ROLES = 3  # fine roles listed per entity
FLOOR = 0.05  # token probability from which a run of tokens is a candidate mention
MIN_CAST = 3  # an article whose framed entities are fewer lists its best other candidates, without a role


@dataclass
class NarrativeChoice:
    narrative: str
    subnarrative: str | None
    score: float
    head: str  # which head's label scores the evidence
    label: str


def token_features(states: np.ndarray) -> np.ndarray:
    """(T, 2H): each token's state beside the mean of it and its two neighbours on each side."""
    if len(states) == 0:
        return np.zeros((0, 2 * states.shape[1]), np.float32)
    padded = np.pad(states, ((2, 2), (0, 0)), mode="edge")
    window = sum(padded[i : i + len(states)] for i in range(5)) / 5.0
    return np.concatenate([states, window], axis=1).astype(np.float32)


def _widen(text: str, start: int, end: int) -> tuple[int, int]:
    while start > 0 and text[start - 1].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum():
        end += 1
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not text[end - 1].isalnum():
        end -= 1
    return start, end


def spans_from_tokens(text: str, offsets: np.ndarray, prob: np.ndarray, threshold: float) -> list[Mention]:
    """Mentions from per-token probabilities: runs of word tokens above `threshold` (a token of
    punctuation only ends a run: a name does not cross a full stop or a comma), widened to whole words;
    a mention's score is the mean probability of its tokens."""
    out: list[Mention] = []
    i, n = 0, len(prob)
    wordy = [any(ch.isalnum() for ch in text[s:e]) for s, e in offsets.tolist()]
    while i < n:
        if prob[i] <= threshold or not wordy[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and prob[j + 1] > threshold and wordy[j + 1]:
            j += 1
        start, end = _widen(text, int(offsets[i, 0]), int(offsets[j, 1]))
        if end > start:
            if out and start < out[-1].end:  # two runs inside one word: one mention
                prev = out.pop()
                start, score = prev.start, max(prev.score, float(prob[i : j + 1].mean()))
            else:
                score = float(prob[i : j + 1].mean())
            out.append(Mention(start, end, text[start:end], score))
        i = j + 1
    return out


def repeats(text: str, found: Sequence[Mention]) -> list[Mention]:
    """Every other whole-word occurrence of a found mention's text, with score 0: the finder marks the
    mentions that show a role, but the reader wants every mention of the entity highlighted. A repeat
    weighs nothing in the entity's mean of mention-level role scores and leaves its cast score alone;
    it does join the entity's pooled context, as every mention of an entity did in training."""
    taken = sorted((m.start, m.end) for m in found)
    out: list[Mention] = []
    for surface in sorted({m.text for m in found}):
        for hit in re.finditer(r"(?<!\w)" + re.escape(surface) + r"(?!\w)", text):
            s, e = hit.span()
            i = bisect.bisect_left(taken, (s, e))
            near = taken[max(0, i - 1) : i + 1]
            if all(e <= a or s >= b for a, b in near):
                out.append(Mention(s, e, surface, 0.0))
                bisect.insort(taken, (s, e))
    return out


def decode_narratives(heads: FramingHeads, vector: np.ndarray, t: dict[str, float]) -> list[NarrativeChoice]:
    """The narratives of one article (see the module docstring, step 4)."""
    x = vector[None]
    p_other = float(heads["other"].scores(x)[0, 0])
    if p_other > t["other"]:
        return [NarrativeChoice("Other", None, p_other, "other", "Other")]
    domain = "URW" if heads["domain"].scores(x)[0, 0] > 0.5 else "CC"
    narr, subs = heads["narrative"], heads["subnarrative"]
    pn, ps = narr.scores(x)[0], subs.scores(x)[0]
    mine = [j for j, label in enumerate(narr.labels) if domain_of(label) == domain]
    best = max(mine, key=lambda j: pn[j])
    chosen = [j for j in mine if pn[j] > t["narrative"] or j == best]
    out: list[NarrativeChoice] = []
    for j in sorted(chosen, key=lambda j: -pn[j]):
        name = narr.labels[j]
        kids = [k for k, label in enumerate(subs.labels) if parent_of(label) == name]
        if not kids:
            out.append(NarrativeChoice(name, None, float(pn[j]), "narrative", name))
            continue
        top = max(kids, key=lambda k: ps[k])
        for k in sorted((k for k in kids if ps[k] > t["subnarrative"] or k == top), key=lambda k: -ps[k]):
            out.append(NarrativeChoice(name, subs.labels[k], float(pn[j] * ps[k]), "subnarrative", subs.labels[k]))
    return out


def decode_roles(heads: FramingHeads, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, 3) main-role and (n, 22) fine-role probabilities of mention vectors, fine roles conditioned on
    the main role (p(main) * p(fine | fine under that main), so the two never disagree)."""
    main = heads["main_role"].scores(vectors)
    fine = heads["fine_role"].scores(vectors)
    mains = heads["main_role"].labels
    parent = np.array([mains.index(main_role_of(f)) for f in heads["fine_role"].labels])
    within = np.zeros_like(fine)
    for m in range(len(mains)):
        cols = parent == m
        within[:, cols] = fine[:, cols] / np.maximum(fine[:, cols].sum(axis=1, keepdims=True), 1e-12)
    return main, within * main[:, parent]


class FramingModel:
    """The encoder and the heads, loaded once (`FramingModel.load()`); thread-safe."""

    def __init__(self, encoder: Any, heads: FramingHeads) -> None:
        self.encoder, self.heads = encoder, heads
        self.thresholds: dict[str, float] = heads.config["thresholds"]

    @classmethod
    def load(cls, threads: int | None = None) -> FramingModel:
        return _cached(threads)

    def encode(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        return self.encoder.token_states(text)

    def roles(
        self,
        text: str,
        mentions: Sequence[tuple[int, int]],
        language: str | None,
        encoded: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Main- and fine-role probabilities of given mentions (end exclusive), in their order."""
        if not mentions:
            return np.zeros((0, 3)), np.zeros((0, len(self.heads["fine_role"].labels)))
        states, offsets = encoded or self.encode(text)
        found = [Mention(s, e, text[s:e]) for s, e in mentions]
        entities = group_mentions(text, found, language)
        order = {id(m): i for i, m in enumerate(found)}
        groups = [[(m.start, m.end) for m in ent.mentions] for ent in entities]
        flat = [order[id(m)] for ent in entities for m in ent.mentions]
        vecs = np.array(mention_vectors(states, offsets, groups))
        main, fine = decode_roles(self.heads, vecs)
        back = np.argsort(flat)
        return main[back], fine[back]

    def narratives(
        self, text: str, sentences: Sequence[tuple[int, int]], encoded: tuple[np.ndarray, np.ndarray] | None = None
    ) -> list[dict[str, Any]]:
        states, offsets = encoded or self.encode(text)
        chosen = decode_narratives(self.heads, article_vector(states), self.thresholds)
        # sentences are pooled only for evidence, which an article of "Other" does not need
        needed = any(c.head != "other" for c in chosen)
        sent_states = sentence_vectors(states, offsets, sentences) if needed else np.zeros((0, 0))
        out = []
        for choice in chosen:
            evidence: list[dict[str, int]] = []
            if choice.head != "other" and len(sent_states):
                head = self.heads[choice.head]
                col = head.labels.index(choice.label)
                z = sent_states @ head.weight[:, col]
                best = sorted(np.argsort(-z)[:EVIDENCE].tolist())
                evidence = [{"start": int(sentences[i][0]), "end": int(sentences[i][1])} for i in best]
            out.append(
                {
                    "narrative": choice.narrative,
                    "subnarrative": choice.subnarrative,
                    "score": round(choice.score, 4),
                    "evidence": evidence,
                }
            )
        return out

    def entities(
        self, text: str, language: str | None, encoded: tuple[np.ndarray, np.ndarray] | None = None
    ) -> list[dict[str, Any]]:
        states, offsets = encoded or self.encode(text)
        if len(states) == 0:
            return []
        prob = self.heads["mention"].scores(token_features(states))[:, 1]
        found = spans_from_tokens(text, offsets, prob, min(FLOOR, self.thresholds["mention"]))
        if not found:
            return []
        entities = group_mentions(text, found + repeats(text, found), language)
        strength = [max(m.score for m in e.mentions) for e in entities]
        cast = {i for i, v in enumerate(strength) if v >= self.thresholds["mention"]}
        extra = sorted((i for i in range(len(entities)) if i not in cast), key=lambda i: -strength[i])
        shown = sorted(cast | set(extra[: max(0, MIN_CAST - len(cast))]))
        entities = [entities[i] for i in shown]
        groups = [[(m.start, m.end) for m in ent.mentions] for ent in entities]
        vecs = np.array(mention_vectors(states, offsets, groups))
        main, fine = decode_roles(self.heads, vecs)
        mains, fines = self.heads["main_role"].labels, self.heads["fine_role"].labels
        out, row = [], 0
        for i, ent in zip(shown, entities, strict=True):
            n = len(ent.mentions)
            weights = np.array([m.score for m in ent.mentions])[:, None]
            pm = (main[row : row + n] * weights).sum(0) / weights.sum()
            pf = (fine[row : row + n] * weights).sum(0) / weights.sum()
            row += n
            top = int(pm.argmax())
            framed = i in cast and pm[top] >= self.thresholds["role_min"]
            roles = [
                {"role": fines[k], "score": round(float(pf[k]), 4)}
                for k in np.argsort(-pf)[:TOP_ROLES]
                if not framed or main_role_of(fines[k]) == mains[top]
            ]
            item: dict[str, Any] = {
                "name": ent.name,
                "main_role": mains[top] if framed else None,
                "roles": roles,
                "score": round(float(pm[top]), 4),
                "cast_score": round(strength[i], 4),
                "mentions": [{"start": m.start, "end": m.end} for m in ent.mentions],
            }
            if ent.actor:
                item["actor"] = ent.actor
            out.append(item)
        return out

    def analyse(
        self, text: str, language: str | None, sentences: Sequence[tuple[int, int]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        encoded = self.encode(text)
        return self.entities(text, language, encoded), self.narratives(text, sentences, encoded)


@lru_cache(maxsize=4)
def _cached(threads: int | None) -> FramingModel:
    from unspin.models.e5 import E5Encoder

    return FramingModel(E5Encoder.load(threads), FramingHeads.load())
