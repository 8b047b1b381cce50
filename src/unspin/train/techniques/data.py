"""The tagger's training data: PTC articles as token windows with per-token targets (gold, or soft
targets distilled from a teacher), and the split the `train` stage wrote."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from unspin.formats.semeval import PTC_TECHNIQUES, LabelSpan
from unspin.models.base import ENCODERS
from unspin.models.base import verified_file as _verified_file
from unspin.train.common import special_ids, split_ids

LOG = logging.getLogger("unspin.train.techniques")


def verified_file(enc: Any, filename: str) -> Path:
    return _verified_file(enc, filename)


OUTPUTS: tuple[str, ...] = (*PTC_TECHNIQUES, "any")


def token_targets(offsets: list[tuple[int, int]], spans: list[LabelSpan]) -> np.ndarray:
    """[n_tokens, 15] 0/1: a token is positive for a technique when its characters overlap a gold span."""
    y = np.zeros((len(offsets), len(OUTPUTS)), dtype=np.float32)
    if not offsets:
        return y
    starts = np.array([a for a, _ in offsets])
    ends = np.array([b for _, b in offsets])
    col = {t: i for i, t in enumerate(OUTPUTS)}
    for s in spans:
        hit = (starts < s.end) & (ends > s.start) & (ends > starts)
        y[hit, col[s.technique]] = 1.0
    y[:, -1] = y[:, :-1].max(axis=1)
    return y


def make_windows(
    articles: dict[str, str],
    labels: dict[str, list[LabelSpan]],
    ids: list[str],
    tok,
    window: int,
    stride: int,
    targets: dict[str, np.ndarray] | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Training windows of the articles `ids`: token ids with [CLS]/[SEP] and per-token targets, the
    gold 0/1 targets or, for an article in `targets`, those (soft) targets instead."""
    from unspin.techniques.runner import window_starts

    cls_id, sep_id, _ = special_ids(tok)
    out = []
    for aid in ids:
        enc = tok.encode(articles[aid], add_special_tokens=False)
        ids_arr = np.array(enc.ids, dtype=np.int64)
        if targets is not None and aid in targets:
            y = targets[aid]
            if len(y) != len(ids_arr):
                raise SystemExit(f"{aid}: {len(y)} teacher targets for {len(ids_arr)} tokens (stale teacher files?)")
        else:
            y = token_targets(enc.offsets, labels.get(aid, []))
        for a in window_starts(len(ids_arr), window - 2, stride):
            b = min(a + window - 2, len(ids_arr))
            wid = np.concatenate([[cls_id], ids_arr[a:b], [sep_id]])
            wy = np.full((b - a + 2, len(OUTPUTS)), -1.0, dtype=np.float32)  # -1: ignored
            wy[1:-1] = y[a:b]
            out.append((wid, wy))
    return out


def base_dir_for(cfg: dict[str, Any]) -> Path:
    enc = ENCODERS[cfg["model"]["base"]]
    return verified_file(enc, "model.safetensors").parent


def unlabeled_texts(cfg: dict[str, Any], data_dir: Path) -> dict[str, str]:
    """The unlabelled articles named in `[distil] unlabeled` (folders of .txt files, relative to the
    PTC folder), keyed "<folder>/<file stem>"."""
    from unspin.formats.semeval import read_article

    out: dict[str, str] = {}
    for rel in cfg["distil"].get("unlabeled", []):
        folder = (data_dir / rel).resolve()
        files = sorted(folder.glob("*.txt"))
        if not files:
            raise SystemExit(f"{folder}: no .txt files (named in [distil] unlabeled)")
        for path in files:
            text = read_article(path)
            if text.strip():
                out[f"{folder.name}/{path.stem}"] = text
    return out


def _teacher_file(work: Path, key: str) -> Path:
    return work / "teacher" / (key.replace("/", "__") + ".npy")


def distil_targets(
    cfg: dict[str, Any],
    data_dir: Path,
    work: Path,
    articles: dict[str, str],
    labels: dict[str, list[LabelSpan]],
    train_ids: list[str],
    tok,
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Soft per-token targets: on a training article `gold_weight` x gold + the rest x teacher, on an
    unlabelled article the teacher alone (tokens the teacher did not see: gold, or ignored). Returns
    the targets and the unlabelled texts."""
    w = float(cfg["distil"].get("gold_weight", 0.5))
    extra = unlabeled_texts(cfg, data_dir)
    targets: dict[str, np.ndarray] = {}
    for key in [*train_ids, *extra]:
        path = _teacher_file(work, key)
        if not path.is_file():
            raise SystemExit(f"{path}: missing; run the `teacher` stage first")
        soft = np.load(path).astype(np.float32)
        if key in extra:
            targets[key] = np.where(np.isnan(soft), -1.0, soft).astype(np.float32)
        else:
            offsets = tok.encode(articles[key], add_special_tokens=False).offsets
            gold = token_targets(offsets, labels.get(key, []))
            targets[key] = np.where(np.isnan(soft), gold, w * gold + (1 - w) * soft).astype(np.float32)
    return targets, extra


def ptc_split(cfg: dict[str, Any], articles: dict[str, str]) -> dict[str, list[str]]:
    """The config's split of the PTC articles by article (`[split]`: seed and shares)."""
    s = cfg["split"]
    return split_ids(list(articles), s["seed"], s["train"], s["dev"])


def fit_on(cfg: dict[str, Any]) -> list[str]:
    """The splits whose labelled articles the weights are fitted on: `[train] fit_on` (the command
    line's `--fit-on`), the train split alone unless the recipe is being refitted with its choices
    frozen (`refit` stage). ValueError on an unknown split name."""
    names = list(cfg["train"].get("fit_on", ["train"]))
    for n in names:
        if n not in ("train", "dev", "test"):
            raise ValueError(f"fit_on: unknown split {n!r} (train, dev or test)")
    if "train" not in names:
        raise ValueError("fit_on must include the train split")
    return names


def fit_ids(cfg: dict[str, Any], split: dict[str, list[str]]) -> list[str]:
    """The labelled articles the weights are fitted on (`fit_on`'s splits), sorted."""
    return sorted(a for name in fit_on(cfg) for a in split[name])


def write_split(cfg: dict[str, Any], articles: dict[str, str], work: Path) -> dict[str, list[str]]:
    """`ptc_split`, written to the work folder's split.json, where later stages read it (`_split`)."""
    split = ptc_split(cfg, articles)
    work.mkdir(parents=True, exist_ok=True)
    (work / "split.json").write_text(json.dumps(split, indent=1))
    return split


def _split(work: Path) -> dict[str, list[str]]:
    return json.loads((work / "split.json").read_text())


def _gold(labels: dict[str, list[LabelSpan]], ids: list[str], technique: str | None = None) -> list[LabelSpan]:
    return [s for a in ids for s in labels.get(a, []) if technique is None or s.technique == technique]
