"""The `export` stage (ONNX, then int8) and the `smooth` stage (the feed-forward output projections
made int8 after smoothing)."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from unspin.models.base import ENCODERS, sha256_file
from unspin.train.common import config_json, load_ptc, load_tokenizer, special_ids
from unspin.train.quantize import quantize, strip_frozen
from unspin.train.techniques.data import (
    OUTPUTS,
    _split,
    base_dir_for,
    make_windows,
    verified_file,
)
from unspin.train.techniques.training import _collate, build_model

LOG = logging.getLogger("unspin.train.techniques")


def _quantize(cfg: dict[str, Any], fp32: Path, work: Path, out: Path, int8: Path) -> bool:
    """Write the int8 graph `int8` from `fp32`; returns whether frozen tensors were stripped from it
    (then `frozen.json` in `out` says how to rebuild them)."""
    frozen = int(cfg["train"].get("frozen_layers", 0))
    strip = bool(frozen or cfg["train"].get("freeze_embeddings"))
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
    return strip


def _check_int8(cfg: dict[str, Any], data_dir: Path, work: Path, model, int8: Path, strip: bool) -> None:
    """Check the int8 graph against torch on real-length windows; stop when its probabilities drift
    from the torch model's."""
    import onnxruntime as ort
    import torch

    enc = ENCODERS[cfg["model"]["base"]]
    out = int8.parent
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


def stage_export(cfg: dict[str, Any], data_dir: Path, work: Path, out: Path) -> None:
    """The best checkpoint as ONNX, then int8 (with the tensors rebuilt from the base package left
    out when the base's embeddings or layers were frozen); the int8 graph is checked against torch."""
    import torch

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
    strip = _quantize(cfg, fp32, work, out, int8)
    enc = ENCODERS[cfg["model"]["base"]]
    shutil.copyfile(verified_file(enc, "tokenizer.json"), out / "tokenizer.json")
    _check_int8(cfg, data_dir, work, model, int8, strip)


def stage_smooth(cfg: dict[str, Any], data_dir: Path, work: Path, out: Path) -> None:
    from unspin.techniques.runner import window_starts
    from unspin.techniques.tagger import TechniqueTagger
    from unspin.train.smooth import activation_maxima, smooth_ffn_outputs

    ex = cfg.get("export", {})
    alpha = ex.get("smooth_ffn_output")
    if alpha is None:
        LOG.info("smooth: no [export] smooth_ffn_output in the config; nothing to do")
        return
    articles, _ = load_ptc(data_dir)
    split = _split(work)
    tagger = TechniqueTagger(out, threads=int(cfg["train"].get("threads", 2)))
    runner = tagger.runner
    size = runner.window - 2

    def windows(ids_list: list[str]) -> list[np.ndarray]:
        out_w = []
        for a in ids_list:
            ids, _ = runner.encode(articles[a])
            for st in window_starts(len(ids), size, runner.stride):
                out_w.append(np.concatenate([[runner.cls_id], ids[st : st + size], [runner.sep_id]]))
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
