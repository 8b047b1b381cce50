"""The `teacher` stage: a shipped model's token probabilities, the soft targets of distillation."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from unspin.models.base import ENCODERS
from unspin.train.common import load_ptc, load_tokenizer
from unspin.train.techniques.data import (
    OUTPUTS,
    _teacher_file,
    fit_ids,
    ptc_split,
    unlabeled_texts,
    verified_file,
)

LOG = logging.getLogger("unspin.train.techniques")


def stage_teacher(cfg: dict[str, Any], data_dir: Path, work: Path) -> None:
    """Token probabilities of the teacher model (a shipped model, `[distil] teacher`) on the articles
    the weights are fitted on (`fit_ids`) and the unlabelled ones, carried onto the student's tokens;
    one file per article, so an interrupted run resumes."""
    if "distil" not in cfg:
        LOG.info("no [distil] section: no teacher")
        return
    from unspin.techniques.runner import project_probs
    from unspin.techniques.tagger import TechniqueTagger

    dc = cfg["distil"]
    teacher = TechniqueTagger.load(dc["teacher"], threads=int(cfg["train"].get("threads", 1)))
    if teacher.labels != list(OUTPUTS):
        raise SystemExit(f"teacher {dc['teacher']!r} has other outputs than the student")
    articles, _ = load_ptc(data_dir)
    split = ptc_split(cfg, articles)
    texts = {aid: articles[aid] for aid in fit_ids(cfg, split)} | unlabeled_texts(cfg, data_dir)
    tok = load_tokenizer(verified_file(ENCODERS[cfg["model"]["base"]], "tokenizer.json"))
    (work / "teacher").mkdir(parents=True, exist_ok=True)
    t0, done = time.time(), 0
    for key, text in texts.items():
        path = _teacher_file(work, key)
        if path.is_file():
            continue
        tp = teacher.token_probs([text])[0]
        offsets = np.asarray(tok.encode(text, add_special_tokens=False).offsets, dtype=np.int64).reshape(-1, 2)
        missing = np.full((len(offsets), len(OUTPUTS)), np.nan, dtype=np.float32)
        np.save(path, project_probs(tp, offsets, missing).astype(np.float16))
        done += 1
        if done % 20 == 0:
            LOG.info("teacher: %d/%d articles, %.0fs", done, len(texts), time.time() - t0)
    LOG.info("teacher: %d articles labelled (%d new) in %.0fs", len(texts), done, time.time() - t0)
