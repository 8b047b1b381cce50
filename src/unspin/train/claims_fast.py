"""Training recipe for the fast claims head (`models/claims-fast`, `unspin analyze --claims fast`).

    python -m unspin.train.claims_fast --config configs/claims-fast.toml \\
        --data-dir ../shared/data/checkthat2024-en --out src/unspin/models/claims-fast

Steps: read every CheckThat! sentence in its debate's context (runs of consecutive sentence ids joined
into one text, as an article's sentences sit together) through the technique tagger and keep each
sentence's last hidden states; train one transformer layer (initialised from a MiniLM-L6 layer) with mean
pooling and a linear head over them, on the same grouped split as the claims model (the lab's train and
dev sentences, sorted by id, in contiguous blocks; the held-out blocks choose the epoch, the calibration
and the threshold); export to ONNX and int8; report the held-out blocks and the lab's dev-test (never used
to choose); write `config.json` and `MODEL_CARD.md`.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from unspin.claims.fast import run_layer, sentence_states
from unspin.eval.binary import best_threshold
from unspin.eval.calibration import fit_platt, sigmoid
from unspin.models.base import ENCODERS, package_dir, sha256_file
from unspin.models.onnx import create_session
from unspin.train.checkthat import LabelledSentence, grouped_holdout, read_checkthat_tsv
from unspin.train.claims import evaluate
from unspin.train.claims_refit import frozen_choices, refit_record, refit_rows
from unspin.train.common import load_config
from unspin.train.quantize import quantize

log = logging.getLogger("unspin.train.claims_fast")

REFIT_FROZEN_FAST = ("model", "context", "split", "train", "export")  # what a refit must share with its head

SPLITS = {
    "train": "CT24_checkworthy_english_train.tsv",
    "dev": "CT24_checkworthy_english_dev.tsv",
    "dev-test": "CT24_checkworthy_english_dev-test.tsv",
}


def contexts(rows: list[LabelledSentence], size: int, gap: int) -> list[list[int]]:
    """Runs of sentences with consecutive ids (no jump over `gap`), at most `size` long: the texts the
    tagger reads, as it reads an article."""
    order = sorted(range(len(rows)), key=lambda i: (int(rows[i].sentence_id), i))
    runs: list[list[int]] = []
    for i in order:
        sid = int(rows[i].sentence_id)
        if runs and len(runs[-1]) < size and sid - int(rows[runs[-1][-1]].sentence_id) <= gap:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def read_states(rows: list[LabelledSentence], tagger: Any, cfg: dict[str, Any]) -> list[np.ndarray]:
    """Each sentence's token states from the tagger's pass over its context (float16)."""
    ccfg, max_tokens = cfg["context"], int(cfg["model"]["max_tokens"])
    out: list[np.ndarray] = [np.zeros((0, 0), np.float16)] * len(rows)
    for run in contexts(rows, int(ccfg["sentences"]), int(ccfg["gap"])):
        text, bounds = "", []
        for i in run:
            s = rows[i].text.strip()
            bounds.append((len(text), len(text) + len(s)))
            text += s + " "
        states, offsets = tagger.token_states(text)
        for i, seq in zip(run, sentence_states(states, offsets, bounds, max_tokens), strict=True):
            out[i] = seq.astype(np.float16)
    return out


class Head(nn.Module):
    """`layers` BERT layers of the base encoder (from `first`), mean pooling, dropout, one logit."""

    def __init__(self, base_dir: Path, first: int, layers: int, dropout: float, prior: float) -> None:
        super().__init__()
        from transformers import BertModel

        bert = BertModel.from_pretrained(str(base_dir), add_pooling_layer=False)
        self.layers = nn.ModuleList(bert.encoder.layer[first : first + layers])
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(bert.config.hidden_size, 1)
        nn.init.normal_(self.head.weight, std=0.02)
        nn.init.constant_(self.head.bias, math.log(prior / (1 - prior)))

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        bias = (1.0 - mask[:, None, None, :].to(states.dtype)) * -1e4
        h = states
        for layer in self.layers:
            out = layer(h, attention_mask=bias)
            h = out[0] if isinstance(out, tuple) else out
        m = mask.unsqueeze(-1).to(h.dtype)
        pooled = (h * m).sum(1) / m.sum(1).clamp(min=1.0)
        return self.head(self.dropout(pooled)).squeeze(-1)


def _batch(seqs: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(1, max(len(s) for s in seqs))
    dim = next((s.shape[1] for s in seqs if len(s)), 384)
    states = torch.zeros(len(seqs), width, dim)
    mask = torch.zeros(len(seqs), width, dtype=torch.long)
    for i, s in enumerate(seqs):
        if len(s):
            states[i, : len(s)] = torch.from_numpy(s.astype(np.float32))
            mask[i, : len(s)] = 1
    return states, mask


@torch.no_grad()
def torch_logits(model: Head, seqs: list[np.ndarray]) -> np.ndarray:
    model.eval()
    out = np.full(len(seqs), -np.inf)
    idx = sorted((i for i, s in enumerate(seqs) if len(s)), key=lambda i: len(seqs[i]))
    for b0 in range(0, len(idx), 256):
        chunk = idx[b0 : b0 + 256]
        out[chunk] = model(*_batch([seqs[i] for i in chunk])).double().numpy()
    return out


def train(
    cfg: dict[str, Any], fit: tuple[list, np.ndarray], val: tuple[list, np.ndarray], keep_epoch: int | None = None
) -> tuple[Head, list]:
    """Fine-tune; returns the best epoch's model (by held-out F1 at its best threshold), or epoch
    `keep_epoch`'s when given (a refit: nothing held out chooses), and the history."""
    mcfg, tcfg = cfg["model"], cfg["train"]
    seed = int(tcfg["seed"])
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    seqs, y = fit
    base = package_dir(ENCODERS[mcfg["base_encoder"]])
    model = Head(base, int(mcfg["first_layer"]), int(mcfg["layers"]), float(mcfg["dropout"]), float(y.mean()))
    bs, epochs, group = int(tcfg["batch_size"]), int(tcfg["epochs"]), int(tcfg["length_bucket_batches"])
    opt = torch.optim.AdamW(
        [
            {"params": model.layers.parameters(), "lr": float(tcfg["lr"])},
            {"params": model.head.parameters(), "lr": float(tcfg["head_lr"])},
        ],
        weight_decay=float(tcfg["weight_decay"]),
    )
    total = epochs * math.ceil(len(seqs) / bs)
    warm = int(float(tcfg["warmup_ratio"]) * total)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: s / max(1, warm) if s < warm else max(0.0, (total - s) / max(1, total - warm))
    )
    loss_fn = nn.BCEWithLogitsLoss()
    history, best_state = [], None
    for epoch in range(epochs):
        t0 = time.time()
        model.train()
        rng = random.Random(seed * 1000 + epoch)
        order = list(range(len(seqs)))
        rng.shuffle(order)
        batches = []
        for g0 in range(0, len(order), bs * group):
            chunk = sorted(order[g0 : g0 + bs * group], key=lambda i: len(seqs[i]))
            batches += [chunk[b : b + bs] for b in range(0, len(chunk), bs)]
        rng.shuffle(batches)
        run_loss = 0.0
        for idx in batches:
            loss = loss_fn(model(*_batch([seqs[i] for i in idx])), torch.tensor(y[idx], dtype=torch.float32))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), float(tcfg["grad_clip"]))
            opt.step()
            sched.step()
            run_loss += float(loss.detach()) * len(idx)
        f1 = best_threshold(list(val[1]), sigmoid(torch_logits(model, val[0])))[1] if len(val[1]) else float("nan")
        history.append(
            {"epoch": epoch + 1, "train_loss": run_loss / len(seqs), "dev_f1": f1, "seconds": time.time() - t0}
        )
        loss = run_loss / len(seqs)
        log.info("epoch %d: loss %.4f, held-out F1 %.4f (%.0f s)", epoch + 1, loss, f1, time.time() - t0)
        kept = epoch + 1 == keep_epoch if keep_epoch is not None else f1 >= max(h["dev_f1"] for h in history)
        if kept:
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    return model, history


def export(model: Head, fp32: Path, int8: Path, ecfg: dict[str, Any]) -> None:
    model.eval()
    states, mask = torch.randn(2, 9, model.head.in_features), torch.ones(2, 9, dtype=torch.long)
    mask[1, 5:] = 0
    torch.onnx.export(
        model,
        (states, mask),
        str(fp32),
        input_names=["states", "mask"],
        output_names=["logits"],
        dynamic_axes={"states": {0: "batch", 1: "seq"}, "mask": {0: "batch", 1: "seq"}, "logits": {0: "batch"}},
        opset_version=int(ecfg["opset"]),
        do_constant_folding=True,
        dynamo=False,
    )
    quantize(fp32, int8, bool(ecfg.get("per_channel", True)), bool(ecfg.get("reduce_range", True)))


def run(
    cfg: dict[str, Any],
    data_dir: Path,
    out: Path,
    work: Path,
    refit: Path | None = None,
    check_block: int | None = None,
) -> dict[str, Any]:
    """The recipe; with `refit` (a finished head's folder), fit on every block with that head's epoch,
    calibration and threshold frozen (and with `check_block`, hold that block out to check the refit)."""
    from unspin.techniques.tagger import TechniqueTagger
    from unspin.train.claims_fast_card import write_card

    t_start = time.time()
    mcfg, scfg = cfg["model"], cfg["split"]
    torch.set_num_threads(int(cfg["train"]["threads"]))
    rows = {s: read_checkthat_tsv(data_dir / f) for s, f in SPLITS.items()}
    frozen_config: dict[str, Any] | None = None
    frozen: dict[str, Any] = {}
    if refit is not None:
        frozen_config = json.loads((refit / "config.json").read_text(encoding="utf-8"))
        frozen = frozen_choices(cfg, frozen_config, str(refit), REFIT_FROZEN_FAST)
        fit_rows, val_rows = refit_rows(rows, scfg, check_block)
        log.info("refit of %s: fitted on %d sentences, frozen %s", refit, len(fit_rows), frozen)
    else:
        fit_rows, val_rows = grouped_holdout(rows["train"] + rows["dev"], int(scfg["blocks"]), list(scfg["held"]))
    tagger = TechniqueTagger.load(mcfg["technique_model"], threads=int(cfg["train"]["threads"]))
    if not tagger.has_hidden:
        raise SystemExit(f"technique model {mcfg['technique_model']!r} has no 'hidden' output")
    tag = tagger.config["files"]["model.onnx"]
    data = {}
    for name, part in (("fit", fit_rows), ("held-out", val_rows), ("dev-test", rows["dev-test"])):
        if not part:  # a refit without a check block holds nothing out
            data[name] = ([], np.zeros(0, dtype=int))
            continue
        t0 = time.time()
        data[name] = (read_states(part, tagger, cfg), np.array([r.label for r in part]))
        log.info("%s: %d sentences read through the tagger (%.0f s)", name, len(part), time.time() - t0)
    fit = data["fit"]
    distilled: dict[str, Any] | None = None
    if "distill" in cfg:  # a stronger claims model's scores mixed into the targets (no news sentences here)
        from unspin.train.claims_distill import soft_targets, teacher_logits

        dcfg = cfg["distill"]
        t_logits = teacher_logits(dcfg, [r.text for r in fit_rows], Path(dcfg["cache"]))
        fit = (fit[0], np.array(soft_targets(list(fit[1]), t_logits, float(dcfg["weight"]))))
        distilled = {"teacher_config": dcfg["teacher_config"], "weight": float(dcfg["weight"])}
        log.info("targets: gold mixed with the teacher at weight %.2f", float(dcfg["weight"]))
    model, history = train(cfg, fit, data["held-out"], frozen.get("epoch"))
    work.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    fp32, int8 = work / "claims-fast.fp32.onnx", out / cfg["export"]["model_file"]
    export(model, fp32, int8, cfg["export"])
    session, _ = create_session(int8, threads=int(cfg["train"]["threads"]))
    scored = [name for name, (seqs, _) in data.items() if name != "fit" and seqs]
    logits = {name: run_layer(session, data[name][0], batch_size=1) for name in scored}
    if frozen_config is not None:
        return _write_refit(frozen_config, frozen, data, logits, history, int8, out, check_block, t_start)
    ref = torch_logits(model, data["held-out"][0])
    finite = np.isfinite(ref)
    gap = float(np.abs(ref[finite] - logits["held-out"][finite]).max())
    log.info("max |torch - int8| logit on held-out: %.3f", gap)
    y_val = data["held-out"][1]
    z_val = np.where(np.isfinite(logits["held-out"]), logits["held-out"], -30.0)
    a, b = fit_platt(z_val, y_val)
    threshold, _ = best_threshold(list(y_val), sigmoid(a * z_val + b))
    metrics = {name: evaluate(list(data[name][1]), logits[name], a, b, threshold) for name in logits}
    log.info("held-out F1 %.4f, dev-test F1 %.4f", metrics["held-out"]["f1"], metrics["dev-test"]["f1"])
    config = {
        "task": "check-worthy claim detection (sentence level, English), from the technique tagger's pass",
        "model_file": int8.name,
        "files": {int8.name: sha256_file(int8)},  # checked at load (unspin.models.folder.read_config)
        "model_bytes": int8.stat().st_size,
        "technique_model": mcfg["technique_model"],
        "technique_model_sha256": tag,
        "base_encoder": ENCODERS[mcfg["base_encoder"]].name,
        "base_package": ENCODERS[mcfg["base_encoder"]].pip_name,
        "layers": f"layer {int(mcfg['first_layer']) + 1} of {ENCODERS[mcfg['base_encoder']].name}"
        + (f" and the {int(mcfg['layers']) - 1} above it" if int(mcfg["layers"]) > 1 else ""),
        "max_tokens": int(mcfg["max_tokens"]),
        "calibration": {"method": "platt", "a": a, "b": b, "fitted_on": "held-out blocks"},
        "threshold": threshold,
        "best_epoch": max(history, key=lambda h: h["dev_f1"])["epoch"],
        "history": history,
        "data": {name: {"sentences": len(y), "yes": int(y.sum())} for name, (_, y) in data.items()},
        "metrics": metrics,
        "training_seconds": time.time() - t_start,
        "train_config": cfg,
    }
    if distilled is not None:
        config["distill"] = distilled
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    write_card(out / "MODEL_CARD.md", config)
    log.info("wrote %s (%.0f s)", out, time.time() - t_start)
    return config


def _write_refit(
    frozen_config: dict[str, Any],
    frozen: dict[str, Any],
    data: dict[str, Any],
    logits: dict[str, np.ndarray],
    history: list[dict[str, Any]],
    int8: Path,
    out: Path,
    check_block: int | None,
    t_start: float,
) -> dict[str, Any]:
    """A refit's config.json and card: the finished head's, with the refitted file and what the refit
    measured (dev-test, and its check block) under `refit`."""
    from unspin.train.claims_fast_card import write_card

    names = {"dev-test": "dev-test", **({"check": "held-out"} if check_block is not None else {})}
    metrics = {
        name: evaluate(
            list(data[part][1]),
            np.where(np.isfinite(logits[part]), logits[part], -30.0),
            frozen["a"],
            frozen["b"],
            frozen["threshold"],
        )
        for name, part in names.items()
    }
    for name, m in metrics.items():
        log.info("refit, frozen threshold: %s F1 %.4f P %.4f R %.4f", name, m["f1"], m["precision"], m["recall"])
    config = json.loads(json.dumps(frozen_config))
    config.update(files={int8.name: sha256_file(int8)}, model_bytes=int8.stat().st_size)
    config["refit"] = refit_record(
        frozen_config["files"][frozen_config["model_file"]],
        data["fit"][1],
        data["held-out"][1],
        check_block,
        metrics,
        history,
        time.time() - t_start,
    )
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    write_card(out / "MODEL_CARD.md", config)
    log.info("wrote %s (%.0f s)", out, time.time() - t_start)
    return config


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", type=Path, default=Path("configs/claims-fast.toml"))
    ap.add_argument("--data-dir", type=Path, required=True, help="folder with the CheckThat! 2024 English TSVs")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "models" / "claims-fast")
    ap.add_argument("--work-dir", type=Path, default=Path("runs/claims-fast"))
    ap.add_argument("--seed", type=int, default=None, help="training seed (default: the config's)")
    ap.add_argument("--card-only", action="store_true", help="rewrite MODEL_CARD.md from config.json")
    ap.add_argument(
        "--refit",
        type=Path,
        default=None,
        help="a finished head's folder: fit on every block with its epoch, calibration and threshold frozen",
    )
    ap.add_argument(
        "--refit-check", type=int, default=None, help="with --refit: hold this block out and score the refit on it"
    )
    args = ap.parse_args(argv)
    if args.refit_check is not None and args.refit is None:
        ap.error("--refit-check needs --refit")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    if args.card_only:
        from unspin.train.claims_fast_card import write_card

        write_card(args.out / "MODEL_CARD.md", json.loads((args.out / "config.json").read_text(encoding="utf-8")))
        return 0
    cfg = load_config(args.config)
    if args.seed is not None:
        cfg["train"]["seed"] = args.seed
    run(cfg, args.data_dir, args.out, args.work_dir, args.refit, args.refit_check)
    return 0


if __name__ == "__main__":
    sys.exit(main())
