"""Helpers the training recipes share: the config file, the PTC data and its split by article, the
base tokenizer, and the layout of the config.json a recipe writes."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from unspin.formats.semeval import LabelSpan, read_articles, read_labels


def load_config(path: str | Path, seed: int | None = None) -> dict[str, Any]:
    """A training config (TOML); `seed` replaces `[train] seed` (the split keeps `[split] seed`, so
    runs with different seeds are scored on the same held-out articles)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    with open(path, "rb") as fh:
        cfg = tomllib.load(fh)
    if seed is not None:
        cfg.setdefault("train", {})["seed"] = int(seed)
    return cfg


def split_ids(ids: list[str], seed: int, train: float, dev: float) -> dict[str, list[str]]:
    """Split article IDs by article with a fixed seed (sorted first, so the split is reproducible)."""
    order = sorted(ids)
    random.Random(seed).shuffle(order)
    n_train = round(len(order) * train)
    n_dev = round(len(order) * dev)
    return {
        "train": sorted(order[:n_train]),
        "dev": sorted(order[n_train : n_train + n_dev]),
        "test": sorted(order[n_train + n_dev :]),
    }


def load_ptc(data_dir: Path) -> tuple[dict[str, str], dict[str, list[LabelSpan]]]:
    articles = read_articles(data_dir / "train-articles")
    labels: dict[str, list[LabelSpan]] = {aid: [] for aid in articles}
    for s in read_labels(data_dir / "train-task-flc-tc.labels", "flc"):
        labels.setdefault(s.article_id, []).append(s)
    return articles, labels


def load_tokenizer(path: Path):  # -> tokenizers.Tokenizer
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(path))
    tok.no_truncation()
    tok.no_padding()
    return tok


def special_ids(tok) -> tuple[int, int, int]:
    """(cls, sep, pad) token ids, as the tokenizer's own post-processor places them (BERT's
    [CLS]/[SEP], MPNet's <s>/</s>), and the matching padding token."""
    from unspin.techniques.runner import special_token_ids

    return special_token_ids(tok)


def config_json(obj: Any) -> str:
    """JSON with one key per line but every list of numbers on one line (the TC weight matrices would
    otherwise take a line per number)."""
    import re

    text = json.dumps(obj, indent=1)

    def one_line(m: re.Match[str]) -> str:
        return "[" + ", ".join(x.strip() for x in m.group(1).split(",")) + "]"

    return re.sub(r"\[\s*([-0-9.eE+]+(?:,\s*[-0-9.eE+]+)*)\s*\]", one_line, text) + "\n"
