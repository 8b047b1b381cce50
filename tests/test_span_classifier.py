"""The TC span classifier: how it reads a span, the shipped model, and its part in the TC step.

Runs without torch (onnxruntime, tokenizers, numpy only).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from unspin.formats.semeval import PTC_TECHNIQUES
from unspin.techniques.classifier import (
    MODELS_DIR,
    InputShape,
    SpanClassifier,
    batch_arrays,
    span_inputs,
)
from unspin.techniques.features import tc_features
from unspin.techniques.tagger import MODELS_DIR as TAGGERS_DIR
from unspin.techniques.tagger import TechniqueTagger

PTC_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ptc"
SHIPPED = (MODELS_DIR / "span-classifier" / "config.json").is_file()
needs_model = pytest.mark.skipif(not SHIPPED, reason="the span classifier is not built")


class WordTokenizer:
    """One token per word, ids from a growing vocabulary: enough to check the input layout."""

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}

    def encode(self, text: str, add_special_tokens: bool = False):  # noqa: ARG002
        ids = [self.vocab.setdefault(w, 10 + len(self.vocab)) for w in text.split()]
        return type("Encoding", (), {"ids": ids})()


def decode(tok: WordTokenizer, ids: list[int]) -> list[str]:
    names = {v: k for k, v in tok.vocab.items()} | {1: "[CLS]", 2: "[SEP]"}
    return [names[i] for i in ids]


def test_span_inputs_put_the_span_first_then_the_span_in_its_line() -> None:
    tok = WordTokenizer()
    text = "A first line.\nThey call it a so-called peace plan for us.\nLast line."
    start = text.index("so-called")
    end = text.index(" for us")
    ids, types, n = span_inputs(tok, text, start, end, 1, 2)
    words = decode(tok, ids)
    assert words == [
        "[CLS]",
        "so-called",
        "peace",
        "plan",
        "[SEP]",
        "They",
        "call",
        "it",
        "a",
        "so-called",
        "peace",
        "plan",
        "for",
        "us.",
        "[SEP]",
    ]
    assert n == 3
    assert types == [0] * 5 + [1] * 10  # the second segment (with its [SEP]) has type 1
    assert "line." not in words and "Last" not in words  # only the span's own line


def test_span_inputs_stay_within_the_length_limit_and_keep_the_span_centred() -> None:
    tok = WordTokenizer()
    left = " ".join(f"l{i}" for i in range(300))
    right = " ".join(f"r{i}" for i in range(300))
    span = " ".join(f"s{i}" for i in range(100))
    text = f"{left} {span} {right}"
    start = text.index("s0")
    shape = InputShape(max_span=40, max_len=128)
    ids, types, n = span_inputs(tok, text, start, start + len(span), 1, 2, shape)
    words = decode(tok, ids)
    assert len(ids) == len(types) == 128
    assert n == 40 and words[1:21] == [f"s{i}" for i in range(20)]  # head and tail of a long span
    assert words[21:41] == [f"s{i}" for i in range(80, 100)]
    # a span longer than the room for context: its head and tail fill the second segment
    assert words[42] == "s0" and words[-2] == "s99"

    short = text.index("s50")
    ids, _, n = span_inputs(tok, text, short, short + 3, 1, 2, shape)
    words = decode(tok, ids)
    ctx = words[words.index("[SEP]") + 1 : -1]
    at = ctx.index("s50")
    assert n == 1 and len(ids) == 128
    assert abs(at - (len(ctx) - 1 - at)) <= 1  # as many words on each side


def test_batch_arrays_mark_the_span_tokens() -> None:
    rows = [([1, 7, 8, 2, 5, 7, 8, 6, 2], [0, 0, 0, 0, 1, 1, 1, 1, 1], 2), ([1, 9, 2, 9, 2], [0, 0, 0, 1, 1], 1)]
    a = batch_arrays(rows, pad_id=0)
    assert a["input_ids"].shape == (2, 9)
    assert a["attention_mask"][1].tolist() == [1] * 5 + [0] * 4
    assert a["span_mask"][0].tolist() == [0, 1, 1, 0, 0, 0, 0, 0, 0]
    assert a["span_mask"][1].tolist() == [0, 1, 0, 0, 0, 0, 0, 0, 0]
    assert a["token_type_ids"][1].tolist() == [0, 0, 0, 1, 1, 0, 0, 0, 0]


def test_tc_features_take_the_groups_a_model_names() -> None:
    n = 15
    feat = np.arange(2 * n + 5, dtype=np.float32)
    own = np.full(14, -2.0, dtype=np.float32)
    assert tc_features(feat, "x", None, own, ["shape", "span_classifier"]).tolist() == [*range(30, 35), *[-2.0] * 14]
    assert tc_features(feat, "x", None, None, ["mean"]).tolist() == list(range(15))
    assert len(tc_features(feat, "x", None, own)) == 2 * n + 5 + 14  # default: all that is available
    with pytest.raises(ValueError, match="span classifier"):
        tc_features(feat, "x", None, None, ["span_classifier"])


@needs_model
def test_shipped_classifier_gives_a_distribution_per_span() -> None:
    from unspin.techniques.classifier import NONE, none_probs

    clf = SpanClassifier.load(threads=2)
    assert clf.labels[:14] == list(PTC_TECHNIQUES) and clf.labels[14:] in ([], [NONE])
    text = "They are traitors and criminals.\nMake our nation great again!\nNobody knows if he is honest."
    spans = [(9, 31), (33, 61), (0, 4), (5, 5)]
    lp = clf.log_probs(text, spans)  # the 14 techniques
    assert lp.shape == (4, 14)
    assert np.allclose(np.exp(lp).sum(axis=1), 1.0, atol=1e-4)
    assert np.array_equal(lp, clf.log_probs(text, spans))  # the same answer every time
    assert clf.log_probs(text, []).shape == (0, 14)
    full = clf.all_log_probs(text, spans)
    assert full.shape == (4, len(clf.labels))
    assert np.allclose(np.exp(full).sum(axis=1), 1.0, atol=1e-4)
    if NONE in clf.labels:
        p_none = none_probs(full)
        # a name-calling clause reads as a technique more than the word "They" alone
        assert p_none[0] < p_none[2]


@needs_model
def test_a_changed_model_file_is_refused(tmp_path: Path) -> None:
    import shutil

    from unspin.techniques.classifier import SpanClassifierError

    folder = tmp_path / "copy"
    shutil.copytree(MODELS_DIR / "span-classifier", folder)
    with open(folder / "model.onnx", "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(SpanClassifierError, match="model.onnx"):
        SpanClassifier(folder)


@needs_model
@pytest.mark.skipif(not PTC_DIR.is_dir(), reason="PTC data not available")
def test_tc_on_held_out_articles_beats_the_tagger_alone() -> None:
    """On the 74 test-split articles (1,111 gold spans), the `fast` model's TC step with the span
    classifier names the technique of gold spans far more often than the best TC step without it
    (0.54 for `fast`, 0.58 for `accurate`)."""
    from unspin.eval.spans import score_tc
    from unspin.formats.semeval import LabelSpan, read_articles, read_labels
    from unspin.train.common import split_ids

    name = "fast"
    if not (TAGGERS_DIR / name / "config.json").is_file():
        pytest.skip("the fast technique model is not built")
    if not TechniqueTagger.load(name, threads=2).params.tc.span_classifier:
        pytest.skip("the fast model's TC step does not use the span classifier")
    tagger = TechniqueTagger.load(name, threads=2)
    articles = read_articles(PTC_DIR / "train-articles")
    s = tagger.config["split"]
    test_ids = split_ids(list(articles), s["seed"], s["train"], s["dev"])["test"]
    gold = [g for g in read_labels(PTC_DIR / "train-task-flc-tc.labels", "flc") if g.article_id in test_ids]
    pred = []
    for a in test_ids:
        mine = [g for g in gold if g.article_id == a]
        labs = tagger.classify(articles[a], [(g.start, g.end) for g in mine])
        pred += [LabelSpan(a, g.start, g.end, lab) for g, lab in zip(mine, labs, strict=True)]
    assert score_tc(gold, pred).f1 >= 0.61


def _tc_params(keep: float):
    from unspin.techniques.decoding import Calibration, Decoding, Relabelling, TechniqueSpans

    labels = [*PTC_TECHNIQUES, "any"]
    params = Decoding(labels=labels, techniques=TechniqueSpans({t: 0.3 for t in PTC_TECHNIQUES}))
    params.relabel = Relabelling(keep)
    params.calibration = Calibration(1.0, 0.0, 1.0)
    # a TC model that passes the span classifier's distribution through unchanged
    params.tc.model = {
        "classes": list(PTC_TECHNIQUES),
        "features": ["span_classifier"],
        "W": np.eye(14).tolist(),
        "b": [0.0] * 14,
        "mean": [0.0] * 14,
        "std": [1.0] * 14,
    }
    params.tc.span_classifier = "span-classifier"
    return params


def _fake_span_lp(own: float):
    """Every span: 'Doubt' most likely, 'Loaded_Language' with probability `own`."""

    def span_lp(text: str, places):
        p = np.full(14, (1.0 - 0.6 - own) / 12)
        p[PTC_TECHNIQUES.index("Doubt")] = 0.6
        p[PTC_TECHNIQUES.index("Loaded_Language")] = own
        return np.log(np.tile(p, (len(places), 1)))

    return span_lp


def test_relabel_takes_the_tc_models_technique_and_keeps_its_own_when_likely_enough() -> None:
    from unspin.techniques.decoding import calibrate, relabel
    from unspin.techniques.runner import TokenProbs

    text = "These vile traitors lied."
    tp = TokenProbs(np.array([[6, 10], [11, 19]]), np.full((2, 15), 0.5, dtype=np.float32), np.zeros(2, dtype=bool))
    raw = [(6, 19, "Loaded_Language", 0.6, 0.3), (6, 19, "Name_Calling,Labeling", 0.4, 0.3)]
    params = _tc_params(keep=0.1)
    out = relabel(text, tp, raw, params, _fake_span_lp(own=0.05))
    assert {(s.start, s.end, s.technique) for s in out} == {(6, 19, "Doubt")}  # own label too unlikely
    # the same place found by two techniques gives one 'Doubt' span, with the higher confidence
    assert out[0].score == round(calibrate(0.6, 0.3, params.calibration, 0.6), 4)
    out = relabel(text, tp, raw, params, _fake_span_lp(own=0.2))
    assert {s.technique for s in out} == {"Doubt", "Loaded_Language"}
    low = next(s for s in out if s.technique == "Loaded_Language")
    doubt = next(s for s in out if s.technique == "Doubt")
    assert low.score == round(calibrate(0.6, 0.3, params.calibration, 0.2), 4) < doubt.score
    assert relabel(text, tp, [], params, _fake_span_lp(own=0.2)) == []


def test_spans_from_probs_relabel_only_with_a_span_classifier() -> None:
    from unspin.techniques.decoding import spans_from_probs
    from unspin.techniques.runner import TokenProbs

    text = "These vile traitors lied."
    probs = np.full((2, 15), 0.01, dtype=np.float32)
    probs[:, PTC_TECHNIQUES.index("Loaded_Language")] = 0.9
    tp = TokenProbs(np.array([[6, 10], [11, 19]]), probs, np.zeros(2, dtype=bool))
    params = _tc_params(keep=0.1)
    assert {s.technique for s in spans_from_probs(text, tp, params)} == {"Loaded_Language"}
    got = spans_from_probs(text, tp, params, _fake_span_lp(own=0.05))
    assert [(s.start, s.end, s.technique) for s in got] == [(6, 19, "Doubt")]
    params.relabel = None  # off
    assert {s.technique for s in spans_from_probs(text, tp, params, _fake_span_lp(own=0.05))} == {"Loaded_Language"}


def test_technique_logprobs_renormalise_without_none() -> None:
    from unspin.techniques.classifier import none_probs, technique_logprobs

    p = np.full(15, 0.02)
    p[14] = 1.0 - 0.02 * 14  # "none": 0.72
    lp = np.log(p)[None, :]
    assert np.allclose(np.exp(technique_logprobs(lp)), 1 / 14)
    assert np.allclose(none_probs(lp), [0.72])
    assert none_probs(np.log(np.full((1, 14), 1 / 14))) is None  # a model without "none"


def test_relabel_drops_spans_the_classifier_calls_none() -> None:
    from unspin.techniques.decoding import relabel
    from unspin.techniques.runner import TokenProbs

    text = "These vile traitors lied."
    tp = TokenProbs(np.array([[6, 10], [11, 19]]), np.full((2, 15), 0.5, dtype=np.float32), np.zeros(2, dtype=bool))
    raw = [(6, 19, "Loaded_Language", 0.6, 0.3)]

    def with_none(p_none: float):
        def span_lp(text: str, places):
            p = np.full(15, (1.0 - p_none - 0.3) / 13)
            p[PTC_TECHNIQUES.index("Doubt")] = 0.3
            p[14] = p_none
            return np.log(np.tile(p, (len(places), 1)))

        return span_lp

    params = _tc_params(keep=0.1)
    params.relabel.drop = 0.6
    assert relabel(text, tp, raw, params, with_none(0.65)) == []
    assert [s.technique for s in relabel(text, tp, raw, params, with_none(0.3))] == ["Doubt"]


def test_span_inputs_read_a_bounded_context_in_a_text_without_line_breaks() -> None:
    from unspin.techniques.classifier import CONTEXT_CHARS

    calls: list[int] = []

    class Counting(WordTokenizer):
        def encode(self, text: str, add_special_tokens: bool = False):  # noqa: ARG002
            calls.append(len(text))
            return super().encode(text)

    text = " ".join(f"w{i}" for i in range(100_000))  # one 590,000-character line
    start = text.index("w50000 ")
    ids, _, n = span_inputs(Counting(), text, start, start + len("w50000"), 1, 2)
    assert n == 1 and len(ids) == 128
    assert max(calls) <= CONTEXT_CHARS + 1  # never the whole line
    words = [w for w in ids if w not in (1, 2)]
    assert len(words) == 125  # the span, then the span with 62 words before and 62 after


def _head() -> dict:
    """A span head whose `span_features` part is zero: the graph's per-token scores decide."""
    return {
        "classes": list(PTC_TECHNIQUES),
        "W": np.zeros((35, 14)).tolist(),
        "b": [0.0] * 14,
        "mean": [0.0] * 35,
        "std": [1.0] * 35,
    }


def _tp_with_head(favour: str, others: str = "Doubt"):
    """Token probabilities saying Loaded_Language, and span-head scores: token 0 favours `others`
    a little, token 1 favours `favour` a lot."""
    from unspin.techniques.runner import TokenProbs

    probs = np.full((2, 15), 0.01, dtype=np.float32)
    probs[:, PTC_TECHNIQUES.index("Loaded_Language")] = 0.9
    head = np.zeros((2, 14), dtype=np.float32)
    head[0, PTC_TECHNIQUES.index(others)] = 2.0
    head[1, PTC_TECHNIQUES.index(favour)] = 6.0
    return TokenProbs(np.array([[6, 10], [11, 19]]), probs, np.zeros(2, dtype=bool), head)


def test_span_head_logprobs_average_the_graphs_scores_over_the_span() -> None:
    from unspin.techniques.tc import span_head_logprobs

    text = "These vile traitors lied."
    tp = _tp_with_head("Name_Calling,Labeling")
    lp = span_head_logprobs(text, tp, [(6, 19), (6, 10), (0, 5)], _head())
    assert lp.shape == (3, 14)
    assert np.allclose(np.exp(lp).sum(axis=1), 1.0, atol=1e-5)
    assert PTC_TECHNIQUES[int(lp[0].argmax())] == "Name_Calling,Labeling"  # mean: 3.0 against 1.0
    assert np.isclose(lp[0, PTC_TECHNIQUES.index("Name_Calling,Labeling")] - lp[0, PTC_TECHNIQUES.index("Doubt")], 2.0)
    assert PTC_TECHNIQUES[int(lp[1].argmax())] == "Doubt"  # "vile" alone
    assert np.allclose(np.exp(lp[2]), 1 / 14, atol=1e-6)  # "These" has no token: the bias alone


def test_spans_from_probs_relabel_through_the_span_head_without_a_span_classifier() -> None:
    from unspin.techniques.decoding import Decoding, Relabelling, TechniqueSpans, spans_from_probs
    from unspin.techniques.runner import TokenProbs

    text = "These vile traitors lied."
    params = Decoding(labels=[*PTC_TECHNIQUES, "any"], techniques=TechniqueSpans({t: 0.3 for t in PTC_TECHNIQUES}))
    params.relabel = Relabelling(0.5)
    params.tc.span_head = _head()
    got = spans_from_probs(text, _tp_with_head("Name_Calling,Labeling"), params)
    assert [(s.start, s.end, s.technique) for s in got] == [(6, 19, "Name_Calling,Labeling")]
    assert 0.0 < got[0].score < 1.0
    # the tagger's own label stays too when the head still gives it at least flc_keep
    params.relabel.keep = 0.0
    got = spans_from_probs(text, _tp_with_head("Name_Calling,Labeling"), params)
    assert {s.technique for s in got} == {"Name_Calling,Labeling", "Loaded_Language"}
    # without span-head scores (a graph without that output) the tagger's own label stays
    tp = _tp_with_head("Name_Calling,Labeling")
    plain = TokenProbs(tp.offsets, tp.probs, tp.recurring)
    assert [s.technique for s in spans_from_probs(text, plain, params)] == ["Loaded_Language"]
    params.relabel = None  # off
    assert [s.technique for s in spans_from_probs(text, tp, params)] == ["Loaded_Language"]


def test_token_range_finds_exactly_the_tokens_a_span_overlaps() -> None:
    from unspin.techniques.runner import TokenProbs, token_range

    # "These vile traitors lied." tokenised as These | vile | trait | ors | lied | .
    offsets = np.array([[0, 5], [6, 10], [11, 16], [16, 19], [20, 24], [24, 25]])
    tp = TokenProbs(offsets, np.zeros((6, 15), dtype=np.float32), np.zeros(6, dtype=bool))
    for start, end in [(0, 25), (6, 19), (12, 13), (5, 6), (10, 11), (19, 20), (18, 21), (24, 25), (25, 25)]:
        inside = np.flatnonzero((offsets[:, 0] < end) & (offsets[:, 1] > start))
        lo, hi = token_range(tp, start, end)
        assert list(range(lo, hi)) == list(inside), (start, end)
    empty = TokenProbs(np.zeros((0, 2), dtype=np.int64), np.zeros((0, 15), dtype=np.float32), np.zeros(0, dtype=bool))
    assert token_range(empty, 0, 5) == (0, 0)


def test_task6_spans_join_only_the_span_classifiers_training_rows(tmp_path: Path) -> None:
    """`[extra] task6`: SemEval-2021 Task 6 spans whose technique maps onto PTC join the train split's
    rows (never dev or test); unmapped techniques and empty spans are left out."""
    import json

    from unspin.formats.semeval import PTC_TECHNIQUES
    from unspin.train.span_classifier import gold_rows

    ptc = tmp_path / "ptc"
    (ptc / "train-articles").mkdir(parents=True)
    lines = []
    for i in range(10):
        (ptc / "train-articles" / f"article{i}.txt").write_text(f"They are traitors, said speaker {i}.\n")
        lines.append(f"{i}\tName_Calling,Labeling\t9\t17")
    (ptc / "train-task-flc-tc.labels").write_text("\n".join(lines) + "\n")
    what = "Whataboutism"
    memes = [
        {"id": "1", "text": "WHAT ABOUT THEIR CRIMES?", "labels": [{"start": 0, "end": 24, "technique": what}]},
        {"id": "2", "text": "Crooked and corrupt", "labels": [{"start": 0, "end": 19, "technique": "Smears"}]},
        {"id": "3", "text": "Vote!", "labels": [{"start": 0, "end": 0, "technique": "Slogans"}]},
    ]
    (tmp_path / "task6" / "data").mkdir(parents=True)
    (tmp_path / "task6" / "data" / "training_set_task2.txt").write_text(json.dumps(memes))
    cfg = {
        "model": {"base": "minilm-l6", "max_span": 40, "max_len": 128, "negatives": 0},
        "split": {"seed": 2020, "train": 0.7, "dev": 0.1, "test": 0.2},
        "train": {"seed": 1},
    }
    plain = gold_rows(cfg, ptc)
    more = gold_rows({**cfg, "extra": {"task6": "../task6"}}, ptc)
    assert len(more["train"]) == len(plain["train"]) + 1
    assert more["train"][-1][3] == list(PTC_TECHNIQUES).index("Whataboutism,Straw_Men,Red_Herring")
    assert more["dev"] == plain["dev"] and more["test"] == plain["test"]
