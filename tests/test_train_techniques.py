"""The technique training recipe's data side: distillation targets and training windows (no torch)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from unspin.formats.semeval import LabelSpan
from unspin.models.base import ENCODERS
from unspin.train.common import load_tokenizer
from unspin.train.techniques.data import (
    OUTPUTS,
    _teacher_file,
    distil_targets,
    make_windows,
    token_targets,
    verified_file,
)

TEXT = "They are traitors and liars.\n\nNothing else was said."
UNLABELED = "Another article, without labels."


@pytest.fixture()
def tok():
    return load_tokenizer(verified_file(ENCODERS["minilm-l6"], "tokenizer.json"))


def _setup(tmp_path: Path, tok) -> tuple[dict, Path, Path, dict, int, int]:
    data = tmp_path / "ptc"
    (data / "more").mkdir(parents=True)
    (data / "more" / "a.txt").write_text(UNLABELED, encoding="utf-8")
    (data / "more" / "empty.txt").write_text("  \n", encoding="utf-8")  # skipped: nothing to learn from
    work = tmp_path / "work"
    (work / "teacher").mkdir(parents=True)
    labels = {"1": [LabelSpan("1", 9, 27, "Name_Calling,Labeling")]}
    n1 = len(tok.encode(TEXT, add_special_tokens=False).ids)
    n2 = len(tok.encode(UNLABELED, add_special_tokens=False).ids)
    return labels, data, work, {"distil": {"gold_weight": 0.25, "unlabeled": ["more"]}}, n1, n2


def test_distillation_targets_mix_gold_and_teacher(tmp_path: Path, tok) -> None:
    labels, data, work, cfg, n1, n2 = _setup(tmp_path, tok)
    soft = np.full((n1, len(OUTPUTS)), 0.8, dtype=np.float16)
    soft[0] = np.nan  # a token the teacher did not see
    np.save(_teacher_file(work, "1"), soft)
    soft_u = np.full((n2, len(OUTPUTS)), 0.1, dtype=np.float16)
    soft_u[-1] = np.nan
    np.save(_teacher_file(work, "more/a"), soft_u)

    targets, extra = distil_targets(cfg, data, work, {"1": TEXT}, labels, ["1"], tok)

    assert extra == {"more/a": UNLABELED}
    gold = token_targets(tok.encode(TEXT, add_special_tokens=False).offsets, labels["1"])
    assert gold[:, OUTPUTS.index("Name_Calling,Labeling")].sum() >= 3  # "traitors and liars"
    assert np.allclose(targets["1"][1:], 0.25 * gold[1:] + 0.75 * 0.8, atol=1e-3)
    assert np.array_equal(targets["1"][0], gold[0])  # unseen by the teacher: the gold label
    assert np.allclose(targets["more/a"][:-1], 0.1, atol=1e-3)
    assert (targets["more/a"][-1] == -1).all()  # unlabelled and unseen: ignored by the loss

    windows = make_windows({"1": TEXT, **extra}, labels, ["1", "more/a"], tok, 8, 6, targets)
    first = windows[0][1]
    assert (first[0] == -1).all() and (first[-1] == -1).all()  # [CLS] and [SEP] carry no target
    assert np.allclose(first[1:-1], targets["1"][:6])
    assert sum(len(w) - 2 for w, _ in windows) >= n1 + n2  # every token of both articles is in a window


def test_missing_or_stale_teacher_files_stop_training(tmp_path: Path, tok) -> None:
    labels, data, work, cfg, n1, _ = _setup(tmp_path, tok)
    with pytest.raises(SystemExit, match="run the `teacher` stage"):
        distil_targets(cfg, data, work, {"1": TEXT}, labels, ["1"], tok)
    stale = {"1": np.zeros((n1 + 3, len(OUTPUTS)), dtype=np.float32)}
    with pytest.raises(SystemExit, match="stale teacher"):
        make_windows({"1": TEXT}, labels, ["1"], tok, 8, 6, stale)


def test_seed_option_changes_the_training_seed_but_not_the_split() -> None:
    from unspin.train.common import load_config, split_ids

    root = Path(__file__).resolve().parents[1]
    shipped = load_config(root / "configs" / "techniques-accurate.toml")
    other = load_config(root / "configs" / "techniques-accurate.toml", seed=7)
    assert other["train"]["seed"] == 7 and shipped["train"]["seed"] != 7
    assert other["split"] == shipped["split"]
    ids = [str(i) for i in range(371)]
    sp = other["split"]
    assert split_ids(ids, sp["seed"], sp["train"], sp["dev"]) == split_ids(
        ids, shipped["split"]["seed"], shipped["split"]["train"], shipped["split"]["dev"]
    )


def test_the_graphs_second_output_hidden_states_or_span_head_scores_leaves_the_logits(tmp_path: Path) -> None:
    import json
    import shutil

    pytest.importorskip("onnx")
    from unspin.models.base import sha256_file
    from unspin.techniques.tagger import MODELS_DIR, TechniqueTagger
    from unspin.train.common import config_json
    from unspin.train.techniques.head import fit_span_head, set_extra_output

    src = MODELS_DIR / "minilm-l6"  # a whole graph, no frozen placeholders
    dst = tmp_path / "m"
    shutil.copytree(src, dst)
    cfg = json.loads((dst / "config.json").read_text())
    cfg["ensemble"] = []

    def tagger(head: dict | None = None) -> TechniqueTagger:
        cfg["files"]["model.onnx"] = sha256_file(dst / "model.onnx")
        cfg["decode"].pop("span_head", None)
        if head:
            cfg["decode"]["span_head"] = head
        (dst / "config.json").write_text(config_json(cfg))
        return TechniqueTagger(dst, threads=1)

    text = "They are traitors and liars.\n\nNothing else was said."
    plain = tagger().token_probs([text])[0]
    assert plain.hidden is None and plain.head is None
    set_extra_output(dst / "model.onnx", hidden=True)
    set_extra_output(dst / "model.onnx", hidden=True)  # again: still one "hidden" output
    tp = tagger().token_probs([text], hidden=True)[0]
    assert tp.hidden is not None and tp.hidden.shape == (len(plain.offsets), 384)
    assert np.array_equal(plain.probs, tp.probs)
    # a head fitted on these states: the graph's span_head output is hidden states times its projection
    labels = {"1": [LabelSpan("1", 9, 27, "Name_Calling,Labeling"), LabelSpan("1", 30, 37, "Doubt")]}
    projection, head, n = fit_span_head({"1": text}, labels, {"1": tp}, 1.0)
    assert n == 2 and projection.shape == (384, 14) and head["hidden_dim"] == 384
    set_extra_output(dst / "model.onnx", projection)
    baked = tagger(head).token_probs([text])[0]
    assert baked.hidden is None and baked.head is not None and baked.head.shape == (len(plain.offsets), 14)
    assert np.array_equal(plain.probs, baked.probs)
    assert np.abs(baked.head - tp.hidden.astype(np.float32) @ projection).max() < 0.05
    # both at once (the shipped `fast` graph: English framing reads the hidden states of the same pass)
    set_extra_output(dst / "model.onnx", projection, hidden=True)
    both = tagger(head).token_probs([text], hidden=True)[0]
    assert np.array_equal(both.head, baked.head) and np.array_equal(plain.probs, both.probs)
    assert both.hidden is not None and np.abs(both.hidden - tp.hidden).max() < 1e-4
    assert tagger(head).has_hidden and tagger(head).token_states(text)[0].shape == (len(plain.offsets), 384)
    set_extra_output(dst / "model.onnx")  # neither: the graph as exported
    assert [o.name for o in tagger().runner.session.get_outputs()] == ["logits"]
    assert not tagger().has_hidden


def test_crossfit_never_decodes_an_article_with_choices_made_on_its_own_labels(monkeypatch) -> None:
    from unspin.formats.semeval import PTC_TECHNIQUES
    from unspin.techniques.decoding import Decoding, TechniqueSpans
    from unspin.train.techniques import crossfit as tt
    from unspin.train.techniques.data import OUTPUTS

    texts = {f"a{i}": f"text {i}" for i in range(11)}
    fitted_on: list[set[str]] = []

    def fake_tune(fit, probs, labels, params, clf=None) -> None:
        params.techniques.thresholds["fold"] = len(fitted_on)
        fitted_on.append(set(fit))

    decoded: dict[str, int] = {}

    def fake_predict(part, probs, params, span_lp=None):
        for a in part:
            assert a not in decoded, f"{a} decoded twice"
            decoded[a] = params.techniques.thresholds["fold"]
        return [], [], []

    monkeypatch.setattr(tt, "tune_decoding", fake_tune)
    monkeypatch.setattr(tt, "_predict_all", fake_predict)
    params = Decoding(labels=list(OUTPUTS), techniques=TechniqueSpans({t: 0.3 for t in PTC_TECHNIQUES}))
    tt.crossfit_scores(texts, {}, {}, params, folds=4, seed=1)
    assert set(decoded) == set(texts) and len(fitted_on) == 4
    for a, fold in decoded.items():
        assert a not in fitted_on[fold]
        assert fitted_on[fold] | {b for b, f in decoded.items() if f == fold} == set(texts)
    assert "fold" not in params.techniques.thresholds  # each fold chose on its own copy


def test_stages_run_in_recipe_order_and_tc_only_when_named(tmp_path: Path, monkeypatch) -> None:
    from unspin.train.techniques import run

    config = tmp_path / "recipe.toml"
    config.write_text(f'[train]\nwork_dir = "{(tmp_path / "work").as_posix()}"\n')
    calls: list[tuple[str, tuple]] = []
    for name in run.STAGES:
        monkeypatch.setattr(run, f"stage_{name}", lambda *a, name=name: calls.append((name, a)))

    def stages(spec: str) -> list[str]:
        calls.clear()
        assert run.main(["--config", str(config), "--data-dir", "ptc", "--out", "model", "--stages", spec]) == 0
        return [name for name, _ in calls]

    # `tune` chooses the TC step in a full run; `refit` and `tc_refit` run only on a model whose choices are made
    assert stages("all") == [s for s in run.STAGES if s not in ("tc", "refit", "tc_refit")]
    assert stages("test, tc,teacher") == ["teacher", "tc", "test"]
    assert stages("tc_refit,test") == ["test", "tc_refit"]  # after the test split is scored
    assert stages(",".join(run.STAGES)) == list(run.STAGES)
    stages("export,test")
    cfg = {"train": {"work_dir": (tmp_path / "work").as_posix()}}
    assert calls == [
        ("export", (cfg, Path("ptc"), tmp_path / "work", Path("model"))),
        ("test", (cfg, Path("ptc"), tmp_path / "work", Path("model"), config)),
    ]
    with pytest.raises(SystemExit) as stop:
        stages("train,tuen")
    assert stop.value.code == 2 and calls == []  # an unknown stage stops before any stage runs


def _shipped_card_inputs(name: str) -> tuple[dict, dict, dict, str]:
    """What the `test` stage gives the card of a shipped model: its config.json holds the scores and
    the training facts; the per-technique table, speed and benchmark are kept as a fixture."""
    import json

    from unspin.train.common import load_config

    root = Path(__file__).resolve().parents[1]
    cfg = load_config(root / "configs" / f"techniques-{name}.toml")
    cfg_json = json.loads((root / "src" / "unspin" / "models" / "techniques" / name / "config.json").read_text())
    fixture = json.loads((root / "tests" / "fixtures" / "technique-cards" / f"{name}.json").read_text())
    res = {**fixture["results"], **cfg_json["test"], "training": cfg_json["training"]}
    if "crossfit" in cfg_json:
        keys = ("chosen_on", "articles", "folds", "dev_crossfit")
        res["crossfit"] = {k: cfg_json["crossfit"][k] for k in keys if k in cfg_json["crossfit"]}
    return cfg, cfg_json, res, fixture["bench"]


@pytest.mark.parametrize("name", ["fast", "accurate", "minilm-l6"])
def test_the_shipped_model_cards_render_from_their_records(name: str) -> None:
    from unspin.train.techniques.card import render_model_card

    model_dir = Path(__file__).resolve().parents[1] / "src" / "unspin" / "models" / "techniques" / name
    cfg, cfg_json, res, bench = _shipped_card_inputs(name)
    size_mb = (model_dir / "model.onnx").stat().st_size / 1e6
    card = render_model_card(cfg, cfg_json, res, f"configs/techniques-{name}.toml", size_mb, bench)
    assert card == (model_dir / "MODEL_CARD.md").read_text()


def test_a_card_without_crossfit_says_dev_chose_the_decoding(tmp_path: Path, monkeypatch) -> None:
    from unspin.train.techniques.card import write_model_card

    cfg, cfg_json, res, _ = _shipped_card_inputs("fast")
    del res["crossfit"], res["precise"], cfg_json["precise"]  # a model without the two dev estimates
    cfg_json["decode"].pop("span_head")
    cfg_json["decode"].update(flc_keep=0.15, flc_drop=0.8, calibration=[0.9, -0.5])
    res["dev_shipped"] = {"si_f1": 0.411, "flc_f1": 0.287}
    (tmp_path / "model.onnx").write_bytes(b"\0" * 2_500_000)
    monkeypatch.chdir(tmp_path)  # no bench.txt in the work folder: no benchmark table
    write_model_card(cfg, tmp_path, res, cfg_json, Path("configs/techniques-fast.toml"))
    card = (tmp_path / "MODEL_CARD.md").read_text()
    assert "(`model.onnx`, 2.5 MB)" in card
    assert "per-technique thresholds (dev micro FLC F1)" in card and "cross-fitted" not in card
    assert "20% test (74 articles).\nNothing was chosen on the test split: it is scored once, below." in card
    assert "the tagger's own when the TC model gives that at least 0.15" in card
    assert 'A span goes when the span classifier gives "no technique" at least 0.80.' in card
    assert "- Confidence = sigmoid(0.900 * (logit(p) - logit(threshold)) + -0.500), p the span's mean token\n" in card
    assert "with the shipped model (after `smooth`): SI F1 0.411, FLC F1 0.287." in card
    assert "throughput and memory.\n\n## Training recipe" in card
    assert "The default view" not in card
    assert card.endswith("reader, not verdicts.\n")


def test_the_every_sentence_baseline_is_one_span_per_non_empty_line() -> None:
    from unspin.train.techniques.evaluate import every_sentence_baseline

    spans = every_sentence_baseline({"1": "First line.\n\n  \nSecond one\n", "2": "Only"})
    assert [(s.article_id, s.start, s.end) for s in spans] == [("1", 0, 11), ("1", 16, 26), ("2", 0, 4)]


def test_crossfit_stage_chooses_on_dev_and_never_reads_the_test_split(tmp_path: Path, monkeypatch) -> None:
    import json

    from unspin.techniques import tagger as tagger_module
    from unspin.techniques.decoding import Decoding, TechniqueSpans
    from unspin.train.techniques import crossfit as tt
    from unspin.train.techniques.data import OUTPUTS

    split = {"train": ["t1"], "dev": [f"d{i}" for i in range(6)], "test": ["x1", "x2"]}
    articles = {a: f"text of {a}" for ids in split.values() for a in ids}
    seen: list[str] = []

    class FakeTagger:
        def __init__(self, out, threads=1) -> None:
            self.params = Decoding(labels=list(OUTPUTS), techniques=TechniqueSpans({}))

        def token_probs(self, texts):
            seen.extend(texts)
            return [None] * len(texts)

    chosen_on: list[set[str]] = []
    monkeypatch.setattr(tagger_module, "TechniqueTagger", FakeTagger)
    monkeypatch.setattr(tt, "load_ptc", lambda data_dir: (articles, {}))
    monkeypatch.setattr(tt, "_split", lambda work: split)
    monkeypatch.setattr(tt, "tune_decoding", lambda fit, probs, labels, params, clf=None: chosen_on.append(set(fit)))
    monkeypatch.setattr(tt, "_predict_all", lambda part, probs, params, span_lp=None: ([], [], []))
    monkeypatch.setattr(tt, "_scores", lambda gold, flc, si, raw: {"si": {}, "flc": {}, "ece": 0.0})
    out = tmp_path / "model"
    out.mkdir()
    (out / "config.json").write_text("{}")
    tt.stage_crossfit({"crossfit": {"folds": 3, "seed": 1}, "train": {}}, tmp_path, tmp_path, out)
    assert sorted(seen) == sorted(articles[a] for a in split["dev"])
    assert len(chosen_on) == 4 and chosen_on[-1] == set(split["dev"])  # three folds, then all of dev
    assert all(c <= set(split["dev"]) for c in chosen_on)
    record = json.loads((out / "config.json").read_text())["crossfit"]
    assert record["chosen_on"] == "dev" and record["articles"] == 6 and "dev_crossfit" in record


def test_fit_on_names_the_splits_the_weights_see_and_the_refit_options_reach_the_stages(tmp_path, monkeypatch) -> None:
    from unspin.train.techniques import run
    from unspin.train.techniques.data import fit_ids, fit_on

    split = {"train": ["3", "1"], "dev": ["2"], "test": ["4"]}
    assert fit_on({"train": {}}) == ["train"] and fit_ids({"train": {}}, split) == ["1", "3"]
    assert fit_ids({"train": {"fit_on": ["train", "dev", "test"]}}, split) == ["1", "2", "3", "4"]
    with pytest.raises(ValueError, match="unknown split 'val'"):
        fit_on({"train": {"fit_on": ["train", "val"]}})
    with pytest.raises(ValueError, match="include the train split"):
        fit_on({"train": {"fit_on": ["dev"]}})

    config = tmp_path / "recipe.toml"
    config.write_text(f'[train]\nwork_dir = "{(tmp_path / "work").as_posix()}"\n')
    seen = []
    monkeypatch.setattr(run, "stage_refit", lambda *a: seen.append(a))
    argv = ["--config", str(config), "--data-dir", "ptc", "--out", "model", "--stages", "refit"]
    more = ["--fit-on", "train, dev,test", "--work", str(tmp_path / "w2"), "--decoding-from", "held"]
    assert run.main(argv + more) == 0
    cfg, _, work, out, _ = seen[0]
    assert cfg["train"]["fit_on"] == ["train", "dev", "test"] and work == tmp_path / "w2" and out == Path("model")
    assert cfg["refit"]["decoding_from"] == "held"


def _frozen_model(tmp_path: Path, **changes) -> tuple[dict, Path]:
    import json

    folder = tmp_path / "held-out"
    folder.mkdir(exist_ok=True)
    record = {"training": {"epoch": 4}, "crossfit": {"chosen_on": "dev"}, "decode": {}, "files": {}}
    record.update(changes)
    (folder / "config.json").write_text(json.dumps(record))
    cfg = {"train": {"epochs": 4, "fit_on": ["train", "dev", "test"]}, "refit": {"decoding_from": str(folder)}}
    return cfg, folder


def test_a_refit_keeps_the_choices_of_a_model_that_held_dev_and_test_out(tmp_path: Path) -> None:
    from unspin.train.techniques.refit import frozen_decoding, stage_refit

    cfg, folder = _frozen_model(tmp_path)
    src, frozen = frozen_decoding(cfg, tmp_path / "out")
    assert src == folder and frozen["training"]["epoch"] == 4
    cfg, _ = _frozen_model(tmp_path, training={"epoch": 2})
    with pytest.raises(SystemExit, match=r"kept epoch 2 of 4; set \[train\] epochs = 2"):
        frozen_decoding(cfg, tmp_path / "out")  # a refit has no dev split to choose the epoch on
    cfg, _ = _frozen_model(tmp_path, crossfit={"chosen_on": "dev+test"})
    with pytest.raises(SystemExit, match="not chosen on dev alone"):
        frozen_decoding(cfg, tmp_path / "out")
    cfg, _ = _frozen_model(tmp_path, fit_on={"splits": ["train", "dev"], "articles": 297})
    with pytest.raises(SystemExit, match="itself a refit"):
        frozen_decoding(cfg, tmp_path / "out")
    with pytest.raises(SystemExit, match="config.json: missing"):
        frozen_decoding({"train": {"epochs": 4}}, tmp_path / "nowhere")
    with pytest.raises(SystemExit, match="more than the train split"):
        stage_refit({"train": {"epochs": 4}}, tmp_path, tmp_path, tmp_path, Path("recipe.toml"))


@pytest.mark.parametrize("alpha", [0.8, None])
def test_a_refit_of_a_smoothed_recipe_smooths_its_own_graph(tmp_path: Path, monkeypatch, alpha) -> None:
    import hashlib
    import json

    from unspin.train.techniques import refit

    cfg, _ = _frozen_model(tmp_path, files={"model.onnx": "held-out graph"})
    cfg["train"]["fit_on"] = ["train", "dev"]
    if alpha is not None:
        cfg["export"] = {"smooth_ffn_output": alpha}
    out, work = tmp_path / "out", tmp_path / "work"
    out.mkdir()
    work.mkdir()
    (out / "model.onnx").write_bytes(b"the refitted graph")
    (work / "best.json").write_text(json.dumps({"epoch": 4, "train_seconds": 9.0}))
    monkeypatch.setattr(refit, "load_ptc", lambda _: ({}, {}))
    monkeypatch.setattr(refit, "_split", lambda _: {"train": ["1"], "dev": ["2"], "test": ["3"]})
    smoothed = []

    def smooth(c, data_dir, w, o) -> None:
        # what the `smooth` stage loads must be the refit's graph, under its own hash
        smoothed.append((c["export"]["smooth_ffn_output"], w, json.loads((o / "config.json").read_text())["files"]))
        (o / "model.onnx").write_bytes(b"the smoothed graph")

    monkeypatch.setattr(refit, "stage_smooth", smooth)
    refit.stage_refit(cfg, tmp_path, work, out, Path("recipe.toml"))
    record = json.loads((out / "config.json").read_text())
    if alpha is None:
        assert smoothed == []
        assert record["files"]["model.onnx"] == hashlib.sha256(b"the refitted graph").hexdigest()
    else:
        assert smoothed == [(alpha, work, {"model.onnx": hashlib.sha256(b"the refitted graph").hexdigest()})]
        assert record["files"]["model.onnx"] == hashlib.sha256(b"the smoothed graph").hexdigest()
    assert record["fit_on"] == {"splits": ["train", "dev"], "articles": 2}


@pytest.mark.parametrize("splits", [["train", "dev", "test"], ["train", "dev"]])
def test_a_refit_models_card_says_which_articles_its_weights_saw(splits: list[str]) -> None:
    from unspin.train.techniques.card import render_model_card

    cfg, cfg_json, res, bench = _shipped_card_inputs("fast")
    cfg_json = {**cfg_json, "fit_on": {"splits": splits, "articles": 371 if "test" in splits else 297}}
    card = render_model_card(cfg, cfg_json, res, "configs/techniques-fast.toml", 5.6, bench)
    n = cfg_json["fit_on"]["articles"]
    assert f"**The shipped weights were fitted on {n} articles** (the {', '.join(splits)} splits)" in card
    assert f"Its targets here cover the {n} labelled articles" in card
    assert "no dev or test article is among these texts" not in card
    if "test" in splits:
        assert "The tables below are that run's, measured before the refit" in card
    else:
        assert "The test split was not fitted: the tables below are this model's own." in card


def test_the_tc_refit_never_fits_on_the_span_classifiers_own_training_spans(tmp_path: Path) -> None:
    from unspin.train.techniques.tc import stage_tc_refit

    for names in (["train", "dev"], ["dev", "val"]):
        with pytest.raises(SystemExit, match="dev and/or test only"):
            stage_tc_refit({"tc": {"refit_on": names}, "train": {}}, tmp_path, tmp_path)


def test_the_tc_refit_check_compares_a_dev_sized_fit_with_a_larger_one() -> None:
    from unspin.train.techniques.tc import learning_check

    rng = np.random.default_rng(3)
    art = np.repeat(np.arange(40), 10)  # 40 articles of 10 spans, 3 classes, noisy features
    y = rng.integers(0, 3, len(art))
    x = np.eye(3)[y] + rng.normal(0, 1.2, (len(art), 3))
    check = learning_check(x, y, art, 3, l2=0.01, few=4)
    assert check["few_articles"] == 4 and check["all_articles"] == 32
    assert 1 / 3 < check["few_accuracy"] <= check["all_accuracy"] < 1.0
