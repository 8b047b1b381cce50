"""The default view: only the technique spans at the model's precise operating point; `--all-spans`,
the API's `all_spans` and the page's switch for every span. How the operating point is chosen, too."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner
from webdocs import ARTICLE, with_marked_spans

from unspin.cli.main import app
from unspin.document import Document, Span
from unspin.eval.intervals import merge_intervals
from unspin.formats.semeval import PTC_TECHNIQUES, LabelSpan
from unspin.scoring import set_technique_spans
from unspin.techniques.decoding import Decoding, PreciseView
from unspin.train.techniques.precise import choose_thresholds, cross_validated, f_beta

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()
LL, NC = "Loaded_Language", "Name_Calling,Labeling"


def _sp(start: int, end: int, technique: str, score: float) -> Span:
    return Span(start, end, technique, score)


# --- choosing the operating point ---------------------------------------------------------------------


def test_the_global_threshold_is_the_best_f_beta_of_the_spans_it_keeps() -> None:
    gold = [LabelSpan("a", 0, 10, LL), LabelSpan("a", 20, 30, LL), LabelSpan("a", 40, 50, LL)]
    raw = [
        ("a", _sp(0, 10, LL, 0.8)),  # right
        ("a", _sp(20, 30, LL, 0.7)),  # right
        ("a", _sp(60, 70, LL, 0.3)),  # wrong
        ("a", _sp(80, 90, LL, 0.2)),  # wrong
        ("a", _sp(40, 50, LL, 0.1)),  # right, but below two wrong ones
    ]
    # every span: P 3/5, R 1 -> F0.5 0.652; above 0.3: P 1, R 2/3 -> 0.909 (the best); above 0.7: 0.714
    assert f_beta(1.0, 2 / 3, 0.5) > f_beta(0.6, 1.0, 0.5) > f_beta(0.5, 2 / 3, 0.5)
    th = choose_thresholds(raw, gold, 0.5, "global", 40)
    assert set(th) == set(PTC_TECHNIQUES) and set(th.values()) == {0.31}
    # weighing recall as much as precision (beta 2) keeps every span instead
    assert set(choose_thresholds(raw, gold, 2.0, "global", 40).values()) == {0.0}


def test_per_technique_thresholds_only_where_the_technique_has_enough_spans() -> None:
    gold = [LabelSpan("a", 100 * i, 100 * i + 10, LL) for i in range(4)] + [LabelSpan("a", 1000, 1010, NC)]
    raw = [("a", _sp(100 * i, 100 * i + 10, LL, 0.5)) for i in range(4)]  # all right, 0.5
    raw += [("a", _sp(500 + 10 * i, 505 + 10 * i, LL, 0.2)) for i in range(4)]  # all wrong, 0.2
    raw += [("a", _sp(1000, 1010, NC, 0.1)), ("a", _sp(1100, 1110, NC, 0.9))]  # NC: right at 0.1, wrong at 0.9
    per = choose_thresholds(raw, gold, 0.5, "technique", min_spans=5)
    common = choose_thresholds(raw, gold, 0.5, "global", min_spans=5)[NC]
    assert per[LL] == 0.21  # LL's own best: drop its wrong 0.2 spans
    assert per[NC] == common  # two NC spans: too few for a threshold of its own
    assert choose_thresholds(raw, gold, 0.5, "technique", min_spans=2)[NC] == 0.0  # its own: keep both
    with pytest.raises(ValueError, match="mode"):
        choose_thresholds(raw, gold, 0.5, "per-article", 5)


def test_cross_validation_keeps_each_fold_with_thresholds_chosen_without_its_labels() -> None:
    # two kinds of article: in "good" ones the 0.4 spans are right, in "bad" ones wrong; a fold's
    # threshold comes from the other folds, so the estimate differs from choosing on everything
    gold, raw, ids = [], [], []
    for i in range(10):
        a = f"art{i}"
        ids.append(a)
        raw.append((a, _sp(0, 10, LL, 0.8)))
        gold.append(LabelSpan(a, 0, 10, LL))
        raw.append((a, _sp(20, 30, LL, 0.4)))
        if i % 2 == 0:
            gold.append(LabelSpan(a, 20, 30, LL))
    est = cross_validated(raw, gold, ids, folds=5, seed=1, beta=0.5, mode="global", min_spans=40)
    assert set(est) >= {"p", "r", "f1", "f0.5", "spans_per_article"}
    assert 0 < est["p"] <= 1 and 0 < est["r"] <= 1
    assert est["spans_per_article"] in (1.0, 2.0) or 1.0 < est["spans_per_article"] < 2.0


# --- the operating point in the model and the document ----------------------------------------------


def test_the_operating_point_round_trips_through_config_json() -> None:
    cfg = json.loads((ROOT / "src/unspin/models/techniques/fast/config.json").read_text())
    params = Decoding.from_config(cfg)
    assert isinstance(params.precise, PreciseView) and params.precise.beta == 0.5
    assert set(params.precise.thresholds) == set(PTC_TECHNIQUES)
    again = Decoding.from_config({**cfg, "decode": params.to_config()})
    assert again.precise == params.precise
    t = params.precise.thresholds[LL]
    assert params.precise.keeps(_sp(0, 1, LL, t)) and not params.precise.keeps(_sp(0, 1, LL, t - 0.01))
    without = {k: v for k, v in cfg["decode"].items() if k != "precise"}
    assert Decoding.from_config({**cfg, "decode": without}).precise is None
    assert "precise" not in Decoding.from_config({**cfg, "decode": without}).to_config()


def test_the_default_view_rescores_the_article_from_the_precise_spans() -> None:
    text = "One two three four five. Six seven eight nine ten."
    doc = Document(text=text)
    from unspin.document import Segment

    doc.sentences = [Segment(0, 24), Segment(25, len(text))]
    spans = [
        Span(0, 3, LL, 0.9, precise=True),
        Span(4, 7, LL, 0.2, precise=False),
        Span(25, 28, NC, 0.3, precise=False),
    ]
    set_technique_spans(doc, spans, precise_only=True)
    assert [sp.start for sp in doc.spans] == [0]
    art = doc.scores["article"]
    assert art["view"] == "precise" and art["more_spans"] == 2 and art["n_spans"] == 1
    assert [s.score for s in doc.sentences] == [0.9, 0.0]
    set_technique_spans(doc, spans)  # every span
    assert len(doc.spans) == 3 and "view" not in doc.scores["article"]
    assert [s.score for s in doc.sentences] == [0.9, 0.3]
    # spans without the mark (a model without an operating point) are all shown
    set_technique_spans(doc, [Span(0, 3, LL, 0.1)], precise_only=True)
    assert len(doc.spans) == 1 and "view" not in doc.scores["article"]


# --- analyze: the default view and --all-spans (the shipped fast model) -----------------------------


def test_analyze_shows_the_precise_spans_and_all_spans_shows_every_one() -> None:
    article = ROOT / "tests" / "fixtures" / "loaded-editorial.txt"  # written for these tests
    base = ["analyze", str(article), "--skip", "claims", "--skip", "framing"]
    default = runner.invoke(app, base)
    every = runner.invoke(app, [*base, "--all-spans"])
    assert default.exit_code == 0 and every.exit_code == 0, default.output + every.output
    shown, whole = json.loads(default.stdout), json.loads(every.stdout)
    thresholds = json.loads((ROOT / "src/unspin/models/techniques/fast/config.json").read_text())["decode"]["precise"][
        "thresholds"
    ]
    assert whole["spans"] and all(isinstance(s["precise"], bool) for s in whole["spans"])
    for s in whole["spans"]:
        assert s["precise"] == (s["score"] >= thresholds[s["technique"]])
    assert shown["spans"] == [s for s in whole["spans"] if s["precise"]]
    assert len(shown["spans"]) < len(whole["spans"])  # the default view leaves some out
    art = shown["scores"]["article"]
    assert art["view"] == "precise" and art["more_spans"] == len(whole["spans"]) - len(shown["spans"])
    assert art["n_spans"] == len(shown["spans"]) and "view" not in whole["scores"]["article"]
    text = runner.invoke(app, [*base, "--format", "text"])
    n = len(shown["spans"])
    assert text.exit_code == 0 and f"{n} of {len(whole['spans'])}, the surer ones; --all-spans for all" in text.stdout


def test_semeval_output_keeps_every_span(tmp_path: Path) -> None:
    from unspin.techniques import TechniqueTagger

    article = ROOT / "tests" / "fixtures" / "loaded-editorial.txt"
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "article1.txt").write_text(article.read_text(encoding="utf-8"), encoding="utf-8")
    out = tmp_path / "flc.txt"
    res = runner.invoke(app, ["semeval", "flc", str(folder), "-o", str(out)])
    assert res.exit_code == 0, res.output
    written = sorted(
        (int(a), int(b), t) for _, t, a, b in (ln.split("\t") for ln in out.read_text().splitlines() if ln)
    )
    doc = TechniqueTagger.load("fast").annotate(Document(text=(folder / "article1.txt").read_text()))
    assert any(sp.precise is False for sp in doc.spans)
    # the F1 operating point: every span, weak ones included, each stretch of a technique once
    every: dict[str, list[tuple[int, int]]] = {}
    for sp in doc.spans:
        every.setdefault(sp.technique, []).append((sp.start, sp.end))
    assert written == sorted((a, b, t) for t, iv in every.items() for a, b in merge_intervals(iv))


# --- the API and the page ---------------------------------------------------------------------------


@pytest.fixture
def client() -> Iterator[TestClient]:
    from unspin.web import create_app

    with TestClient(create_app("sqlite://", analyzer=with_marked_spans)) as c:
        yield c


def test_the_api_replies_with_the_precise_spans_unless_asked_for_all(client: TestClient) -> None:
    body = client.post("/api/analyze", json={"text": ARTICLE}).json()
    every = client.get(f"/api/analyses/{body['id']}", params={"all_spans": True}).json()
    assert every["spans"] and any(not s["precise"] for s in every["spans"])
    assert body["spans"] == [s for s in every["spans"] if s["precise"]]
    assert body["scores"]["article"]["more_spans"] == len(every["spans"]) - len(body["spans"])
    again = client.get(f"/api/analyses/{body['id']}").json()
    assert again["spans"] == body["spans"]
    narrow = client.get(f"/api/analyses/{body['id']}", params={"all_spans": True, "min_score": 0.5}).json()
    assert narrow["spans"] == [s for s in every["spans"] if s["score"] >= 0.5]
    # the JSON export is the data: every span, marked
    assert client.get(f"/a/{body['id']}/export.json").json()["spans"] == every["spans"]


def test_the_page_marks_each_span_and_the_report_follows_the_switch(client: TestClient) -> None:
    body = client.post("/api/analyze", json={"text": ARTICLE}).json()
    page = client.get(f"/a/{body['id']}").text
    assert 'id="all-spans"' in page and 'data-precise="0"' in page and 'data-precise="1"' in page
    default = client.get(f"/a/{body['id']}/report.html").text
    every = client.get(f"/a/{body['id']}/report.html", params={"all_spans": "true"}).text
    n_all, n_precise = len(body["spans"]) + body["scores"]["article"]["more_spans"], len(body["spans"])
    assert f"{n_precise} spans shown" in default and f"{n_all} spans shown" in every
    weak = "<q>The corrupt elites in the capital have once again betrayed</q>"  # Loaded Language, 0.35
    assert weak in every and weak not in default
