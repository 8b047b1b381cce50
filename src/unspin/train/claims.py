"""Training recipe for the check-worthy claims classifier (the only place torch is imported).

    python -m unspin.train.claims --config configs/claims.toml \\
        --data-dir /work/shared/data/checkthat2024-en --out src/unspin/models/claims

Steps: fine-tune MiniLM-L6 (mean pooling + linear head, one logit) on the train split with a fixed
seed; keep the epoch with the best dev F1; export to ONNX (dynamic batch and sequence axes);
quantise to dynamic int8; fit Platt scaling and the decision threshold on the int8 model's dev
scores; report F1/P/R of the Yes class and the calibration error on dev and dev-test (dev-test is
never used to choose anything); write `config.json` and `MODEL_CARD.md` next to the model.

Checkpoints go to `--work-dir` (default `runs/claims`) every `--save-every` steps and after each
epoch, so an interrupted run continues where it stopped when started again with the same arguments.
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
import torch
from torch import nn

from unspin.claims.detector import CONFIG_NAME, ClaimDetector, load_tokenizer, onnx_logits
from unspin.eval.binary import best_threshold, prf
from unspin.eval.calibration import expected_calibration_error, fit_platt, sigmoid
from unspin.models.base import ENCODERS, package_dir, sha256_file
from unspin.models.onnx import create_session
from unspin.train.checkthat import grouped_holdout, read_checkthat_tsv
from unspin.train.claims_card import write_card
from unspin.train.claims_refit import frozen_choices, refit_config, refit_rows
from unspin.train.common import load_config
from unspin.train.quantize import quantize

log = logging.getLogger("unspin.train.claims")

SPLITS = {
    "train": "CT24_checkworthy_english_train.tsv",
    "dev": "CT24_checkworthy_english_dev.tsv",
    "dev-test": "CT24_checkworthy_english_dev-test.tsv",
}


class ClaimClassifier(nn.Module):
    """A transformer encoder (BERT or MPNet), mean pooling over real tokens, dropout, one logit."""

    def __init__(self, encoder_dir: Path, dropout: float, prior: float, num_layers: int | None = None) -> None:
        super().__init__()
        from transformers import AutoModel

        self.encoder = AutoModel.from_pretrained(str(encoder_dir), add_pooling_layer=False)
        self.segment_ids = self.encoder.config.model_type == "bert"  # MPNet takes no token types
        if num_layers and num_layers < self.encoder.config.num_hidden_layers:
            # keep the lower layers only: fewer layers, proportionally faster inference
            self.encoder.encoder.layer = self.encoder.encoder.layer[:num_layers]
            self.encoder.config.num_hidden_layers = num_layers
        hidden = self.encoder.config.hidden_size
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, 1)
        nn.init.normal_(self.head.weight, std=0.02)
        nn.init.constant_(self.head.bias, math.log(prior / (1 - prior)))  # start at the base rate

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        extra = {"token_type_ids": torch.zeros_like(input_ids)} if self.segment_ids else {}
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask, **extra).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return self.head(self.dropout(pooled)).squeeze(-1)


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def encode(tokenizer: Any, texts: list[str]) -> list[list[int]]:
    return [e.ids for e in tokenizer.encode_batch(texts)]


def pad(seqs: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(s) for s in seqs)
    ids = torch.zeros((len(seqs), width), dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
        mask[i, : len(s)] = 1
    return ids, mask


def epoch_batches(lengths: list[int], batch_size: int, group: int, seed: int) -> list[list[int]]:
    """Shuffled batches of similar length: shuffle, sort inside groups of `group` batches, shuffle batches."""
    rng = random.Random(seed)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    span = batch_size * group
    batches: list[list[int]] = []
    for g0 in range(0, len(order), span):
        chunk = sorted(order[g0 : g0 + span], key=lambda i: lengths[i])
        batches.extend(chunk[b : b + batch_size] for b in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


@torch.no_grad()
def torch_logits(model: ClaimClassifier, seqs: list[list[int]], batch_size: int = 128) -> np.ndarray:
    model.eval()
    out = np.zeros(len(seqs), dtype=np.float64)
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    for b0 in range(0, len(order), batch_size):
        idx = order[b0 : b0 + batch_size]
        ids, mask = pad([seqs[i] for i in idx])
        out[idx] = model(ids, mask).double().numpy()
    return out


def dev_f1(labels: list[int], logits: np.ndarray) -> tuple[float, float]:
    t, f1 = best_threshold(labels, sigmoid(logits))
    return f1, t


def _optimizer(model: ClaimClassifier, tcfg: dict[str, Any], total: int) -> tuple[Any, Any]:
    """AdamW (no weight decay on biases, norms and the head; the head at its own rate) and the
    schedule: linear warm-up over `warmup_ratio` of the `total` steps, then linear decay to zero."""
    head_params = list(model.head.parameters())
    no_decay = [p for n, p in model.encoder.named_parameters() if p.ndim < 2]
    decay = [p for n, p in model.encoder.named_parameters() if p.ndim >= 2]
    opt = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": float(tcfg["weight_decay"]), "lr": float(tcfg["lr"])},
            {"params": no_decay, "weight_decay": 0.0, "lr": float(tcfg["lr"])},
            {"params": head_params, "weight_decay": 0.0, "lr": float(tcfg["head_lr"])},
        ]
    )
    warmup = max(1, int(total * float(tcfg["warmup_ratio"])))

    def lr_factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total - step) / max(1, total - warmup))

    return opt, torch.optim.lr_scheduler.LambdaLR(opt, lr_factor)


def _resume(ckpt_path: Path, model: ClaimClassifier, opt: Any, sched: Any) -> tuple[int, int]:
    """Load an interrupted run's checkpoint, if there is one; returns (epoch, step in epoch) to go on from."""
    if not ckpt_path.exists():
        return 0, 0
    ck = torch.load(ckpt_path, map_location="cpu", weights_only=False)
    model.load_state_dict(ck["model"])
    opt.load_state_dict(ck["optimizer"])
    sched.load_state_dict(ck["scheduler"])
    torch.set_rng_state(ck["torch_rng"])
    log.info("resumed from %s at epoch %d step %d", ckpt_path, ck["epoch"], ck["step_in_epoch"])
    return ck["epoch"], ck["step_in_epoch"]


def _end_epoch(
    model: ClaimClassifier,
    data: dict[str, Any],
    work: Path,
    epoch: int,
    history: list[dict[str, Any]],
    train_loss: float,
    t0: float,
) -> list[dict[str, Any]]:
    """Score the epoch on dev, keep its weights, and write the history with this epoch's entry
    (replacing one from an interrupted run); returns the history."""
    if data["dev"]["ids"]:
        f1, thr = dev_f1(data["dev"]["labels"], torch_logits(model, data["dev"]["ids"]))
    else:  # a refit on every block: nothing to score, the epoch is frozen
        f1, thr = float("nan"), float("nan")
    weights = work / f"epoch{epoch}.pt"
    torch.save(model.state_dict(), weights)
    history = [h for h in history if h["epoch"] != epoch]
    history.append(
        {
            "epoch": epoch,
            "dev_f1": f1,
            "dev_threshold": thr,
            "weights": weights.name,
            "train_loss": train_loss,
            "seconds": time.time() - t0,
        }
    )
    (work / "history.json").write_text(json.dumps(history, indent=2))
    log.info("epoch %d done: dev F1 %.4f (threshold %.3f), %.0fs", epoch, f1, thr, time.time() - t0)
    return history


def train(
    cfg: dict[str, Any],
    data: dict[str, Any],
    work: Path,
    save_every: int,
    max_steps: int | None,
    keep_epoch: int | None = None,
) -> Path:
    """Fine-tune; returns the path of the best epoch's weights (by dev F1), or of epoch `keep_epoch`
    when that is given (a refit, whose epoch was chosen by the run it refits)."""
    mcfg, tcfg = cfg["model"], cfg["train"]
    enc = ENCODERS[mcfg["base_encoder"]]
    prior = float(np.mean(data["train"]["labels"]))
    set_seed(int(tcfg["seed"]))
    model = ClaimClassifier(package_dir(enc), float(mcfg["dropout"]), prior, mcfg.get("num_layers"))

    # gold labels, or soft targets where a teacher mixed in (and its news sentences, which have no label)
    seqs = list(data["train"]["ids"])
    labels = [float(y) for y in data["train"].get("targets", data["train"]["labels"])]
    if "news" in data:
        seqs += data["news"]["ids"]
        labels += data["news"]["targets"]
    lengths = [len(s) for s in seqs]
    bs, group, epochs = int(tcfg["batch_size"]), int(tcfg["length_bucket_batches"]), int(tcfg["epochs"])
    opt, sched = _optimizer(model, tcfg, math.ceil(len(seqs) / bs) * epochs)
    loss_fn = nn.BCEWithLogitsLoss()

    ckpt_path = work / "checkpoint.pt"
    history_path = work / "history.json"
    history: list[dict[str, Any]] = json.loads(history_path.read_text()) if history_path.exists() else []
    start_epoch, start_step = _resume(ckpt_path, model, opt, sched)

    def save(epoch: int, step_in_epoch: int) -> None:
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save(
            {
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(),
                "epoch": epoch,
                "step_in_epoch": step_in_epoch,
                "torch_rng": torch.get_rng_state(),
            },
            tmp,
        )
        tmp.replace(ckpt_path)

    global_done = 0
    t_start = time.time()
    for epoch in range(start_epoch, epochs):
        batches = epoch_batches(lengths, bs, group, int(tcfg["seed"]) * 1000 + epoch)
        model.train()
        run_loss, run_n, t0 = 0.0, 0, time.time()
        first = start_step if epoch == start_epoch else 0
        for step in range(first, len(batches)):
            idx = batches[step]
            ids, mask = pad([seqs[i] for i in idx])
            y = torch.tensor([labels[i] for i in idx], dtype=torch.float32)
            loss = loss_fn(model(ids, mask), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), float(tcfg["grad_clip"]))
            opt.step()
            sched.step()
            run_loss += float(loss.detach()) * len(idx)
            run_n += len(idx)
            global_done += 1
            if (step + 1) % 50 == 0:
                rate = run_n / (time.time() - t0)
                log.info(
                    "epoch %d step %d/%d loss %.4f lr %.2e %.0f sent/s",
                    epoch + 1,
                    step + 1,
                    len(batches),
                    run_loss / run_n,
                    sched.get_last_lr()[0],
                    rate,
                )
            if (step + 1) % save_every == 0:
                save(epoch, step + 1)
            if max_steps is not None and global_done >= max_steps:
                break
        history = _end_epoch(model, data, work, epoch + 1, history, run_loss / max(1, run_n), t0)
        save(epoch + 1, 0)
        if max_steps is not None and global_done >= max_steps:
            break
    log.info("training loop %.0fs", time.time() - t_start)
    if keep_epoch is not None:
        best = next(h for h in history if h["epoch"] == keep_epoch)
        log.info("epoch %d kept, as frozen", keep_epoch)
    else:
        best = max(history, key=lambda h: h["dev_f1"])
        log.info("best epoch %d (dev F1 %.4f)", best["epoch"], best["dev_f1"])
    return work / best["weights"]


class _Export(nn.Module):
    def __init__(self, model: ClaimClassifier) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids, attention_mask)


def export_onnx(model: ClaimClassifier, path: Path, opset: int) -> None:
    model.eval()
    wrapper = _Export(model).eval()
    ids = torch.randint(1000, 2000, (2, 12), dtype=torch.long)
    mask = torch.ones_like(ids)
    mask[1, 8:] = 0
    try:
        torch.onnx.export(
            wrapper,
            (ids, mask),
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=["logits"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "seq"},
                "attention_mask": {0: "batch", 1: "seq"},
                "logits": {0: "batch"},
            },
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False,
        )
    except Exception as exc:  # the TorchScript exporter may be unavailable; use the dynamo one
        log.warning("TorchScript ONNX export failed (%s); trying the dynamo exporter", exc)
        batch, seq = torch.export.Dim("batch"), torch.export.Dim("seq", max=512)
        torch.onnx.export(
            wrapper,
            (ids, mask),
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=["logits"],
            dynamic_shapes={"input_ids": {0: batch, 1: seq}, "attention_mask": {0: batch, 1: seq}},
            opset_version=max(opset, 18),
            dynamo=True,
            external_data=False,
        )


def fuse(fp32: Path, fused: Path, num_heads: int, hidden: int) -> bool:
    """Fuse attention, layer norms and GELU with ONNX Runtime's transformer optimizer (faster on CPU).
    Returns False (and writes nothing) when the graph does not fuse as expected."""
    from onnxruntime.transformers import optimizer

    opt = optimizer.optimize_model(str(fp32), model_type="bert", num_heads=num_heads, hidden_size=hidden, opt_level=1)
    stats = opt.get_fused_operator_statistics()
    log.info("fused operators: %s", {k: v for k, v in stats.items() if v})
    if not stats.get("Attention"):
        log.warning("attention did not fuse; keeping the plain graph")
        return False
    opt.save_model_to_file(str(fused))
    return True


def evaluate(labels: list[int], logits: np.ndarray, a: float, b: float, threshold: float) -> dict[str, Any]:
    probs = sigmoid(a * logits + b)
    out = prf(labels, probs >= threshold)
    out["ece_raw"] = expected_calibration_error(sigmoid(logits), labels)
    out["ece"] = expected_calibration_error(probs, labels)
    out["n"] = len(labels)
    out["positives"] = int(np.sum(labels))
    return out


def speed(model_dir: Path, texts: list[str], threads: int = 2, repeats: int = 3) -> dict[str, float]:
    det = ClaimDetector(model_dir, threads=threads)
    det.score(texts[:64])  # warm-up
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        det.score(texts)
        best = min(best, time.perf_counter() - t0)
    return {
        "threads": threads,
        "sentences": len(texts),
        "seconds": best,
        "sentences_per_s": len(texts) / best,
    }


def _checked_base(enc: Any) -> tuple[Path, dict[str, str]]:
    """The base encoder's folder and the sha256 of its files, each checked against the expected one."""
    base = package_dir(enc)
    base_hashes = {}
    for name, expected in enc.sha256.items():
        actual = sha256_file(base / name)
        if actual != expected:
            raise SystemExit(f"{base / name}: sha256 {actual} != expected {expected}")
        base_hashes[name] = actual
    return base, base_hashes


def _export_int8(
    model: ClaimClassifier, work_dir: Path, int8_path: Path, ecfg: dict[str, Any]
) -> tuple[Path, Path, bool]:
    """ONNX export of the best epoch (fused when the optimizer fuses it), then int8 at `int8_path`.
    Returns (fp32 path, int8 path, whether the graph was fused)."""
    # plain attention exports as MatMul/Softmax, which ONNX Runtime's optimizer fuses into one op
    if hasattr(model.encoder, "set_attn_implementation"):
        model.encoder.set_attn_implementation("eager")
    else:
        model.encoder.config._attn_implementation = "eager"
    fp32_path = work_dir / "claims.fp32.onnx"
    export_onnx(model, fp32_path, int(ecfg["opset"]))
    to_quantize = fp32_path
    fused = False
    if ecfg.get("fuse", True):
        fused_path = work_dir / "claims.fused.fp32.onnx"
        enc_cfg = model.encoder.config
        fused = fuse(fp32_path, fused_path, enc_cfg.num_attention_heads, enc_cfg.hidden_size)
        if fused:
            to_quantize = fused_path
    quantize(to_quantize, int8_path, bool(ecfg.get("per_channel", True)), bool(ecfg.get("reduce_range", True)))
    log.info(
        "exported %s (%.1f MB) and %s (%.1f MB)",
        fp32_path,
        fp32_path.stat().st_size / 1e6,
        int8_path,
        int8_path.stat().st_size / 1e6,
    )
    return fp32_path, int8_path, fused


def _variant_scores(
    fp32_path: Path,
    int8_path: Path,
    torch_scores: dict[str, np.ndarray],
    tokenizer: Any,
    data: dict[str, Any],
    threads: int,
) -> dict[str, dict[str, np.ndarray]]:
    """Logits of every variant (fp32 and int8 ONNX, each sentence on its own; torch as given) on dev and
    dev-test (a refit without a check block has an empty dev)."""
    scores: dict[str, dict[str, np.ndarray]] = {}
    for variant, path in (("fp32", fp32_path), ("int8", int8_path)):
        sess, _ = create_session(path, threads=threads)
        scores[variant] = {s: onnx_logits(sess, tokenizer, data[s]["texts"], batch_size=1) for s in ("dev", "dev-test")}
    scores["torch"] = torch_scores
    return scores


def _score_variants(
    variant_scores: dict[str, dict[str, np.ndarray]], data: dict[str, Any], cfg: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], float]:
    """Each variant (fp32 and int8 ONNX, torch; logits from `_variant_scores`) calibrated on dev and scored
    on dev and dev-test. Returns (metrics by variant and split, calibration by variant, int8's dev-test F1
    drop)."""
    ecfg = cfg["export"]
    results: dict[str, Any] = {}
    calib: dict[str, Any] = {}
    diff = float(np.max(np.abs(variant_scores["fp32"]["dev"] - variant_scores["torch"]["dev"])))
    log.info("max |torch - onnx fp32| logit difference on dev: %.2e", diff)
    for variant, scores in variant_scores.items():
        a, b = fit_platt(scores["dev"], data["dev"]["labels"])
        thr, _ = best_threshold(data["dev"]["labels"], sigmoid(a * scores["dev"] + b))
        calib[variant] = {"a": a, "b": b, "threshold": thr}
        results[variant] = {s: evaluate(data[s]["labels"], scores[s], a, b, thr) for s in ("dev", "dev-test")}
        log.info(
            "%s: dev F1 %.4f P %.4f R %.4f | dev-test F1 %.4f P %.4f R %.4f | ECE dev-test %.4f -> %.4f",
            variant,
            results[variant]["dev"]["f1"],
            results[variant]["dev"]["precision"],
            results[variant]["dev"]["recall"],
            results[variant]["dev-test"]["f1"],
            results[variant]["dev-test"]["precision"],
            results[variant]["dev-test"]["recall"],
            results[variant]["dev-test"]["ece_raw"],
            results[variant]["dev-test"]["ece"],
        )
    drop = results["fp32"]["dev-test"]["f1"] - results["int8"]["dev-test"]["f1"]
    if drop > float(ecfg["max_int8_f1_drop"]):
        log.warning("int8 loses %.4f F1 on dev-test against fp32 (limit %s)", drop, ecfg["max_int8_f1_drop"])
    return results, calib, drop


def _model_config(
    cfg: dict[str, Any],
    enc: Any,
    base: Path,
    base_hashes: dict[str, str],
    int8_path: Path,
    fused: bool,
    model: ClaimClassifier,
    calib: dict[str, Any],
    data: dict[str, Any],
    results: dict[str, Any],
    drop: float,
    history: list[dict[str, Any]],
) -> dict[str, Any]:
    """The shipped config.json (the speed is added once measured on the written model)."""
    mcfg, ecfg = cfg["model"], cfg["export"]
    max_len = int(mcfg["max_length"])
    best_epoch = max(history, key=lambda h: h["dev_f1"])["epoch"]
    grouped = cfg.get("split", {}).get("validation") == "grouped"
    chosen_on = "grouped validation (contiguous blocks of train+dev sentence ids)" if grouped else "dev"
    return {
        "task": "check-worthy claim detection (sentence level, English)",
        "model_file": int8_path.name,
        "model_sha256": sha256_file(int8_path),
        "model_bytes": int8_path.stat().st_size,
        "quantization": (
            "onnxruntime dynamic int8 (QInt8 weights"
            + (", per channel" if ecfg.get("per_channel", True) else "")
            + (", 7-bit range" if ecfg.get("reduce_range", True) else "")
            + ")"
            + (", attention/LayerNorm/GELU fused by the onnxruntime transformer optimizer" if fused else "")
        ),
        "base_encoder": enc.name,
        "base_encoder_key": mcfg["base_encoder"],
        "base_package": enc.pip_name,
        "base_sha256": base_hashes,
        "tokenizer_sha256": base_hashes.get("tokenizer.json", sha256_file(base / "tokenizer.json")),
        "num_layers": model.encoder.config.num_hidden_layers,
        "pooling": mcfg["pooling"],
        "max_length": max_len,
        "calibration": {
            "method": "platt",
            "a": calib["int8"]["a"],
            "b": calib["int8"]["b"],
            "fitted_on": chosen_on,
        },
        "threshold": calib["int8"]["threshold"],
        "threshold_tuned_on": f"{chosen_on} (best F1 of Yes)",
        "best_epoch": best_epoch,
        "data": {s: {"sentences": len(data[s]["labels"]), "yes": int(sum(data[s]["labels"]))} for s in SPLITS},
        "metrics": results,
        "int8_vs_fp32_devtest_f1_drop": drop,
        "training_seconds": sum(h["seconds"] for h in history),
        "train_config": cfg,
    }


def _score_frozen(
    scores: dict[str, dict[str, np.ndarray]], data: dict[str, Any], frozen: dict[str, Any]
) -> tuple[dict[str, Any], float]:
    """A refit's variants (logits from `_variant_scores`) scored with the frozen calibration and threshold on
    dev-test, and on the held block (`check`) when there is one; returns (metrics by variant and split,
    int8's dev-test F1 drop)."""
    splits = {"dev-test": "dev-test", **({"check": "dev"} if data["dev"]["ids"] else {})}
    results = {
        variant: {
            name: evaluate(data[s]["labels"], by_split[s], frozen["a"], frozen["b"], frozen["threshold"])
            for name, s in splits.items()
        }
        for variant, by_split in scores.items()
    }
    for name in splits:
        m = results["int8"][name]
        log.info("int8 refit, frozen threshold: %s F1 %.4f P %.4f R %.4f", name, m["f1"], m["precision"], m["recall"])
    return results, results["fp32"]["dev-test"]["f1"] - results["int8"]["dev-test"]["f1"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", type=Path, default=Path("configs/claims.toml"))
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=Path("src/unspin/models/claims"))
    ap.add_argument("--work-dir", type=Path, default=Path("runs/claims"))
    ap.add_argument("--save-every", type=int, default=200, help="checkpoint every N steps")
    ap.add_argument("--max-steps", type=int, default=None, help="stop early (smoke test)")
    ap.add_argument("--limit", type=int, default=None, help="use only the first N training sentences")
    ap.add_argument("--card-only", action="store_true", help="rewrite MODEL_CARD.md from config.json")
    ap.add_argument("--seed", type=int, default=None, help="training seed (replaces [train] seed)")
    ap.add_argument(
        "--refit",
        type=Path,
        default=None,
        help="a finished model folder trained by this recipe: fit on every block with its epoch, calibration "
        "and threshold frozen (choose nothing)",
    )
    ap.add_argument(
        "--refit-check", type=int, default=None, help="with --refit: hold this block out and score the refit on it"
    )
    args = ap.parse_args(argv)
    if args.refit_check is not None and args.refit is None:
        ap.error("--refit-check needs --refit")
    if args.card_only:
        config = json.loads((args.out / CONFIG_NAME).read_text(encoding="utf-8"))
        write_card(args.out / "MODEL_CARD.md", config)
        return 0

    args.work_dir.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        handlers=[logging.StreamHandler(sys.stdout), logging.FileHandler(args.work_dir / "train.log")],
    )
    cfg = load_config(args.config, args.seed)
    mcfg, tcfg, ecfg = cfg["model"], cfg["train"], cfg["export"]
    torch.set_num_threads(int(tcfg.get("threads", 1)))
    t_all = time.time()

    enc = ENCODERS[mcfg["base_encoder"]]
    base, base_hashes = _checked_base(enc)
    max_len = int(mcfg["max_length"])
    tokenizer = load_tokenizer(base / "tokenizer.json", max_len)

    rows_by = {split: read_checkthat_tsv(args.data_dir / fname) for split, fname in SPLITS.items()}
    validation = cfg.get("split", {})
    frozen: dict[str, Any] | None = None
    if args.refit is not None:
        frozen_config = json.loads((args.refit / CONFIG_NAME).read_text(encoding="utf-8"))
        frozen = frozen_choices(cfg, frozen_config, str(args.refit))
        rows_by["train"], rows_by["dev"] = refit_rows(rows_by, validation, args.refit_check)
        log.info("refit of %s: fitted on %d sentences, frozen %s", args.refit, len(rows_by["train"]), frozen)
    elif validation.get("validation") == "grouped":
        # fit on the lab's train and dev together, choose on whole stretches of debates held out from both
        pool = rows_by["train"] + rows_by["dev"]
        rows_by["train"], rows_by["dev"] = grouped_holdout(pool, int(validation["blocks"]), list(validation["held"]))
        log.info("grouped validation: blocks %s of %d held out of train+dev", validation["held"], validation["blocks"])
    data: dict[str, Any] = {}
    for split, rows in rows_by.items():
        if split == "train" and args.limit:
            rows = rows[: args.limit]
        texts = [r.text for r in rows]
        data[split] = {"texts": texts, "labels": [r.label for r in rows], "ids": encode(tokenizer, texts)}
        log.info("%s: %d sentences, %d Yes", split, len(rows), sum(r.label for r in rows))

    distilled: dict[str, Any] | None = None
    if "distill" in cfg:
        from unspin.train.claims_distill import add_distillation

        distilled = add_distillation(cfg, data, tokenizer, args.work_dir)
    keep = frozen["epoch"] if frozen else None
    best_weights = train(cfg, data, args.work_dir, args.save_every, args.max_steps, keep_epoch=keep)

    # -- export and quantise the best epoch --------------------------------------------------------
    model = ClaimClassifier(base, float(mcfg["dropout"]), 0.5, mcfg.get("num_layers"))
    model.load_state_dict(torch.load(best_weights, map_location="cpu"))
    model.eval()
    torch_dev = torch_logits(model, data["dev"]["ids"])
    torch_devtest = torch_logits(model, data["dev-test"]["ids"])
    fp32_path, int8_path, fused = _export_int8(model, args.work_dir, args.out / ecfg["model_file"], ecfg)

    torch_scores = {"dev": torch_dev, "dev-test": torch_devtest}
    history = json.loads((args.work_dir / "history.json").read_text())
    scores = _variant_scores(fp32_path, int8_path, torch_scores, tokenizer, data, int(tcfg.get("threads", 1)))
    if frozen is not None:
        results, drop = _score_frozen(scores, data, frozen)
        config = refit_config(frozen_config, int8_path, data, results, drop, history, distilled, args.refit_check)
    else:
        results, calib, drop = _score_variants(scores, data, cfg)
        config = _model_config(
            cfg, enc, base, base_hashes, int8_path, fused, model, calib, data, results, drop, history
        )
        config["history"] = history
        if distilled is not None:
            config["distill"] = distilled

    # -- ship --------------------------------------------------------------------------------------
    (args.out / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    spd = speed(args.out, data["dev-test"]["texts"])
    config["speed"] = spd
    (args.out / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    write_card(args.out / "MODEL_CARD.md", config)
    shutil.copy(args.work_dir / "train.log", args.work_dir / "train.last.log")
    log.info("done in %.0fs; wrote %s", time.time() - t_all, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
