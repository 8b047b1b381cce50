"""Teaching the claims model with a stronger one (the `[distill]` section of a claims config).

The teacher is a claims model trained by the same recipe on the same grouped split: a run of it in torch
(`teacher_config` and `teacher_work`; for example `configs/claims-teacher.toml`, MPNet-base: too slow to
ship, about 1k tokens/s on 2 cores), or a finished model folder in ONNX (`teacher_model`; for example the
shipped claims model teaching a shallower one). Its scores
become soft targets: on the student's own training sentences mixed with the gold label
(`(1 - weight) * gold + weight * p_teacher`), and on sentences of news articles, which have no label
and take the teacher's probability alone. The held-out blocks that choose the student's epoch,
calibration and threshold are never scored by the teacher, so the student's grouped estimate stays as
honest as before. Teacher scores are cached in the student's work folder, one per text, so that a run on
other blocks of the same sentences (a refit) scores only the texts it has not seen.
"""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path
from typing import Any

import numpy as np

from unspin.formats.semeval import read_articles
from unspin.train.common import load_config

log = logging.getLogger("unspin.train.claims")


def news_sentences(dirs: list[Path], limit: int, seed: int, min_words: int = 4) -> list[str]:
    """Lines of the `article*.txt` files of `dirs` (one sentence per line, as in the PTC), titles
    included, those of fewer than `min_words` words left out, each text once; a seeded sample of
    `limit` when there are more."""
    seen: set[str] = set()
    out: list[str] = []
    for d in dirs:
        for text in read_articles(d).values():
            for line in text.splitlines():
                line = line.strip()
                if len(line.split()) >= min_words and line not in seen:
                    seen.add(line)
                    out.append(line)
    if len(out) > limit:
        out = random.Random(seed).sample(out, limit)
    return out


def soft_targets(gold: list[int], teacher_logits: np.ndarray, weight: float) -> list[float]:
    """Gold labels mixed with the teacher's probabilities."""
    p = 1.0 / (1.0 + np.exp(-np.asarray(teacher_logits, dtype=np.float64)))
    return [float((1.0 - weight) * g + weight * q) for g, q in zip(gold, p, strict=True)]


def _onnx_teacher_logits(model_dir: Path, texts: list[str]) -> np.ndarray:
    """Calibrated logits of a finished claims model (its probability is the target), each text on its own."""
    from unspin.claims.detector import ClaimDetector

    detector = ClaimDetector.load(model_dir)
    log.info("teacher: %s scores %d sentences", model_dir, len(texts))
    p = np.clip(np.asarray(detector.score(texts), dtype=np.float64), 1e-6, 1 - 1e-6)
    return np.log(p / (1.0 - p))


def teacher_info(dcfg: dict[str, Any]) -> dict[str, Any]:
    """What the model card says of the teacher."""
    if "teacher_model" in dcfg:
        card = json.loads((Path(dcfg["teacher_model"]) / "config.json").read_text(encoding="utf-8"))
        return {
            "teacher_model": str(dcfg["teacher_model"]),
            "teacher_encoder": f"{card['base_encoder']}, lower {card['num_layers']} layers",
            "teacher_grouped_f1": float(card["metrics"]["int8"]["dev"]["f1"]),
            "teacher_sha256": str(card["model_sha256"]),
        }
    history = json.loads((Path(dcfg["teacher_work"]) / "history.json").read_text(encoding="utf-8"))
    best = max(history, key=lambda h: h["dev_f1"])
    teacher_cfg = load_config(Path(dcfg["teacher_config"]))
    return {
        "teacher_config": str(dcfg["teacher_config"]),
        "teacher_encoder": teacher_cfg["model"]["base_encoder"],
        "teacher_epoch": int(best["epoch"]),
        "teacher_grouped_f1": float(best["dev_f1"]),
        "teacher_training_seconds": float(sum(h["seconds"] for h in history if h["epoch"] <= best["epoch"])),
    }


def _torch_teacher_logits(dcfg: dict[str, Any], texts: list[str]) -> np.ndarray:
    """Logits of a torch run's best epoch by the grouped validation."""
    import torch

    from unspin.claims.detector import load_tokenizer
    from unspin.models.base import ENCODERS, package_dir
    from unspin.train.claims import ClaimClassifier, encode, torch_logits

    tcfg = load_config(Path(dcfg["teacher_config"]))
    work = Path(dcfg["teacher_work"])
    history = json.loads((work / "history.json").read_text(encoding="utf-8"))
    best = max(history, key=lambda h: h["dev_f1"])
    mcfg = tcfg["model"]
    base = package_dir(ENCODERS[mcfg["base_encoder"]])
    model = ClaimClassifier(base, float(mcfg["dropout"]), 0.5, mcfg.get("num_layers"))
    model.load_state_dict(torch.load(work / best["weights"], map_location="cpu"))
    tokenizer = load_tokenizer(base / "tokenizer.json", int(mcfg["max_length"]))
    log.info(
        "teacher: %s epoch %d (grouped F1 %.4f) scores %d sentences", work, best["epoch"], best["dev_f1"], len(texts)
    )
    return torch_logits(model, encode(tokenizer, texts), batch_size=64)


def teacher_logits(dcfg: dict[str, Any], texts: list[str], cache: Path) -> np.ndarray:
    """The teacher's logits for `texts` (a finished ONNX model, or a torch run's best epoch by the
    grouped validation), cached in `cache` one per text: texts scored before are read from it, the
    others scored and added."""
    known: dict[str, float] = {}
    if cache.exists():
        stored = np.load(cache, allow_pickle=False)
        if "texts" in stored:
            known = dict(zip(stored["texts"].tolist(), stored["logits"].tolist(), strict=True))
    missing = list(dict.fromkeys(t for t in texts if t not in known))
    if missing:
        if "teacher_model" in dcfg:
            scored = _onnx_teacher_logits(Path(dcfg["teacher_model"]), missing)
        else:
            scored = _torch_teacher_logits(dcfg, missing)
        known.update(zip(missing, (float(x) for x in scored), strict=True))
        tmp = cache.with_suffix(".tmp.npz")
        np.savez(tmp, texts=np.array(list(known), dtype=str), logits=np.array(list(known.values())))
        tmp.replace(cache)
    else:
        log.info("teacher scores from %s", cache)
    return np.array([known[t] for t in texts], dtype=np.float64)


def add_distillation(cfg: dict[str, Any], data: dict[str, Any], tokenizer: Any, work: Path) -> dict[str, Any]:
    """Give `data["train"]` soft `targets` and add `data["news"]` (texts, ids, targets) as the
    `[distill]` section says; returns what the model card says of it."""
    from unspin.train.claims import encode

    dcfg = cfg["distill"]
    weight = float(dcfg.get("weight", 0.5))
    train = data["train"]
    logits = teacher_logits(dcfg, train["texts"], work / "teacher-train.npz")
    train["targets"] = soft_targets(train["labels"], logits, weight)
    agree = float(np.mean((logits > 0) == np.asarray(train["labels"], dtype=bool)))
    log.info("teacher agrees with the gold label on %.3f of the training sentences", agree)
    info: dict[str, Any] = {
        **teacher_info(dcfg),
        "weight": weight,
        "teacher_train_agreement": agree,
        "news_sentences": 0,
    }
    dirs = [Path(d) for d in dcfg.get("news_dirs", [])]
    if not dirs:
        return info
    news = news_sentences(dirs, int(dcfg.get("news_sentences", 20000)), int(cfg["train"]["seed"]))
    nlogits = teacher_logits(dcfg, news, work / "teacher-news.npz")
    p = 1.0 / (1.0 + np.exp(-nlogits))
    data["news"] = {"texts": news, "ids": encode(tokenizer, news), "targets": [float(x) for x in p]}
    log.info("news: %d sentences, teacher says Yes to %.3f of them", len(news), float(np.mean(p > 0.5)))
    info["news_sentences"] = len(news)
    info["news_yes_share"] = float(np.mean(p > 0.5))
    return info
