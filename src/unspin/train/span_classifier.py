"""Train, export and test the TC span classifier (`unspin.techniques.classifier`).

    python -m unspin.train.span_classifier --config configs/span-classifier.toml \\
        --data-dir ../shared/data/ptc --out src/unspin/models/span-classifier [--stages all]

Stages (each reads what the previous one wrote in the work folder, so a stage can be re-run alone):

* ``train``  -- MiniLM-L6 (embeddings frozen) reads each gold span of the training split with its line
  (see `span_inputs`) and learns its technique (cross-entropy with a little label smoothing); the span's
  tokens and the whole input are mean-pooled into one linear layer. The epoch with the best dev
  accuracy is kept as ``best.pt``.
* ``export`` -- ONNX, int8 MatMul weights; the embeddings are left out and rebuilt from the base package
  at load (``frozen.json``); the int8 model is checked against torch on dev spans.
* ``test``   -- accuracy of the int8 model alone on dev and on the held-out test split (overall and per
  technique); writes ``config.json`` and ``MODEL_CARD.md``.

The split is the technique taggers' own (same seed and shares), so the test articles are never seen.
The classifier joins a tagger's TC model at that tagger's ``tc`` stage (`unspin.train.techniques`).
torch is imported only here.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from unspin.formats.semeval import PTC_TECHNIQUES
from unspin.models.base import ENCODERS, sha256_file, verified_file
from unspin.techniques.classifier import NONE, InputShape, batch_arrays, span_inputs
from unspin.train.cards import render
from unspin.train.common import config_json, load_config, load_ptc, load_tokenizer, special_ids, split_ids

LOG = logging.getLogger("unspin.train.span_classifier")
STAGES = ("train", "export", "test")
Row = tuple[list[int], list[int], int, int]  # ids, token types, span tokens, label index


def shape_of(cfg: dict[str, Any]) -> InputShape:
    return InputShape(max_span=int(cfg["model"]["max_span"]), max_len=int(cfg["model"]["max_len"]))


def split_of(cfg: dict[str, Any], articles: dict[str, str]) -> dict[str, list[str]]:
    s = cfg["split"]
    return split_ids(list(articles), s["seed"], s["train"], s["dev"])


def class_names(cfg: dict[str, Any]) -> list[str]:
    """The 14 PTC techniques, and "none" when the recipe adds negative spans."""
    return [*PTC_TECHNIQUES, *([NONE] if float(cfg["model"].get("negatives", 0)) > 0 else [])]


def negative_spans(text: str, gold: list, n: int, lengths: list[int], rng: random.Random) -> list[tuple[int, int]]:
    """Up to `n` spans of whole words that touch no gold span, inside one line each, their lengths in
    words drawn from the gold spans' lengths: text an annotator read and did not mark."""
    covered = np.zeros(len(text) + 1, dtype=bool)
    for g in gold:
        covered[g.start : g.end] = True
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    line_of = np.cumsum([0] + [c == "\n" for c in text])
    out: set[tuple[int, int]] = set()
    for _ in range(20 * n):
        if len(out) >= n or not words:
            break
        k = rng.choice(lengths)
        i = rng.randrange(len(words))
        j = min(i + k, len(words)) - 1
        a, b = words[i][0], words[j][1]
        if line_of[a] != line_of[b] or covered[a:b].any():
            continue
        out.add((a, b))
    return sorted(out)


def negatives_by_article(
    cfg: dict[str, Any], articles: dict[str, str], labels: dict[str, list]
) -> dict[str, list[tuple[int, int]]]:
    """With `negatives = r` in [model], r x as many spans outside every gold span as each article has
    gold spans (`negative_spans`, seeded per article, so training and test draw the same ones)."""
    ratio = float(cfg["model"].get("negatives", 0))
    if ratio <= 0:
        return {}
    lengths = [max(1, len(articles[g.article_id][g.start : g.end].split())) for gs in labels.values() for g in gs]
    out = {}
    for a, text in articles.items():
        gold = labels.get(a, [])
        rng = random.Random(f"{cfg['train']['seed']}:{a}")
        out[a] = negative_spans(text, gold, round(ratio * max(len(gold), 1)), lengths, rng)
    return out


def gold_rows(cfg: dict[str, Any], data_dir: Path) -> dict[str, list[Row]]:
    """Model inputs of every gold span, per split (a span with two techniques gives two rows), and with
    `negatives = r` in [model], r x as many spans outside every gold span, labelled "none"."""
    articles, labels = load_ptc(data_dir)
    tok = load_tokenizer(verified_file(ENCODERS[cfg["model"]["base"]], "tokenizer.json"))
    cls_id, sep_id, _ = special_ids(tok)
    names = class_names(cfg)
    shape = shape_of(cfg)
    negatives = negatives_by_article(cfg, articles, labels)
    out: dict[str, list[Row]] = {}
    for part, ids in split_of(cfg, articles).items():
        rows: list[Row] = []
        for a in ids:
            text, gold = articles[a], labels.get(a, [])
            rows += [
                (*span_inputs(tok, text, g.start, g.end, cls_id, sep_id, shape), names.index(g.technique)) for g in gold
            ]
            for s, e in negatives.get(a, []):
                rows.append((*span_inputs(tok, text, s, e, cls_id, sep_id, shape), names.index(NONE)))
        out[part] = rows
    extra = cfg.get("extra", {})
    if extra.get("task6"):  # SemEval-2021 Task 6 meme texts: more gold spans to learn from, train only
        from unspin.train.techniques.tc import TASK6_FILES, task6_items

        items = task6_items(data_dir / extra["task6"], tuple(extra.get("task6_files", TASK6_FILES)))
        out["train"] += [
            (*span_inputs(tok, t, s, e, cls_id, sep_id, shape), names.index(lab)) for t, s, e, lab in items
        ]
        LOG.info("SemEval-2021 Task 6: %d spans added to the training rows", len(items))
    return out


def build_model(cfg: dict[str, Any], dropout: float):
    import torch
    from torch import nn
    from transformers import BertModel

    base = verified_file(ENCODERS[cfg["model"]["base"]], "model.safetensors").parent
    n_out = len(class_names(cfg))
    layers = cfg["model"].get("layers")

    class SpanModel(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = BertModel.from_pretrained(str(base), add_pooling_layer=False, attn_implementation="eager")
            if layers and layers < self.encoder.config.num_hidden_layers:
                self.encoder.encoder.layer = self.encoder.encoder.layer[:layers]
                self.encoder.config.num_hidden_layers = layers
            self.dropout = nn.Dropout(dropout)
            self.head = nn.Linear(2 * self.encoder.config.hidden_size, n_out)

        def forward(self, input_ids, attention_mask, token_type_ids, span_mask):
            h = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            sm = span_mask.unsqueeze(-1).to(h.dtype)
            am = attention_mask.unsqueeze(-1).to(h.dtype)
            span = (h * sm).sum(1) / sm.sum(1).clamp(min=1.0)
            whole = (h * am).sum(1) / am.sum(1).clamp(min=1.0)
            return self.head(self.dropout(torch.cat([span, whole], dim=-1)))

    return SpanModel()


def _tensors(rows: list[Row], pad_id: int, torch) -> dict[str, Any]:
    arrays = batch_arrays([r[:3] for r in rows], pad_id)
    return {k: torch.from_numpy(v) for k, v in arrays.items()}


def torch_logits(model, rows: list[Row], pad_id: int, torch, batch_size: int = 128) -> np.ndarray:
    model.eval()
    out = np.zeros((len(rows), model.head.out_features), dtype=np.float32)
    order = sorted(range(len(rows)), key=lambda i: len(rows[i][0]))
    with torch.no_grad():
        for j in range(0, len(order), batch_size):
            idx = order[j : j + batch_size]
            out[idx] = model(**_tensors([rows[i] for i in idx], pad_id, torch)).numpy()
    return out


def accuracy(rows: list[Row], logits: np.ndarray) -> float:
    """TC accuracy: over the rows of gold spans, is the most likely of the 14 techniques the gold one."""
    y = np.array([r[3] for r in rows])
    gold = y < len(PTC_TECHNIQUES)
    return float((logits[gold, : len(PTC_TECHNIQUES)].argmax(1) == y[gold]).mean()) if gold.any() else 0.0


def none_accuracy(rows: list[Row], logits: np.ndarray) -> float | None:
    """With a "none" class: share of rows (gold and negative spans) on the right side of P(none) = 0.5."""
    if logits.shape[1] <= len(PTC_TECHNIQUES):
        return None
    from unspin.techniques.classifier import log_softmax

    p_none = np.exp(log_softmax(logits)[:, len(PTC_TECHNIQUES)])
    y = np.array([r[3] for r in rows]) == len(PTC_TECHNIQUES)
    return float(((p_none >= 0.5) == y).mean())


def stage_train(cfg: dict[str, Any], data_dir: Path, work: Path) -> None:
    import torch
    from torch import nn

    tc = cfg["train"]
    torch.set_num_threads(int(tc.get("threads", 2)))
    torch.manual_seed(tc["seed"])
    rng = random.Random(tc["seed"])
    np.random.seed(tc["seed"])
    data = gold_rows(cfg, data_dir)
    LOG.info("spans: %s", {k: len(v) for k, v in data.items()})
    tok = load_tokenizer(verified_file(ENCODERS[cfg["model"]["base"]], "tokenizer.json"))
    pad_id = special_ids(tok)[2]
    model = build_model(cfg, float(tc["dropout"]))
    for p in model.encoder.embeddings.parameters():  # rebuilt from the base package, not shipped
        p.requires_grad_(False)
    counts = np.bincount([r[3] for r in data["train"]], minlength=len(class_names(cfg)))
    with torch.no_grad():  # start at the class priors
        model.head.bias.copy_(torch.from_numpy(np.log((counts + 1) / counts.sum()).astype(np.float32)))
    bs = int(tc["batch_size"])
    steps = int(tc["epochs"]) * math.ceil(len(data["train"]) / bs)
    warm = max(1, int(float(tc["warmup"]) * steps))
    encoder_params = [p for n, p in model.named_parameters() if p.requires_grad and not n.startswith("head.")]
    opt = torch.optim.AdamW(
        [
            {"params": encoder_params, "lr": float(tc["lr"])},
            {"params": model.head.parameters(), "lr": float(tc["head_lr"])},
        ],
        weight_decay=float(tc["weight_decay"]),
    )
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / (steps - warm)))
    )
    history: list[dict[str, Any]] = []
    best = -1.0
    for epoch in range(int(tc["epochs"])):
        model.train()
        t0 = time.time()
        order = list(range(len(data["train"])))
        rng.shuffle(order)
        group = bs * 20  # batches of similar length: sort inside groups of 20 batches, then shuffle batches
        batches = []
        for g in range(0, len(order), group):
            chunk = sorted(order[g : g + group], key=lambda i: len(data["train"][i][0]))
            batches += [chunk[i : i + bs] for i in range(0, len(chunk), bs)]
        rng.shuffle(batches)
        total = 0.0
        for b in batches:
            rows = [data["train"][i] for i in b]
            y = torch.tensor([r[3] for r in rows])
            loss = nn.functional.cross_entropy(
                model(**_tensors(rows, pad_id, torch)), y, label_smoothing=float(tc["label_smoothing"])
            )
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            total += loss.item()
        dev_logits = torch_logits(model, data["dev"], pad_id, torch)
        dev_acc = accuracy(data["dev"], dev_logits)
        history.append(
            {
                "epoch": epoch + 1,
                "loss": round(total / len(batches), 4),
                "dev_accuracy": round(dev_acc, 4),
                **({"dev_none_accuracy": round(na, 4)} if (na := none_accuracy(data["dev"], dev_logits)) else {}),
                "seconds": round(time.time() - t0),
            }
        )
        LOG.info("epoch %s", history[-1])
        if dev_acc > best:
            best = dev_acc
            torch.save(model.state_dict(), work / "best.pt")
            (work / "best.json").write_text(json.dumps({"best_epoch": epoch + 1, "dev_accuracy": dev_acc}))
        (work / "history.json").write_text(json.dumps(history, indent=1))


def stage_export(cfg: dict[str, Any], data_dir: Path, work: Path, out: Path) -> None:
    import onnxruntime as ort
    import torch

    from unspin.models.frozen import add_to_session_options
    from unspin.train.quantize import quantize, strip_frozen

    torch.set_num_threads(int(cfg["train"].get("threads", 2)))
    model = build_model(cfg, 0.0)
    model.load_state_dict(torch.load(work / "best.pt", map_location="cpu"))
    model.eval()
    data = gold_rows(cfg, data_dir)
    tok = load_tokenizer(verified_file(ENCODERS[cfg["model"]["base"]], "tokenizer.json"))
    pad_id = special_ids(tok)[2]
    sample = _tensors(data["dev"][:3], pad_id, torch)
    names = ["input_ids", "attention_mask", "token_type_ids", "span_mask"]
    fp32 = work / "model-fp32.onnx"
    torch.onnx.export(
        model,
        tuple(sample[n] for n in names),
        str(fp32),
        input_names=names,
        output_names=["logits"],
        dynamic_axes={**{n: {0: "batch", 1: "seq"} for n in names}, "logits": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    out.mkdir(parents=True, exist_ok=True)
    full = work / "model-int8-full.onnx"
    quantize(fp32, full, per_channel=True, reduce_range=False, op_types=["MatMul"])
    strip_frozen(fp32, full, out / "model.onnx", out / "frozen.json", cfg["model"]["base"], 0, 127)

    # The int8 model against torch on every dev span, in the batches inference uses. Near ties flip
    # under int8 (about 4% of labels), so the check is on accuracy, with agreement as a floor.
    so = ort.SessionOptions()
    keep = add_to_session_options(so, out / "frozen.json")
    sess = ort.InferenceSession(str(out / "model.onnx"), so, providers=["CPUExecutionProvider"])
    rows = data["dev"]
    ref = torch_logits(model, rows, pad_id, torch)
    got = np.zeros_like(ref)
    order = sorted(range(len(rows)), key=lambda i: len(rows[i][0]))
    for j in range(0, len(order), 32):
        idx = order[j : j + 32]
        got[idx] = sess.run(None, batch_arrays([rows[i][:3] for i in idx], pad_id))[0]
    del sess, keep  # the rebuilt base tensors must outlive the session
    agree = float((ref.argmax(1) == got.argmax(1)).mean())
    acc_float, acc_int8 = accuracy(rows, ref), accuracy(rows, got)
    LOG.info(
        "exported %s (%.1f MB); on %d dev spans: accuracy float %.4f, int8 %.4f; same label %.3f",
        out / "model.onnx",
        (out / "model.onnx").stat().st_size / 1e6,
        len(rows),
        acc_float,
        acc_int8,
        agree,
    )
    if acc_int8 < acc_float - 0.015 or agree < 0.92:
        raise SystemExit(
            f"{out / 'model.onnx'}: the int8 model drifts from the float model (dev accuracy "
            f"{acc_int8:.4f} against {acc_float:.4f}, same label on {agree:.1%})"
        )


def stage_test(cfg: dict[str, Any], data_dir: Path, work: Path, out: Path, config_path: Path) -> None:
    from unspin.techniques.classifier import SpanClassifier

    enc = ENCODERS[cfg["model"]["base"]]
    config = {
        "name": cfg["model"]["name"],
        "task": "technique of a given span (SemEval-2020 Task 11 TC, PTC labels)",
        "labels": class_names(cfg),
        "base_key": cfg["model"]["base"],
        "base": {"name": enc.name, "package": enc.pip_name, "sha256": dict(enc.sha256)},
        "input": {"max_span": shape_of(cfg).max_span, "max_len": shape_of(cfg).max_len},
        "onnx": "model.onnx",
        "frozen": "frozen.json",
        "files": {n: sha256_file(out / n) for n in ("model.onnx", "frozen.json")},
        "split": dict(cfg["split"]),
    }
    (out / "config.json").write_text(config_json(config))
    clf = SpanClassifier(out, threads=2)
    articles, labels = load_ptc(data_dir)
    split = split_of(cfg, articles)
    techs = list(PTC_TECHNIQUES)
    results: dict[str, Any] = {}
    for part in ("dev", "test"):
        y, pred, t0, n = [], [], time.time(), 0
        for a in split[part]:
            gold = labels.get(a, [])
            if gold:
                lp = clf.log_probs(articles[a], [(g.start, g.end) for g in gold])  # the 14 techniques
                pred += [int(i) for i in lp.argmax(1)]
                y += [techs.index(g.technique) for g in gold]
                n += len(gold)
        y_a, p_a = np.array(y), np.array(pred)
        per = {}
        for k, t in enumerate(techs):
            tp = int(((p_a == k) & (y_a == k)).sum())
            prec = tp / max(int((p_a == k).sum()), 1)
            rec = tp / max(int((y_a == k).sum()), 1)
            per[t] = {
                "f1": round(2 * prec * rec / (prec + rec), 4) if prec + rec else 0.0,
                "n_gold": int((y_a == k).sum()),
            }
        none_acc = None
        if NONE in clf.labels:
            # "none" against the gold spans and as many negative spans sampled as in training
            negatives = negatives_by_article(cfg, articles, labels)
            right, total = 0, 0
            for a in split[part]:
                gold, neg = labels.get(a, []), negatives.get(a, [])
                p_none = np.exp(clf.all_log_probs(articles[a], [(g.start, g.end) for g in gold] + neg)[:, -1])
                right += int((p_none[: len(gold)] < 0.5).sum() + (p_none[len(gold) :] >= 0.5).sum())
                total += len(p_none)
            none_acc = round(right / max(total, 1), 4)
        results[part] = {
            "articles": len(split[part]),
            "spans": n,
            "accuracy": round(float((y_a == p_a).mean()), 4),
            **({"none_accuracy": none_acc} if none_acc is not None else {}),
            "per_technique": per,
            "spans_per_s": round(n / (time.time() - t0), 1),
        }
        LOG.info("%s: accuracy %.4f on %d spans", part, results[part]["accuracy"], n)
    meta = json.loads((work / "best.json").read_text()) if (work / "best.json").exists() else {}
    history = json.loads((work / "history.json").read_text()) if (work / "history.json").exists() else []
    config["results"] = {p: {k: v for k, v in r.items() if k != "per_technique"} for p, r in results.items()}
    (out / "config.json").write_text(config_json(config))
    write_model_card(cfg, out, results, meta, history, config_path)


def technique_rows(results: dict[str, Any]) -> list[str]:
    """The per-technique table's rows: gold spans in test and the classifier's F1."""
    per = results["test"]["per_technique"]
    return [f"| {t} | {per[t]['n_gold']} | {per[t]['f1']:.3f} |" for t in PTC_TECHNIQUES]


def none_rows(results: dict[str, Any]) -> list[str]:
    """The "none" table's rows (dev, test), for a classifier with a "none" class."""
    return [
        f'| {part}: gold spans against as many negative spans, "none" at 0.5 | {results[part]["none_accuracy"]:.3f} |'
        for part in ("dev", "test")
        if "none_accuracy" in results[part]
    ]


def render_model_card(
    cfg: dict[str, Any],
    results: dict[str, Any],
    meta: dict[str, Any],
    history: list,
    config_path: Path | str,
    out: Path | str,
    size_mb: float,
) -> str:
    """The card's text (template `cards/span_classifier.md`): `results` the `test` stage's scores,
    `meta` and `history` the training record, `size_mb` the size of model.onnx in MB."""
    enc = ENCODERS[cfg["model"]["base"]]
    classes = class_names(cfg)
    return render(
        "span_classifier.md",
        model=cfg["model"],
        train=cfg["train"],
        split=cfg["split"],
        enc=enc,
        base_hashes=", ".join(f"`{k}` {v}" for k, v in enc.sha256.items()),
        classes=classes,
        has_none=NONE in classes,
        negatives=float(cfg["model"].get("negatives", 0)),
        results=results,
        meta=meta,
        history_rows=[
            f"| {h['epoch']} | {h['loss']:.4f} | {h['dev_accuracy']:.4f} | {h['seconds']} |" for h in history
        ],
        none_rows=none_rows(results),
        technique_rows=technique_rows(results),
        size_mb=size_mb,
        config_path=config_path,
        out=out,
    )


def write_model_card(
    cfg: dict[str, Any], out: Path, results: dict[str, Any], meta: dict[str, Any], history: list, config_path: Path
) -> None:
    size_mb = (out / "model.onnx").stat().st_size / 1e6
    (out / "MODEL_CARD.md").write_text(render_model_card(cfg, results, meta, history, config_path, out, size_mb))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="unspin train span-classifier", description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", type=Path, required=True)
    ap.add_argument(
        "--data-dir", type=Path, required=True, help="PTC folder (train-articles/, train-task-flc-tc.labels)"
    )
    ap.add_argument("--out", type=Path, required=True, help="model folder to write")
    ap.add_argument("--stages", default="all", help=f"comma-separated subset of {','.join(STAGES)}, or all")
    ap.add_argument("--seed", type=int, default=None, help="training seed (replaces [train] seed; the split stays)")
    args = ap.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr, force=True
    )
    cfg = load_config(args.config, args.seed)
    work = Path(cfg["train"]["work_dir"])
    work.mkdir(parents=True, exist_ok=True)
    stages = STAGES if args.stages == "all" else tuple(s.strip() for s in args.stages.split(","))
    for s in stages:
        if s not in STAGES:
            ap.error(f"unknown stage {s!r}")
    if "train" in stages:
        stage_train(cfg, args.data_dir, work)
    if "export" in stages:
        stage_export(cfg, args.data_dir, work, args.out)
    if "test" in stages:
        stage_test(cfg, args.data_dir, work, args.out, args.config)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
