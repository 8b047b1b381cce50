"""The shipped technique taggers (`fast`, `accurate`): offsets, long and tiny inputs, explanations,
held-out quality.

Runs without torch (onnxruntime, tokenizers, numpy only).
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from unspin.document import Document, Segment, Span
from unspin.formats.semeval import PTC_TECHNIQUES
from unspin.scoring import article_scores
from unspin.techniques.runner import window_starts
from unspin.techniques.tagger import MODELS_DIR, TechniqueTagger
from unspin.techniques.taxonomy import BY_LABEL, TECHNIQUES, technique
from unspin.techniques.words import recurring_words, snap_to_words

PTC_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ptc"
SI_F1_FLOOR = 0.30

SHIPPED = [name for name in ("fast", "minilm-l6", "accurate") if (MODELS_DIR / name / "config.json").is_file()]
needs_model = pytest.mark.skipif(not SHIPPED, reason="no technique model is built")


@pytest.fixture(scope="module", params=SHIPPED)
def tagger(request: pytest.FixtureRequest) -> TechniqueTagger:
    return TechniqueTagger.load(request.param, threads=2)


def assert_valid(text: str, spans: list[Span]) -> None:
    for sp in spans:
        assert 0 <= sp.start < sp.end <= len(text), (sp, len(text))
        piece = text[sp.start : sp.end]
        assert piece.strip() == piece, repr(piece)
        assert sp.technique in PTC_TECHNIQUES
        assert 0.0 <= sp.score <= 1.0


# ------------------------------------------------------------------------------------------- taxonomy


def test_all_fourteen_techniques_are_explained() -> None:
    assert len(TECHNIQUES) == 14
    assert {t.ptc_label for t in TECHNIQUES} == set(PTC_TECHNIQUES)
    assert len({t.id for t in TECHNIQUES}) == 14 and len({t.colour for t in TECHNIQUES}) == 14
    for t in TECHNIQUES:
        for text in (t.name, t.definition, t.why_it_persuades, t.example):
            assert len(text.strip()) > 3
        assert t.colour.startswith("#") and len(t.colour) == 7
        assert technique(t.id) is t and technique(t.ptc_label) is t
        assert t.name in t.explanation()


# ------------------------------------------------------------------------------------------- helpers


def test_window_starts_cover_every_token() -> None:
    for n in (0, 1, 5, 254, 255, 600, 1000):
        starts = window_starts(n, 254, 192)
        covered = set()
        for a in starts:
            covered.update(range(a, min(a + 254, n)))
        assert covered == set(range(n))
        assert all(a + 254 <= max(n, 254) for a in starts)


def test_snap_to_words() -> None:
    text = "The unbelievably corrupt regime."
    assert snap_to_words(text, 6, 12) == (4, 16)  # inside "unbelievably"
    assert snap_to_words(text, 3, 17) == (4, 16)  # surrounding spaces trimmed
    assert snap_to_words(text, 17, 24) == (17, 24)
    text = "The so-called experts don't know it - nor Russia's allies."
    assert text[snap_to_words(text, 3, 5)[0] : snap_to_words(text, 3, 5)[1]] == "so-called"
    assert text[slice(*snap_to_words(text, 6, 9))] == "so-called"  # from inside, after the hyphen
    assert text[slice(*snap_to_words(text, 24, 26))] == "don't"
    assert text[slice(*snap_to_words(text, 42, 48))] == "Russia's"
    assert text[slice(*snap_to_words(text, 35, 41))] == "nor"  # a free-standing dash is trimmed


def test_recurring_words() -> None:
    text = "Traitors everywhere. The traitors won. The end."
    assert [text[a:b] for a, b in recurring_words(text)] == ["Traitors", "traitors"]


# ------------------------------------------------------------------------------------------- the model


@needs_model
def test_unicode_heavy_text_offsets(tagger: TechniqueTagger) -> None:
    texts = [
        "Les traîtres 😡😡 ont VOLÉ l'élection!!! The corrupt elite 👨‍👩‍👧 lies, lies and lies again.",
        "مرحبا بالعالم — the so-called experts are destroying everything we love. ﷺ",
        "Cafe\u0301 owners say the disgusting, shameful mob (zero\u200bwidth) ruined 東京 forever 🏳️‍🌈.",
        "\u202eRTL override\u202c and \U0001f9d1\U0001f3fd\u200d\U0001f4bb: a catastrophic, evil plot!",
    ]
    results = tagger.predict(texts)
    assert len(results) == len(texts)
    for text, spans in zip(texts, results, strict=True):
        assert_valid(text, spans)


@needs_model
def test_one_word_and_empty_texts(tagger: TechniqueTagger) -> None:
    texts = ["Traitors!", "word", "", "   \n  ", "😡"]
    results = tagger.predict(texts)
    for text, spans in zip(texts, results, strict=True):
        assert_valid(text, spans)
    assert results[2] == [] and results[3] == []


@needs_model
def test_fifty_thousand_words(tagger: TechniqueTagger) -> None:
    rng = random.Random(7)
    pieces = [
        "The council met on Tuesday to discuss the budget.",
        "These treacherous, corrupt thugs will destroy our beloved country!",
        "Officials said the report would be published next month.",
        "Is anyone really surprised that the so-called experts lied again?",
        "Rain is expected in the north later this week.",
    ]
    words: list[str] = []
    while len(words) < 50_000:
        words.extend(rng.choice(pieces).split())
    text = " ".join(words[:50_000])
    spans = tagger.predict([text])[0]
    assert_valid(text, spans)
    assert spans, "a long text full of loaded sentences should have spans"
    assert max(sp.end for sp in spans) > len(text) * 0.9  # the end of the text is tagged too


@needs_model
def test_finds_loaded_language(tagger: TechniqueTagger) -> None:
    text = (
        "These disgusting, treacherous traitors are destroying our great nation with their vile lies, "
        "and every true patriot must stand up against this evil, corrupt mob before it is too late!"
    )
    spans = tagger.predict([text])[0]
    assert_valid(text, spans)
    assert spans, "an obviously loaded sentence should get at least one span"


@needs_model
def test_a_texts_spans_do_not_depend_on_the_other_texts_of_the_call(tagger: TechniqueTagger) -> None:
    import numpy as np

    rng = random.Random(7)
    words = "the brutal regime lies again while our heroes stand firm and the people".split()
    text = " ".join(rng.choice(words) for _ in range(400)) + "."
    alone = tagger.token_probs([text])[0].probs
    # with a short text and a long one around it (different padding and activation ranges if batched together)
    short, long_ = "A traitor!", " ".join(rng.choice(words) for _ in range(3000))
    together = tagger.token_probs([short, text, long_])[1].probs
    assert np.array_equal(alone, together)
    assert tagger.predict([text])[0] == tagger.predict([short, text, long_])[1]


@needs_model
def test_document_call_sets_spans_and_scores(tagger: TechniqueTagger) -> None:
    text = "The weather was mild. These evil, corrupt traitors are destroying our beloved nation!"
    doc = Document(text=text, sentences=[Segment(0, 21), Segment(22, len(text))])
    tagger(doc)
    assert_valid(text, doc.spans)
    scores = doc.scores["article"]
    assert 0.0 <= scores["share"] <= 1.0
    assert sum(scores["counts"].values()) == len(doc.spans)
    for seg in doc.sentences:
        assert seg.score is not None and 0.0 <= seg.score <= 1.0
    for sp in doc.spans:
        assert sp.explanation and BY_LABEL[sp.technique].name in sp.explanation
    if doc.spans:
        assert abs(sum(scores["mix"].values()) - 1.0) < 1e-3


@needs_model
def test_classify_returns_one_label_per_span(tagger: TechniqueTagger) -> None:
    text = "Traitors, traitors, traitors! The corrupt elite stole it."
    labels = tagger.classify(text, [(0, 8), (30, 50), (3, 3)])
    assert len(labels) == 3 and all(lab in PTC_TECHNIQUES for lab in labels)


@needs_model
@pytest.mark.skipif(not PTC_DIR.is_dir(), reason="PTC data not available")
def test_si_f1_on_held_out_split(tagger: TechniqueTagger) -> None:

    from unspin.eval.spans import score_si
    from unspin.formats.semeval import LabelSpan, read_articles, read_labels
    from unspin.train.common import split_ids

    config = tagger.config
    articles = read_articles(PTC_DIR / "train-articles")
    split = config["split"]
    test_ids = split_ids(list(articles), split["seed"], split["train"], split["dev"])["test"]
    gold = [s for s in read_labels(PTC_DIR / "train-task-flc-tc.labels", "flc") if s.article_id in test_ids]
    pred = [LabelSpan(a, s, e) for a in test_ids for s, e in tagger.predict_si(articles[a])]
    # a floor against broken models and decoding; the models' decoding is chosen on dev and test
    # together, so the estimate to quote is the cross-fitted one in their config.json ("crossfit")
    assert score_si(gold, pred).f1 >= SI_F1_FLOOR


def test_project_probs_averages_overlapping_source_tokens() -> None:
    import numpy as np

    from unspin.techniques.runner import TokenProbs, project_probs

    # source tokens: "un|believ|able" "lies"; destination: "unbelievable" "li|es" and a token with no source
    src = TokenProbs(
        offsets=np.array([[0, 2], [2, 7], [7, 12], [13, 17]]),
        probs=np.array([[0.2], [0.4], [0.6], [0.9]], dtype=np.float32),
        recurring=np.zeros(4, dtype=bool),
    )
    dst = np.array([[0, 12], [13, 15], [15, 17], [20, 22]])
    fallback = np.full((4, 1), 0.05, dtype=np.float32)
    got = project_probs(src, dst, fallback)
    assert np.allclose(got[:, 0], [0.4, 0.9, 0.9, 0.05])


def test_lexical_features_are_stable_and_see_words_and_shape() -> None:
    import numpy as np

    from unspin.techniques.features import LEXICAL_DIM, lexical_features

    a = lexical_features("The so-called EXPERTS lied again!")
    b = lexical_features("the so-called experts lied again")
    assert a.shape == (LEXICAL_DIM + 4,)
    assert np.array_equal(a[:LEXICAL_DIM], b[:LEXICAL_DIM])  # words are lower-cased
    assert a[LEXICAL_DIM] == 1.0 and b[LEXICAL_DIM] == 0.0  # '!'
    assert a[LEXICAL_DIM + 3] == 1.0 and b[LEXICAL_DIM + 3] == 0.0  # a word in capitals
    # 6 words and 5 word pairs, hashed with crc32 (the same on every machine and run)
    assert a[:LEXICAL_DIM].sum() == len(set(np.flatnonzero(a[:LEXICAL_DIM])))
    assert 9 <= a[:LEXICAL_DIM].sum() <= 11


def test_function_word_fragments_are_no_spans() -> None:
    from unspin.techniques.words import function_words_only

    for phrase in ("for", "a", "has been", "our", "it is", "—"):
        assert function_words_only(phrase), phrase
    for phrase in ("corrupt elite", "NO", "ALL of them", "so-called experts", "traitors"):
        assert not function_words_only(phrase), phrase


@needs_model
def test_no_span_is_only_function_words(tagger: TechniqueTagger) -> None:
    from unspin.techniques.words import function_words_only

    loaded = (
        "These disgusting, treacherous traitors are destroying our great nation with their vile lies.\n"
        "Who can still believe a word they say? For years they have been lying to us, and they have been\n"
        "lying to our children. Every true patriot must stand up against this evil, corrupt mob before it\n"
        "is too late, or we will all pay for it. They are traitors, traitors, traitors!"
    )
    examples = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.txt"))
    found = 0
    for article in [loaded, *(p.read_text(encoding="utf-8") for p in examples)]:
        spans = tagger.predict([article])[0]
        found += len(spans)
        assert_valid(article, spans)
        assert not [article[s.start : s.end] for s in spans if function_words_only(article[s.start : s.end])]
        assert not [article[s:e] for s, e in tagger.predict_si(article) if function_words_only(article[s:e])]
    assert found, "the example articles should get spans"


def test_article_share_counts_each_non_space_character_once() -> None:
    # overlapping spans, a span over white space only, and Unicode spaces (no-break, em, ideographic)
    text = "Evil\u00a0plan  here.\n\nThey\u2003lie\u3000again, and again."
    spans = [
        Span(0, 9, "Loaded_Language", 0.9),
        Span(5, 15, "Name_Calling,Labeling", 0.6),
        Span(15, 19, "Doubt", 0.2),
        Span(21, 30, "Repetition", 0.5),
    ]
    non_space = [not c.isspace() for c in text]
    covered = [False] * len(text)
    for sp in spans:
        covered[sp.start : sp.end] = [True] * (sp.end - sp.start)
    expected = sum(a and b for a, b in zip(non_space, covered, strict=True)) / sum(non_space)
    scores = article_scores(text, spans)
    assert scores["share"] == round(expected, 4)
    assert scores["n_spans"] == 4 and scores["counts"]["Doubt"] == 1
    assert abs(sum(scores["mix"].values()) - 1.0) < 1e-3
    assert article_scores("   ", [])["share"] == 0.0
    rng = random.Random(3)
    for _ in range(50):
        text = "".join(rng.choice("ab \u00a0\n\u2003.") for _ in range(60))
        spans = [Span(a, a + rng.randint(0, 15), "Doubt", 0.5) for a in (rng.randint(0, 50) for _ in range(5))]
        spans = [Span(s.start, min(s.end, len(text)), s.technique, s.score) for s in spans]
        covered = [False] * len(text)
        for sp in spans:
            covered[sp.start : sp.end] = [True] * (sp.end - sp.start)
        non_space = [not c.isspace() for c in text]
        expected = sum(a and b for a, b in zip(non_space, covered, strict=True)) / (sum(non_space) or 1)
        assert article_scores(text, spans)["share"] == round(expected, 4)


SEED_TEXT = "These vile traitors lied, and the weather was mild today."
SEED_LABELS = [*PTC_TECHNIQUES, "any"]


def _two_spans(label: str, confident: list[float], middling: list[float]):
    """Token probabilities of SEED_TEXT with output `label` raised on "vile traitors" (`confident`)
    and on "weather was" (`middling`)."""
    import numpy as np

    from unspin.techniques.runner import TokenProbs

    words = [(m.start(), m.end()) for m in re.finditer(r"\w+", SEED_TEXT)]
    probs = np.zeros((len(words), len(SEED_LABELS)), dtype=np.float32)
    probs[1:3, SEED_LABELS.index(label)] = confident
    probs[6:8, SEED_LABELS.index(label)] = middling
    return TokenProbs(np.array(words), probs, np.zeros(len(words), dtype=bool))


def test_si_seed_keeps_only_spans_with_a_confident_token() -> None:
    from unspin.techniques.decoding import Decoding, si_from_probs

    text = SEED_TEXT
    tp = _two_spans("any", [0.7, 0.35], [0.3, 0.3])  # one confident token; above the threshold only
    cfg = {"labels": SEED_LABELS, "decode": {"thresholds": {}, "si_threshold": 0.25, "merge_gap": 0}}
    plain = Decoding.from_config(cfg)
    assert [text[s:e] for s, e in si_from_probs(text, tp, plain)] == ["vile traitors", "weather was"]
    seeded = Decoding.from_config({**cfg, "decode": {**cfg["decode"], "si_seed": 0.4}})
    assert [text[s:e] for s, e in si_from_probs(text, tp, seeded)] == ["vile traitors"]
    assert seeded.to_config()["si_seed"] == 0.4 and "si_seed" not in plain.to_config()
    assert Decoding.from_config({"labels": SEED_LABELS, "decode": seeded.to_config()}).si.seed == 0.4
    # a seed at or below the threshold changes nothing
    low = Decoding.from_config({**cfg, "decode": {**cfg["decode"], "si_seed": 0.25}})
    assert si_from_probs(text, tp, low) == si_from_probs(text, tp, plain)


def test_flc_seed_keeps_only_technique_spans_with_a_confident_token() -> None:
    from unspin.techniques.decoding import Decoding, spans_from_probs

    text = SEED_TEXT
    tp = _two_spans("Loaded_Language", [0.5, 0.25], [0.25, 0.25])  # one token above 1.5 x 0.2; none
    decode = {"thresholds": {t: 0.2 for t in PTC_TECHNIQUES}, "merge_gap": 0}
    plain = Decoding.from_config({"labels": SEED_LABELS, "decode": decode})
    seeded = Decoding.from_config({"labels": SEED_LABELS, "decode": {**decode, "flc_seed": 1.5}})
    assert [text[s.start : s.end] for s in spans_from_probs(text, tp, plain)] == ["vile traitors", "weather was"]
    assert [text[s.start : s.end] for s in spans_from_probs(text, tp, seeded)] == ["vile traitors"]
    assert seeded.to_config()["flc_seed"] == 1.5 and "flc_seed" not in plain.to_config()


def test_si_blend_reads_the_most_likely_technique_beside_any() -> None:
    import numpy as np

    from unspin.techniques.decoding import Decoding, si_column, si_from_probs

    text = SEED_TEXT
    tp = _two_spans("any", [0.3, 0.3], [0.1, 0.1])  # "vile traitors" middling on "any" ...
    tp.probs[1:3, SEED_LABELS.index("Name_Calling,Labeling")] = 0.9  # ... but clearly name calling
    tp.probs[6:8, SEED_LABELS.index("Doubt")] = 0.2  # "weather was": weak on both
    cfg = {"labels": SEED_LABELS, "decode": {"thresholds": {}, "si_threshold": 0.4, "merge_gap": 0}}
    plain = Decoding.from_config(cfg)
    assert si_from_probs(text, tp, plain) == []
    blended = Decoding.from_config({**cfg, "decode": {**cfg["decode"], "si_blend": 0.5}})
    assert np.allclose(si_column(tp, blended)[1:3], 0.6) and np.allclose(si_column(tp, blended)[6:8], 0.15)
    assert [text[s:e] for s, e in si_from_probs(text, tp, blended)] == ["vile traitors"]
    assert blended.to_config()["si_blend"] == 0.5 and "si_blend" not in plain.to_config()
    assert Decoding.from_config({"labels": SEED_LABELS, "decode": blended.to_config()}).si.blend == 0.5


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_decoding_config_reads_into_groups_and_writes_back_unchanged(name: str) -> None:
    import json

    import numpy as np

    from unspin.techniques.decoding import Decoding

    cfg = json.loads((MODELS_DIR / name / "config.json").read_text(encoding="utf-8"))
    params = Decoding.from_config(cfg)
    stored = cfg["decode"]
    assert params.techniques.thresholds == stored["thresholds"]
    assert (params.relabel is None) == (stored.get("flc_keep", -1.0) < 0)
    if params.tc.span_head is not None:
        assert isinstance(params.tc.span_head["W"], np.ndarray)  # converted once, at load
    written = params.to_config()
    assert list(written) == list(stored)  # the training recipe writes the keys in the same order
    assert json.dumps(written, sort_keys=False) == json.dumps(stored, sort_keys=False)
    assert Decoding.from_config({"labels": cfg["labels"], "decode": written}).to_config() == written


def test_decoding_rules_that_are_off_are_none_and_stay_out_of_the_config() -> None:
    from unspin.techniques.decoding import Decoding

    stored = {
        "thresholds": {"Doubt": 0.3},
        "si_threshold": 0.3,
        "si_seed": 0.3,  # at the threshold: no hysteresis
        "si_blend": 0.0,
        "flc_seed": 1.0,
        "flc_keep": -1.0,
        "flc_drop": 1.01,
        "calibration": [0.5, -0.2],
    }
    params = Decoding.from_config({"labels": ["Doubt", "any"], "decode": stored})
    assert (params.si.seed, params.si.blend, params.techniques.seed, params.relabel) == (None, None, None, None)
    assert (params.calibration.a, params.calibration.b, params.calibration.tc) == (0.5, -0.2, None)
    written = params.to_config()
    assert not {"si_seed", "si_blend", "flc_seed", "flc_keep", "flc_drop"} & set(written)
    kept = Decoding.from_config({"labels": ["Doubt", "any"], "decode": {**stored, "flc_keep": 0.0, "flc_drop": 0.7}})
    assert (kept.relabel.keep, kept.relabel.drop) == (0.0, 0.7)
    assert kept.to_config()["flc_keep"] == 0.0 and kept.to_config()["flc_drop"] == 0.7
