"""The `refit` stage: a model whose recipe is frozen, fitted again on more labelled articles.

Once a model trained on the train split has had every choice made on dev (epochs, decoding, TC step,
calibration, the default view) and its test split scored once, the same recipe is run on more of
the labelled articles (`--fit-on train,dev,test`: all of them). Nothing is chosen again: the
decoding comes from that model's config.json (`--decoding-from`), the weights are trained for the
epochs it kept, and only the span head (a regression over the new tagger's own hidden states) is
fitted again, with the C chosen for it, on the gold spans of every article the weights saw. Its test
numbers stay those of the run that held the test split out; when the test split is not among the
fitted articles (a check of the refit itself, e.g. `--fit-on train,dev`), the `test` stage scores it.
A recipe with `[export] smooth_ffn_output` has its feed-forward output projections smoothed into int8
here, as its `smooth` stage did for the frozen model, before the span head is fitted.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from unspin.models.base import sha256_file
from unspin.train.common import config_json, load_ptc
from unspin.train.techniques.card import write_model_card
from unspin.train.techniques.data import _split, fit_ids, fit_on
from unspin.train.techniques.evaluate import _use_crossfit_scores
from unspin.train.techniques.export import stage_smooth
from unspin.train.techniques.head import _project, fit_span_head, set_extra_output

LOG = logging.getLogger("unspin.train.techniques")


def frozen_decoding(cfg: dict[str, Any], out: Path) -> tuple[Path, dict[str, Any]]:
    """The folder and config.json of the model whose choices a refit keeps (`[refit] decoding_from`,
    or `out` itself). SystemExit when it was not trained on the train split alone (unless it is `out`,
    refitted again), or when it kept another epoch than the recipe's last (a refit has no dev split to
    choose one)."""
    src = Path(cfg.get("refit", {}).get("decoding_from") or out)
    path = src / "config.json"
    if not path.is_file():
        raise SystemExit(f"{path}: missing; the refit keeps the decoding of a model trained on the train split")
    frozen = json.loads(path.read_text())
    if frozen.get("fit_on", {}).get("splits", ["train"]) != ["train"] and src.resolve() != out.resolve():
        raise SystemExit(f"{src}: itself a refit; take the decoding from the model that held dev and test out")
    kept = int(frozen.get("training", {}).get("epoch", 0))
    if kept != int(cfg["train"]["epochs"]):
        raise SystemExit(
            f"{src}: its run kept epoch {kept} of {cfg['train']['epochs']}; set [train] epochs = {kept} to refit"
        )
    if frozen.get("crossfit", {}).get("chosen_on") != "dev":
        raise SystemExit(f"{src}: its decoding was not chosen on dev alone (run its crossfit stage first)")
    return src, frozen


def stage_refit(cfg: dict[str, Any], data_dir: Path, work: Path, out: Path, config_path: Path) -> None:
    """`out` (the `export` stage's graph of the refitted weights) gets the frozen model's config.json,
    a span head refitted on every fitted article (with the frozen C), and the file hashes; with the
    test split fitted too, the model card is written from the frozen model's test results."""
    from unspin.techniques.tagger import TechniqueTagger

    names = fit_on(cfg)
    if names == ["train"]:
        raise SystemExit("refit: give --fit-on with more than the train split")
    src, frozen = frozen_decoding(cfg, out)
    cfg_json = json.loads(json.dumps(frozen))
    model_path = out / "model.onnx"
    keep_hidden = bool(cfg.get("export", {}).get("hidden_output", False))
    head = cfg_json["decode"].pop("span_head", None)

    def save_config() -> None:
        cfg_json["files"] = {name: sha256_file(out / name) for name in frozen["files"]}
        (out / "config.json").write_text(config_json(cfg_json))

    articles, labels = load_ptc(data_dir)
    split = _split(work)
    fitted = fit_ids(cfg, split)
    threads = int(cfg["train"].get("threads", 1))
    if cfg.get("export", {}).get("smooth_ffn_output") is not None:
        # the frozen model's feed-forward outputs were smoothed into int8 after its decoding was tuned
        # and before its span head was fitted: the refit's are too, with the same alpha, before its head
        save_config()
        stage_smooth(cfg, data_dir, work, out)
    if head is not None:
        set_extra_output(model_path, hidden=True)
        save_config()
        tagger = TechniqueTagger(out, threads=threads)
        t0 = time.time()
        probs = dict(zip(fitted, tagger.token_probs([articles[a] for a in fitted], hidden=True), strict=True))
        projection, new_head, n_spans = fit_span_head(articles, labels, probs, float(head["c"]))
        LOG.info(
            "refit: span head (C %s) on %d gold spans of %d articles in %.0fs",
            head["c"],
            n_spans,
            len(fitted),
            time.time() - t0,
        )
        set_extra_output(model_path, projection, hidden=keep_hidden)
        # the new head where the frozen config had its own (the keys keep the order `Decoding` writes)
        cfg_json["decode"] = {k: new_head if k == "span_head" else v for k, v in frozen["decode"].items()}
        save_config()
        # the graph's own "span_head" output must be what the fitted projection gives
        some = fitted[:4]
        _project({a: probs[a] for a in some}, projection)
        graph = TechniqueTagger(out, threads=threads).token_probs([articles[a] for a in some])
        gap = max(float(np.abs(g.head - probs[a].head).max()) for a, g in zip(some, graph, strict=True))
        if gap > 0.05:
            raise SystemExit(f"{model_path}: the graph's span_head output differs from the fitted head by {gap:.3f}")
    meta = json.loads((work / "best.json").read_text())
    cfg_json["training"] = {k: v for k, v in meta.items() if k in ("epoch", "train_seconds", "total_train_seconds")}
    cfg_json["fit_on"] = {"splits": names, "articles": len(fitted)}
    # "test" stays the held-out run's (the `test` stage replaces it when the test split was not fitted)
    cfg_json.setdefault("held_out_training", frozen["training"])
    save_config()
    LOG.info("refit: %s fitted on %d articles (%s), decoding kept from %s", out, len(fitted), names, src)
    if "test" in names:
        results = {**cfg_json["test"], "training": cfg_json["training"]}
        _use_crossfit_scores(results, cfg_json["crossfit"])
        write_model_card(cfg, out, results, cfg_json, config_path)
