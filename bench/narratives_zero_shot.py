"""Your own narratives, zero-shot: the SemEval-2025 taxonomy written as a narratives file, scored on the
task's articles without training, beside always answering "Other".

    python bench/narratives_zero_shot.py [--data-dir ../shared/data/semeval2025-task10/train] [--threads 2]

Every narrative and subnarrative of the taxonomy (their "Other" catch-alls aside) becomes one entry of a
narratives file, read by the same code as `unspin analyze --narratives FILE`: its domain and label as the
description, its label as the one example. An article's labels are the entries that reach a threshold
(and the parents of its subnarratives; a narrative with none of its subnarratives gets "<narrative>:
Other"; nothing gets "Other"). The threshold is chosen on the articles outside the framing model's frozen
test split (`[split]` of configs/framing.toml: sha256 of the id), for the best mean of the two
samples-F1; the test split is scored once with it, and at the file's default (0.5). The trained heads'
numbers on the same test split are in src/unspin/models/framing/MODEL_CARD.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tomllib

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from unspin.document import Document  # noqa: E402
from unspin.eval.framing import NarrativeScores, score_narratives  # noqa: E402
from unspin.formats.semeval2025 import NarrativeLabels, read_documents, read_narrative_labels  # noqa: E402
from unspin.framing.custom import CustomNarrativeScorer  # noqa: E402
from unspin.framing.taxonomy import NARRATIVE_TREE, OTHER  # noqa: E402
from unspin.segment.stage import SegmentStage  # noqa: E402
from unspin.train.framing import is_test  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data" / "semeval2025-task10" / "train"
LANGS = ("EN", "BG", "HI", "PT", "RU")
DOMAINS = {"URW": "The war in Ukraine", "CC": "Climate change"}
GRID = (0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def taxonomy_file() -> tuple[str, list[tuple[str, str | None]]]:
    """(TOML text, [(narrative, subnarrative or None)] in the file's order)."""

    def quoted(s: str) -> str:
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines: list[str] = []
    entries: list[tuple[str, str | None]] = []
    for narrative, subs in NARRATIVE_TREE.items():
        if narrative == OTHER:
            continue
        domain, name = narrative.split(": ", 1)
        for sub in (None, *subs):
            if sub == OTHER:
                continue
            label = narrative if sub is None else f"{narrative}: {sub}"
            words = name if sub is None else f"{name}: {sub}"
            lines += [
                "[[narrative]]",
                f"name = {quoted(label)}",
                f"description = {quoted(DOMAINS[domain] + ': ' + words)}",
                f"examples = [{quoted(name if sub is None else sub)}]",
                "",
            ]
            entries.append((narrative, sub))
    return "\n".join(lines), entries


def sentences(text: str) -> list[tuple[int, int]]:
    """The sentences `analyze` gives the narratives stage (the segment stage's)."""
    return [(s.start, s.end) for s in SegmentStage()(Document(text=text)).sentences]


def decode(scores: np.ndarray, entries: list[tuple[str, str | None]], t: float) -> NarrativeLabels:
    hit = [entries[j] for j in np.nonzero(scores >= t)[0]]
    narratives = sorted({n for n, _ in hit})
    if not narratives:
        return NarrativeLabels((OTHER,), (OTHER,))
    subs = sorted(f"{n}: {s}" for n, s in hit if s is not None)
    for n in narratives:
        if not any(s.startswith(n + ": ") for s in subs) and OTHER in NARRATIVE_TREE[n]:
            subs.append(f"{n}: {OTHER}")
    return NarrativeLabels(tuple(narratives), tuple(sorted(subs)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--languages", nargs="+", default=list(LANGS))
    args = ap.parse_args(argv)
    if not args.data_dir.is_dir():
        print(f"{args.data_dir}: not found (pass --data-dir)", file=sys.stderr)
        return 2
    every = int(tomllib.loads((REPO / "configs" / "framing.toml").read_text(encoding="utf-8"))["split"]["test_every"])
    from unspin.models.e5 import E5Encoder

    text, entries = taxonomy_file()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "taxonomy.toml"
        path.write_text(text, encoding="utf-8")
        scorer = CustomNarrativeScorer.from_file(path, E5Encoder.load(args.threads))
    order = {n.name: j for j, n in enumerate(scorer.narratives)}

    gold: dict[str, NarrativeLabels] = {}
    scores: dict[str, np.ndarray] = {}
    t0 = time.perf_counter()
    for lang in args.languages:
        labels = read_narrative_labels(args.data_dir / lang / "subtask-2-annotations.txt")
        docs = read_documents(args.data_dir / lang)
        for aid in sorted(labels):
            if aid not in docs:
                continue
            row = np.zeros(len(entries))
            for item in scorer.score(docs[aid], sentences(docs[aid])):
                row[order[item["narrative"]]] = item["score"]
            gold[aid], scores[aid] = labels[aid], row
    seconds = time.perf_counter() - t0
    test = [a for a in gold if is_test(a, every)]
    rest = [a for a in gold if not is_test(a, every)]

    def scored(ids: list[str], t: float | None) -> NarrativeScores:
        """Samples-F1 of `ids` decoded at threshold `t` (None: always "Other")."""
        pred = {a: decode(scores[a], entries, t) if t is not None else NarrativeLabels((OTHER,), (OTHER,)) for a in ids}
        return score_narratives({a: gold[a] for a in ids}, pred)

    def quality(t: float) -> float:
        r = scored(rest, t)
        return r.coarse_f1 + r.fine_f1

    best = max(GRID, key=quality)
    print(
        f"# zero-shot narratives: {len(entries)} taxonomy entries, {len(gold)} articles "
        f"({len(test)} in the test split), {seconds / max(1, len(gold)) * 1000:.0f} ms per article"
    )
    print(f"threshold chosen on the {len(rest)} other articles: {best}")
    print()
    print('| language | articles | narratives F1 | subnarratives F1 | at 0.5 | always "Other" |')
    print("|---|---|---|---|---|---|")
    runs = {"chosen": scored(test, best), "default": scored(test, 0.5), "other": scored(test, None)}
    rows = [("all", runs["chosen"], runs["default"], runs["other"])]
    for lang in sorted(runs["chosen"].per_language):
        rows.append(
            (
                lang,
                runs["chosen"].per_language[lang],
                runs["default"].per_language[lang],
                runs["other"].per_language[lang],
            )
        )
    for name, r, d, o in rows:
        print(
            f"| {name} | {r.articles} | {r.coarse_f1:.3f} | {r.fine_f1:.3f} | {d.coarse_f1:.3f} / {d.fine_f1:.3f} "
            f"| {o.coarse_f1:.3f} / {o.fine_f1:.3f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
