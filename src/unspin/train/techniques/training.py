"""The `train` stage: the token tagger on the base encoder, fitted with torch (all layers, or the
top layers over cached states of the frozen lower ones)."""

from __future__ import annotations

import json
import logging
import math
import random
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from unspin.models.base import ENCODERS
from unspin.train.common import load_ptc, load_tokenizer, special_ids
from unspin.train.techniques.data import (
    OUTPUTS,
    base_dir_for,
    distil_targets,
    fit_ids,
    fit_on,
    make_windows,
    verified_file,
    write_split,
)

LOG = logging.getLogger("unspin.train.techniques")


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
    split = write_split(cfg, articles, work)
    fit = fit_ids(cfg, split)
    enc = ENCODERS[cfg["model"]["base"]]
    tok = load_tokenizer(verified_file(enc, "tokenizer.json"))
    _, _, pad_id = special_ids(tok)
    window = cfg["model"]["window"]
    targets = None
    if "distil" in cfg:
        # Distillation: the teacher's token probabilities (stage `teacher`) mixed with the gold labels
        # on the training articles, and alone on the unlabelled articles.
        targets, extra = distil_targets(cfg, data_dir, work, articles, labels, fit, tok)
        articles = {**articles, **extra}
    train_ids = fit + (sorted(set(targets) - set(fit)) if targets else [])
    train_w = make_windows(articles, labels, train_ids, tok, window, tc["stride"], targets)
    # a refit on the dev split too has no dev windows: it keeps its last epoch (`_fit`)
    dev_ids = [] if set(split["dev"]) <= set(fit) else split["dev"]
    dev_w = make_windows(articles, labels, dev_ids, tok, window, window - 2)
    LOG.info(
        "articles: %s, fitted on %d (%s) (+%d unlabelled); windows: train %d, dev %d",
        {k: len(v) for k, v in split.items()},
        len(fit),
        ",".join(fit_on(cfg)),
        len(train_ids) - len(fit),
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
    epoch with the lowest dev loss over all outputs (without dev windows, a refit on the dev split too:
    the last epoch, as the recipe fixed it). `batch_logits(indices, train)` gives (logits,
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
        if n_dev == 0:
            LOG.info("epoch %d done: train loss %.4f (%.0fs)", epoch, run_loss / steps_per_epoch, time.time() - t0)
            if epoch == tc["epochs"]:
                shutil.copyfile(work / f"epoch{epoch}.pt", work / "best.pt")
                (work / "best.json").write_text(json.dumps({"epoch": epoch, "train_seconds": time.time() - t0}))
            continue
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
