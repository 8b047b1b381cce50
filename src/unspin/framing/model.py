"""Framing: who an article casts as protagonist, antagonist or innocent, and which narratives it serves.

One encoder pass over the article gives a state per token: for English, the technique tagger's own
pass (its last hidden states; the techniques stage has made it already, `Document.token_states`), for
every other language the multilingual encoder (`unspin.models.e5`). Each encoder has its own heads
(`Route`): small linear heads (`unspin.framing.heads`) over pooled states (`unspin.framing.features`) that

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
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from unspin.framing.entities import Mention, group_mentions
from unspin.framing.features import article_vector, mention_vectors, sentence_vectors
from unspin.framing.heads import MODEL_DIR, FramingHeads, FramingModelError
from unspin.framing.taxonomy import domain_of, main_role_of, parent_of

LANGUAGES = ("en", "bg", "hi", "pt", "ru")
EVIDENCE = 2  # sentences of evidence per narrative
TOP_ROLES = 3  # fine roles listed per entity
FLOOR = 0.05  # token probability from which a run of tokens is a candidate mention
EN_DIR = MODEL_DIR / "en"  # heads over the technique tagger's states, for English
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


NAME_WORD_RE = re.compile(r"[^\W_]+")


def trim_to_name(text: str, start: int, end: int) -> tuple[int, int] | None:
    """A found mention cut to its name, in scripts with capitals: lower-case words at either end go
    ("led coalition" of "US-led coalition", "France natural" of "France natural allies", "the West"
    becomes "West"), and a mention with no capitalised word is no name (None: "world", "countries").
    A mention in a script without case (Devanagari) is kept as found."""
    words = [(m.start(), m.end()) for m in NAME_WORD_RE.finditer(text, start, end)]
    cased = [(a, b) for a, b in words if text[a:b].lower() != text[a:b].upper()]
    if not cased:
        return start, end
    names = [(a, b) for a, b in cased if not text[a].islower()]
    if not names:
        return None
    return names[0][0], names[-1][1]


def spans_from_tokens(text: str, offsets: np.ndarray, prob: np.ndarray, threshold: float) -> list[Mention]:
    """Mentions from per-token probabilities: runs of word tokens above `threshold` (a token of
    punctuation only ends a run: a name does not cross a full stop or a comma), widened to whole words
    and cut to their name (`trim_to_name`); a mention's score is the mean probability of its tokens."""
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
        name = trim_to_name(text, start, end) if end > start else None
        if name is not None:
            start, end = name
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


def best_roles(heads: FramingHeads, main: np.ndarray, fine: np.ndarray) -> list[tuple[str, str]]:
    """(main role, fine role) of each row of `decode_roles`' output: the best main role, and the best fine
    role under it (the best fine role overall can sit under another main role)."""
    mains, fines = heads["main_role"].labels, heads["fine_role"].labels
    parent = np.array([mains.index(main_role_of(f)) for f in fines])
    out = []
    for pm, pf in zip(main, fine, strict=True):
        m = int(pm.argmax())
        f = int(np.where(parent == m, pf, -1.0).argmax())
        out.append((mains[m], fines[f]))
    return out


class Route:
    """One encoder and the heads trained on its states. The encoder (anything with `token_states(text)
    -> (states, offsets)`) is loaded on first use, so a run that never meets the route's languages
    never loads it. `key` names the encoder's pass in `Document.token_states` when another stage has
    already made it (the technique tagger's, for English)."""

    def __init__(self, load_encoder: Callable[[], Any], heads: FramingHeads, key: str | None = None) -> None:
        self._load_encoder, self.heads, self.key = load_encoder, heads, key
        self.thresholds: dict[str, float] = heads.config["thresholds"]
        self._encoder: Any = None
        self._lock = threading.Lock()

    @property
    def encoder(self) -> Any:
        with self._lock:
            if self._encoder is None:
                self._encoder = self._load_encoder()
            return self._encoder

    def encode(self, text: str, states: dict[str, Any] | None = None) -> tuple[np.ndarray, np.ndarray]:
        if states and self.key in states:
            return states[self.key]
        return self.encoder.token_states(text)


class FramingModel:
    """The routes (encoder and heads) by language, loaded once (`FramingModel.load()`); thread-safe.
    English articles are read through the technique tagger's own states (`models/framing/en/`), every
    other language through the multilingual encoder (`models/framing/`)."""

    def __init__(self, default: Route, routes: dict[str, Route] | None = None) -> None:
        self.default, self.routes = default, dict(routes or {})

    @classmethod
    def load(cls, threads: int | None = None) -> FramingModel:
        return _cached(threads)

    def route(self, language: str | None) -> Route:
        return self.routes.get((language or "").split("-")[0].lower(), self.default)

    def encode(
        self, text: str, language: str | None = None, states: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Token states of `text` from the encoder of `language`'s route (taken from `states`, a
        document's `token_states`, when that pass was made already)."""
        return self.route(language).encode(text, states)

    def roles(
        self,
        text: str,
        mentions: Sequence[tuple[int, int]],
        language: str | None,
        encoded: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Main- and fine-role probabilities of given mentions (end exclusive), in their order."""
        route = self.route(language)
        if not mentions:
            return np.zeros((0, 3)), np.zeros((0, len(route.heads["fine_role"].labels)))
        states, offsets = encoded or route.encode(text)
        found = [Mention(s, e, text[s:e]) for s, e in mentions]
        entities = group_mentions(text, found, language)
        order = {id(m): i for i, m in enumerate(found)}
        groups = [[(m.start, m.end) for m in ent.mentions] for ent in entities]
        flat = [order[id(m)] for ent in entities for m in ent.mentions]
        vecs = np.array(mention_vectors(states, offsets, groups))
        main, fine = decode_roles(route.heads, vecs)
        back = np.argsort(flat)
        return main[back], fine[back]

    def narratives(
        self,
        text: str,
        sentences: Sequence[tuple[int, int]],
        language: str | None = None,
        encoded: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> list[dict[str, Any]]:
        route = self.route(language)
        states, offsets = encoded or route.encode(text)
        if len(states) == 0:
            return []
        chosen = decode_narratives(route.heads, article_vector(states), route.thresholds)
        # sentences are pooled only for evidence, which an article of "Other" does not need
        needed = any(c.head != "other" for c in chosen)
        sent_states = sentence_vectors(states, offsets, sentences) if needed else np.zeros((0, 0))
        out = []
        for choice in chosen:
            evidence: list[dict[str, int]] = []
            if choice.head != "other" and len(sent_states):
                head = route.heads[choice.head]
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
        route = self.route(language)
        heads, thresholds = route.heads, route.thresholds
        states, offsets = encoded or route.encode(text)
        if len(states) == 0:
            return []
        prob = heads["mention"].scores(token_features(states))[:, 1]
        found = spans_from_tokens(text, offsets, prob, min(FLOOR, thresholds["mention"]))
        if not found:
            return []
        entities = group_mentions(text, found + repeats(text, found), language)
        strength = [max(m.score for m in e.mentions) for e in entities]
        cast = {i for i, v in enumerate(strength) if v >= thresholds["mention"]}
        extra = sorted((i for i in range(len(entities)) if i not in cast), key=lambda i: -strength[i])
        shown = sorted(cast | set(extra[: max(0, MIN_CAST - len(cast))]))
        entities = [entities[i] for i in shown]
        groups = [[(m.start, m.end) for m in ent.mentions] for ent in entities]
        vecs = np.array(mention_vectors(states, offsets, groups))
        main, fine = decode_roles(heads, vecs)
        mains, fines = heads["main_role"].labels, heads["fine_role"].labels
        out, row = [], 0
        for i, ent in zip(shown, entities, strict=True):
            n = len(ent.mentions)
            weights = np.array([m.score for m in ent.mentions])[:, None]
            pm = (main[row : row + n] * weights).sum(0) / weights.sum()
            pf = (fine[row : row + n] * weights).sum(0) / weights.sum()
            row += n
            top = int(pm.argmax())
            framed = i in cast and pm[top] >= thresholds["role_min"]
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
        self,
        text: str,
        language: str | None,
        sentences: Sequence[tuple[int, int]],
        states: dict[str, Any] | None = None,
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Entities and narratives of `text`; `states` (a document's `token_states`) may hold the
        encoder pass of the route already."""
        encoded = self.encode(text, language, states)
        return self.entities(text, language, encoded), self.narratives(text, sentences, language, encoded)


def english_route(threads: int | None, folder: Path = EN_DIR) -> Route | None:
    """The English route: heads over the technique tagger's hidden states, when they are installed.
    The tagger must be the one the heads were fitted on (its model file's sha256 is recorded)."""
    if not (folder / "config.json").is_file():
        return None
    from unspin.techniques.tagger import TechniqueTagger

    heads = FramingHeads.load(folder)
    spec = heads.config.get("encoder", {})
    tagger = TechniqueTagger.load(spec.get("technique_model", "fast"), threads=threads)
    recorded, actual = spec.get("model_sha256"), tagger.config.get("files", {}).get("model.onnx")
    if recorded != actual or not tagger.has_hidden:
        raise FramingModelError(
            f"{folder}: the English framing heads were fitted on technique model "
            f"{spec.get('technique_model')!r} with model.onnx sha256 {recorded}; the installed one is {actual}"
            + ("" if tagger.has_hidden else " and has no 'hidden' output")
        )
    return Route(lambda: tagger, heads, tagger.states_key)


class _E5Reader:
    """The multilingual encoder as the heads were fitted on it: the last layer's states, or (`middle`)
    those after layer 6 and after the last layer, side by side."""

    def __init__(self, encoder: Any, middle: bool) -> None:
        self.encoder, self.middle = encoder, middle

    def token_states(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        return self.encoder.token_states(text, middle=self.middle)


def multilingual_route(threads: int | None = None, folder: Path = MODEL_DIR) -> Route:
    """Every language without a route of its own: heads over multilingual-e5-small's states. The
    converted graph must be the one the heads were fitted on (its sha256 is recorded)."""
    from unspin.models.e5 import GRAPH_SHA256, E5Encoder

    heads = FramingHeads.load(folder)
    spec = heads.config.get("encoder", {})
    if spec.get("graph_sha256", GRAPH_SHA256) != GRAPH_SHA256:
        raise FramingModelError(
            f"{folder}: the framing heads were fitted on the multilingual encoder graph with sha256 "
            f"{spec['graph_sha256']}; this installation converts {GRAPH_SHA256}"
        )
    middle = bool(spec.get("middle", False))
    return Route(lambda: _E5Reader(E5Encoder.load(threads), middle), heads)


@lru_cache(maxsize=4)
def _cached(threads: int | None) -> FramingModel:
    default = multilingual_route(threads)
    english = english_route(threads)
    return FramingModel(default, {"en": english} if english else {})
