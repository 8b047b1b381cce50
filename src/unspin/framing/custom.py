"""Narratives of your own: score articles against narratives written in a TOML file, without training.

    [[narrative]]
    name = "The West shares the blame for terrorism"
    description = "Western governments caused or enabled terrorist attacks by their own policies."
    examples = [
      "The attack was the price of years of Western meddling in the region.",
      "Had the West listened to the warnings, the massacre would not have happened.",
    ]
    # threshold = 0.5   (optional: the calibrated score from which a sentence counts as evidence)

Each narrative becomes one point in the multilingual encoder's space (`unspin.models.e5`): the mean of
its description's and its examples' vectors. A sentence's similarity to that point is turned into a
probability by Platt scaling fitted on the file itself: each example, compared with the point made
without it, is a positive; the other narratives' examples and a fixed set of everyday news sentences
(`_BACKGROUND`, in the five languages) are negatives. An article's score for a narrative is its best
sentence's; its evidence, the sentences at or above the threshold (at most three, best first). Because
the encoder is multilingual, English examples also find the narrative in Russian or Portuguese text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tomllib

from unspin.eval.calibration import fit_platt, sigmoid

PREFIX = "query: "  # e5's prefix for symmetric similarity
EVIDENCE = 3
_BACKGROUND = [
    "The city council approved the new budget for road repairs on Tuesday.",
    "Heavy rain is expected across the region over the weekend.",
    "The team won the match two to one after a late goal.",
    "Shares of the company rose three percent in early trading.",
    "The museum will open a new exhibition of modern painting next month.",
    "Researchers published a study on sleep and memory in older adults.",
    "The airline added daily flights between the two cities.",
    "Schools will reopen after the holiday on Monday morning.",
    "The minister met farmers to discuss grain prices.",
    "A new bridge over the river is due to be finished next year.",
    "Городской совет утвердил бюджет на ремонт дорог.",
    "В выходные в регионе ожидаются сильные дожди.",
    "Общинският съвет одобри бюджета за ремонт на пътищата.",
    "През уикенда се очакват силни валежи в региона.",
    "A câmara municipal aprovou o orçamento para obras nas estradas.",
    "A equipa venceu o jogo por dois a um com um golo no fim.",
    "नगर परिषद ने सड़कों की मरम्मत के लिए बजट को मंज़ूरी दी।",
    "सप्ताहांत में क्षेत्र में भारी बारिश की संभावना है।",
]


class CustomNarrativesError(ValueError):
    """A narratives file that cannot be used: the message names the file, the narrative and the field."""


@dataclass
class CustomNarrative:
    name: str
    description: str
    examples: list[str]
    threshold: float = 0.5


def read_custom_narratives(path: str | Path) -> list[CustomNarrative]:
    """The narratives of a TOML file; every missing or wrong field is an error naming it."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise CustomNarrativesError(f"{path}: cannot read ({err.strerror or err})") from None
    except UnicodeDecodeError:
        raise CustomNarrativesError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as err:
        raise CustomNarrativesError(f"{path}: not valid TOML ({err})") from None
    items = data.get("narrative")
    if not isinstance(items, list) or not items:
        raise CustomNarrativesError(f"{path}: no [[narrative]] tables (each needs name, description, examples)")
    out: list[CustomNarrative] = []
    for i, item in enumerate(items, 1):
        where = f"{path}: narrative {i}"
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            raise CustomNarrativesError(f"{where}: field 'name' is missing or empty")
        where = f"{path}: narrative {i} ({name.strip()!r})"
        description = item.get("description")
        if not isinstance(description, str) or not description.strip():
            raise CustomNarrativesError(f"{where}: field 'description' is missing or empty")
        examples = item.get("examples")
        if not isinstance(examples, list) or not all(isinstance(e, str) for e in examples):
            raise CustomNarrativesError(f"{where}: field 'examples' must be a list of sentences")
        examples = [e.strip() for e in examples if e.strip()]
        if not examples:
            raise CustomNarrativesError(f"{where}: field 'examples' has no sentence (give at least one)")
        threshold = item.get("threshold", 0.5)
        if not isinstance(threshold, int | float) or isinstance(threshold, bool) or not 0 < threshold < 1:
            raise CustomNarrativesError(f"{where}: field 'threshold' must be a number between 0 and 1")
        unknown = set(item) - {"name", "description", "examples", "threshold"}
        if unknown:
            raise CustomNarrativesError(f"{where}: unknown field {sorted(unknown)[0]!r}")
        out.append(CustomNarrative(name.strip(), description.strip(), examples, float(threshold)))
    names = [n.name for n in out]
    for name in names:
        if names.count(name) > 1:
            raise CustomNarrativesError(f"{path}: narrative {name!r} is defined twice")
    return out


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)


class CustomNarrativeScorer:
    """Scores texts against a list of `CustomNarrative` (see the module docstring)."""

    def __init__(self, narratives: list[CustomNarrative], encoder: Any) -> None:
        self.narratives, self.encoder = narratives, encoder
        texts = [t for n in narratives for t in (n.description, *n.examples)]
        vecs = encoder.embed(texts, prefix=PREFIX)
        background = encoder.embed(_BACKGROUND, prefix=PREFIX)
        self.points = np.zeros((len(narratives), vecs.shape[1]), np.float32)
        self.platt: list[tuple[float, float]] = []
        row, own = 0, []
        for n in narratives:
            k = 1 + len(n.examples)
            own.append(vecs[row : row + k])
            row += k
        for j in range(len(narratives)):
            mine = own[j]
            self.points[j] = _unit(mine.mean(axis=0))
            # leave-one-out: each example against the point made from the description and the others
            pos = [float(_unit(np.delete(mine, i, axis=0).mean(axis=0)) @ mine[i]) for i in range(1, len(mine))]
            others = [v for k, o in enumerate(own) if k != j for v in o[1:]]
            neg = [float(self.points[j] @ v) for v in (*background, *others)]
            # Platt's smoothed targets keep the fit finite when the two groups separate perfectly
            t_pos, t_neg = (len(pos) + 1) / (len(pos) + 2), 1 / (len(neg) + 2)
            self.platt.append(fit_platt([*pos, *neg], [t_pos] * len(pos) + [t_neg] * len(neg)))

    @classmethod
    def from_file(cls, path: str | Path, encoder: Any) -> CustomNarrativeScorer:
        return cls(read_custom_narratives(path), encoder)

    def sentence_scores(self, sentences: list[str]) -> np.ndarray:
        """(sentences, narratives) calibrated scores."""
        if not sentences:
            return np.zeros((0, len(self.narratives)))
        sims = self.encoder.embed(sentences, prefix=PREFIX) @ self.points.T
        a = np.array([p[0] for p in self.platt])
        b = np.array([p[1] for p in self.platt])
        return sigmoid(sims * a + b)

    def score(self, text: str, sentences: list[tuple[int, int]]) -> list[dict[str, Any]]:
        """One entry per narrative, best first: `{narrative, subnarrative: None, score, evidence, custom: True}`."""
        kept = [(s, e) for s, e in sentences if text[s:e].strip()]
        probs = self.sentence_scores([text[s:e] for s, e in kept])
        out = []
        for j, n in enumerate(self.narratives):
            col = probs[:, j] if len(kept) else np.zeros(0)
            best = float(col.max()) if len(col) else 0.0
            top = [i for i in np.argsort(-col)[:EVIDENCE] if col[i] >= n.threshold]
            evidence = [{"start": kept[i][0], "end": kept[i][1]} for i in sorted(top)]
            out.append(
                {
                    "narrative": n.name,
                    "subnarrative": None,
                    "score": round(best, 4),
                    "evidence": evidence,
                    "custom": True,
                }
            )
        return sorted(out, key=lambda d: -d["score"])
