"""`unspin eval roles|narratives` is the SemEval-2025 Task 10 metric: it agrees with an independent scorer on any
file, pairs rows by key whatever their order, and names every bad line (file and line) while scoring the rest."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DATA, SHARED
from typer.testing import CliRunner

from unspin.cli.main import app
from unspin.eval.framing import language_of, samples_f1_one, score_files, score_narratives, score_roles
from unspin.formats.semeval2025 import Mention, NarrativeLabels, SemEval2025FormatError
from unspin.framing.taxonomy import FINE_ROLES, MAIN_ROLES, NARRATIVES, SUBNARRATIVES, main_role_of

SCORER = SHARED / "tools" / "framing-score"
TASK = DATA / "semeval2025-task10"
need_scorer = pytest.mark.skipif(not SCORER.is_file(), reason="the independent scorer is not beside the project")
need_task = pytest.mark.skipif(not TASK.is_dir(), reason=f"{TASK} is not available on this machine")
runner = CliRunner()
METRICS = {
    "roles": [("EMR", "emr"), ("main_acc", "main_accuracy"), ("P", "precision"), ("R", "recall"), ("F1", "f1")],
    "narratives": [("coarse_F1", "coarse_f1"), ("fine_F1", "fine_f1")],
}
COUNTS = {"roles": [("mentions", "mentions"), ("answered", "answered")], "narratives": [("articles", "articles")]}


def write(path: Path, lines: list[str], crlf: bool = False) -> Path:
    path.write_bytes(("\r\n" if crlf else "\n").join(lines + [""]).encode("utf-8"))
    return path


def independent(kind: str, gold: Path, pred: Path) -> dict[str, float]:
    args = [sys.executable, str(SCORER), kind, str(gold), str(pred), "--json"]
    if kind == "narratives":
        args += ["--taxonomy", str(taxonomy_dir(gold.parent))]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout)


def taxonomy_dir(where: Path) -> Path:
    """The task's taxonomy files, or where they are absent the same labels written from unspin's constants."""
    if (TASK / "taxonomy").is_dir():
        return TASK / "taxonomy"
    folder = where / "taxonomy"
    if not folder.is_dir():
        folder.mkdir()
        (folder / "subtask2_narratives.txt").write_text("\n".join(NARRATIVES), encoding="utf-8")
        (folder / "subtask2_subnarratives.txt").write_text("\n".join(SUBNARRATIVES), encoding="utf-8")
    return folder


def assert_agree(kind: str, gold: Path, pred: Path) -> None:
    ours = score_files(kind, gold, pred)
    theirs = independent(kind, gold, pred)
    for their_name, our_name in METRICS[kind]:
        assert getattr(ours, our_name) == pytest.approx(theirs[their_name], abs=1e-9), their_name
    for their_name, our_name in COUNTS[kind]:
        assert getattr(ours, our_name) == theirs[their_name], their_name


# --------------------------------------------------------------------------------------------- random files


ARTICLES = [f"{p}_{i}.txt" for p in ("EN_UA", "BG", "A9_BG", "RU-URW", "PT") for i in range(6)]


def random_roles(rng: random.Random) -> tuple[str, list[str]]:
    main = rng.choice(MAIN_ROLES)
    fines = [f for f in FINE_ROLES if main_role_of(f) == main]
    return main, rng.sample(fines, rng.choice([1, 1, 1, 2, 3]))


def role_files(rng: random.Random) -> tuple[list[str], list[str]]:
    gold, pred = [], []
    for i in range(rng.randint(5, 60)):
        aid = rng.choice(ARTICLES)
        start = rng.randint(0, 500)
        key = f"{aid}\tName {i}\t{start}\t{start + rng.randint(0, 20)}"
        main, fines = random_roles(rng)
        gold.append("\t".join([key, main, *fines]) if rng.random() > 0.05 else f"{key}\t{main}")  # empty set
        roll = rng.random()
        if roll < 0.15:
            continue  # missing prediction
        if roll < 0.45:
            main, fines = random_roles(rng)  # wrong roles
        elif roll < 0.55:
            fines = fines + [rng.choice(FINE_ROLES)]  # one more, maybe right
        elif roll < 0.6:
            main, fines = "Villain", ["Hero", fines[0]]  # labels outside the taxonomy
        elif roll < 0.65:
            fines = [f" {fines[0]} ", ""]  # stray spaces and an empty column
        elif roll < 0.7:
            fines = []  # the empty set
        pred.append("\t".join([key, main, *fines]))
    for _ in range(rng.randint(0, 5)):  # predictions for no gold mention
        main, fines = random_roles(rng)
        pred.append("\t".join([rng.choice(ARTICLES), "x", "900", "905", main, *fines]))
    if pred and rng.random() < 0.3:
        pred.append(pred[0].rsplit("\t", 1)[0] + "\tSpy")  # a repeated key: the last line counts
    rng.shuffle(pred)
    return gold, pred


def label_set(rng: random.Random, labels: tuple[str, ...], outside: str) -> str:
    roll = rng.random()
    if roll < 0.07:
        return ""  # the empty set
    if roll < 0.12:
        return outside  # only a label outside the taxonomy
    picked = rng.sample(labels, rng.choice([1, 1, 2, 3]))
    if rng.random() < 0.2:
        picked.append(outside)
    if rng.random() < 0.1:
        picked = [f" {picked[0]} "] + picked  # spaces and a duplicate
    return ";".join(picked)


def narrative_files(rng: random.Random) -> tuple[list[str], list[str]]:
    few_narr, few_sub = tuple(rng.sample(NARRATIVES, 5)), tuple(rng.sample(SUBNARRATIVES, 8))
    gold, pred = [], []
    for aid in rng.sample(ARTICLES, rng.randint(3, len(ARTICLES))):
        g = (label_set(rng, few_narr, "URW: Made up"), label_set(rng, few_sub, "Other: Other"))
        gold.append(f"{aid}\t{g[0]}\t{g[1]}")
        roll = rng.random()
        if roll < 0.15:
            continue
        p = g if roll < 0.3 else (label_set(rng, few_narr, "CC: Unknown"), label_set(rng, few_sub, "None"))
        pred.append(f"{aid}\t{p[0]}\t{p[1]}")
    if rng.random() < 0.5:
        pred.append("ZZ_1.txt\tOther\tOther")  # an article not in gold
    rng.shuffle(pred)
    return gold, pred


@need_scorer
@pytest.mark.parametrize("seed", range(12))
def test_roles_agree_with_the_independent_scorer_on_random_files(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    gold, pred = role_files(rng)
    crlf = seed % 3 == 0
    assert_agree("roles", write(tmp_path / "gold.txt", gold, crlf), write(tmp_path / "pred.txt", pred, crlf))


@need_scorer
@pytest.mark.parametrize("seed", range(12))
def test_narratives_agree_with_the_independent_scorer_on_random_files(tmp_path: Path, seed: int) -> None:
    rng = random.Random(100 + seed)
    gold, pred = narrative_files(rng)
    crlf = seed % 3 == 0
    assert_agree("narratives", write(tmp_path / "gold.txt", gold, crlf), write(tmp_path / "pred.txt", pred, crlf))


@need_scorer
@need_task
def test_agreement_on_the_task_data_with_damaged_predictions(tmp_path: Path) -> None:
    rng = random.Random(7)
    for kind, name in (("roles", "subtask-1-annotations.txt"), ("narratives", "subtask-2-annotations.txt")):
        lines = []
        for lang in ("EN", "BG", "HI", "PT", "RU"):
            lines += (TASK / "train" / lang / name).read_text(encoding="utf-8").splitlines()
        gold = write(tmp_path / f"gold-{kind}.txt", lines)
        pred = []
        for line in lines:
            cols = line.split("\t")
            if rng.random() < 0.1:
                continue
            if kind == "roles" and rng.random() < 0.4:
                main, fines = random_roles(rng)
                cols = cols[:4] + [main, *fines]
            elif kind == "narratives" and rng.random() < 0.5:
                cols = [cols[0], rng.choice(NARRATIVES), ";".join(rng.sample(SUBNARRATIVES, 2))]
            pred.append("\t".join(cols))
        rng.shuffle(pred)
        assert_agree(kind, gold, write(tmp_path / f"pred-{kind}.txt", pred))


# --------------------------------------------------------------------------------------------- the metrics


def M(article: str, start: int, main: str | None, *fines: str) -> Mention:
    return Mention(article, "x", start, start + 4, main, tuple(fines))


def test_role_metrics_by_hand() -> None:
    gold = [
        M("EN_1", 0, "Antagonist", "Spy", "Tyrant"),
        M("EN_1", 10, "Innocent", "Victim"),
        M("BG_2", 0, "Protagonist", "Guardian"),
        M("BG_2", 10, "Antagonist", "Instigator"),
    ]
    pred = [
        M("BG_2", 10, "Antagonist", "Tyrant"),  # main right, fine wrong
        M("EN_1", 0, "Antagonist", "Tyrant", "Spy"),  # exact, in another order
        M("EN_1", 10, "Protagonist", "Victim", "Guardian"),  # main wrong, one fine right of two
        M("EN_9", 0, "Antagonist", "Spy"),  # no such gold mention: ignored
    ]
    s = score_roles(gold, pred)
    assert (s.emr, s.main_accuracy, s.mentions, s.answered) == (0.25, 0.5, 4, 3)
    assert (s.precision, s.recall) == (3 / 5, 3 / 5) and s.f1 == pytest.approx(0.6)
    assert sorted(s.per_language) == ["BG", "EN"]
    assert (s.per_language["EN"].emr, s.per_language["BG"].main_accuracy) == (0.5, 0.5)
    assert s.per_language["BG"].precision == 0.0 and s.per_language["EN"].recall == 1.0


def test_role_scores_do_not_depend_on_the_order_of_rows() -> None:
    rng = random.Random(3)
    gold = [M(rng.choice(ARTICLES), i * 10, *random_roles_flat(rng)) for i in range(40)]
    pred = [M(m.article_id, m.start, *random_roles_flat(rng)) for m in gold if rng.random() < 0.8]
    first = score_roles(gold, pred).to_dict()
    for _ in range(5):
        rng.shuffle(gold)
        rng.shuffle(pred)
        again = score_roles(gold, pred).to_dict()
        assert again.keys() == first.keys() and _close(again, first)


def random_roles_flat(rng: random.Random) -> tuple[str, ...]:
    main, fines = random_roles(rng)
    return (main, *fines)


def _close(a: dict, b: dict) -> bool:
    """Equal, floats to 1e-12 (a sum in another order may differ in its last bit)."""
    for k, v in a.items():
        if isinstance(v, dict):
            assert _close(v, b[k])
        else:
            assert v == pytest.approx(b[k], abs=1e-12), k
    return True


def test_samples_f1_and_its_empty_set_rule() -> None:
    assert samples_f1_one({"a", "b"}, {"a"}) == pytest.approx(2 / 3)
    assert samples_f1_one(set(), set()) == 0.0
    assert samples_f1_one({"a"}, set()) == 0.0
    o = "Other"
    narr, sub = "URW: Praise of Russia", "URW: Praise of Russia: Other"
    gold = {
        "EN_1": NarrativeLabels((narr,), (sub,)),
        "EN_2": NarrativeLabels((o,), (o,)),
        "EN_3": NarrativeLabels(("URW: Not a narrative",), ()),  # nothing in the taxonomy: 0 whatever is predicted
    }
    pred = {
        "EN_1": NarrativeLabels((narr, o), (sub,)),
        "EN_3": NarrativeLabels(("URW: Not a narrative",), ()),
        "EN_4": NarrativeLabels((o,), (o,)),
    }
    s = score_narratives(gold, pred)
    assert s.coarse_f1 == pytest.approx((2 / 3) / 3) and s.fine_f1 == pytest.approx(1 / 3)
    assert (s.articles, s.answered, s.per_language) == (3, 2, {})


def test_language_of_article_ids() -> None:
    ids = [
        "EN_UA_103861.txt",
        "A9_BG_5871.txt",
        "BG_670.txt",
        "HI_1.txt",
        "PT_01.txt",
        "RU-URW-1080.txt",
        "article7.txt",
    ]
    assert [language_of(x) for x in ids] == ["EN", "BG", "BG", "HI", "PT", "RU", None]


# --------------------------------------------------------------------------------------------- files and the CLI


DOC = "NATO met Russia.\nPutin spoke to Kyiv."
GOLD = [
    "EN_1.txt\tNATO\t0\t3\tAntagonist\tInstigator",
    "EN_1.txt\tRussia\t9\t14\tProtagonist\tPeacemaker",
    "EN_1.txt\tPutin\t17\t21\tAntagonist\tTyrant",
    "EN_1.txt\tKyiv\t32\t35\tInnocent\tVictim",
]


def test_bad_prediction_lines_are_named_and_the_rest_is_scored(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "EN_1.txt").write_text(DOC, encoding="utf-8")
    gold = write(tmp_path / "gold.txt", GOLD, crlf=True)
    pred = write(
        tmp_path / "pred.txt",
        [
            "EN_1.txt\tKyiv\t32\t35\tInnocent\tVictim",  # 1 right
            "EN_1.txt\tNATO\t0\t3\tAntagonist\tTyrnat",  # 2 unknown role: scored as written (wrong)
            "EN_1.txt\tPutin\t17\t40\tAntagonist\tTyrant",  # 3 past the end of the document
            "EN_1.txt\tRussia\t8\t13\tProtagonist\tPeacemaker",  # 4 text does not match
            "EN_9.txt\tKyiv\t32\t35\tInnocent\tVictim",  # 5 no such document
            "EN_1.txt\tKyiv\t32\t35\tInnocent\tVictim",  # 6 the same key again
        ],
        crlf=True,
    )
    scores = score_files("roles", gold, pred, docs)
    assert (scores.mentions, scores.answered, scores.emr, scores.main_accuracy) == (4, 2, 0.25, 0.5)
    lines = {p.line: p.reason for p in scores.problems}
    assert sorted(lines) == [2, 3, 4, 5, 6]
    assert "Tyrnat" in lines[2] and "outside the document" in lines[3] and "does not match" in lines[4]
    assert "unknown article 'EN_9.txt'" in lines[5] and "repeats line 1" in lines[6]
    assert all(p.path == str(pred) for p in scores.problems)

    result = runner.invoke(app, ["eval", "roles", str(gold), str(pred), "--articles", str(docs)])
    assert result.exit_code == 1
    assert result.stdout.startswith("ROLES\tEMR=0.2500\tmain_accuracy=0.5000")
    assert f"{pred}, line 3: offsets 17-40 fall outside the document" in result.stderr
    assert f"{pred}, line 4: mention 'Russia' does not match" in result.stderr


def test_cli_prints_the_metrics_and_json(tmp_path: Path) -> None:
    gold = write(tmp_path / "gold.txt", GOLD + [g.replace("EN_1", "RU_2") for g in GOLD])
    pred = write(tmp_path / "pred.txt", list(reversed(GOLD)))
    result = runner.invoke(app, ["eval", "roles", str(gold), str(pred)])
    assert result.exit_code == 0, result.output
    assert "EMR=0.5000" in result.stdout and "per language" in result.stdout and "RU" in result.stdout
    assert "no prediction for 4 gold mentions" in result.stderr
    result = runner.invoke(app, ["eval", "roles", str(gold), str(pred), "--json"])
    data = json.loads(result.stdout)
    assert (
        data["EMR"] == 0.5 and data["per_language"]["EN"]["EMR"] == 1.0 and data["per_language"]["RU"]["answered"] == 0
    )

    ng = write(
        tmp_path / "ng.txt", ["EN_1.txt\tOther\tOther", "EN_2.txt\tURW: Praise of Russia\tURW: Praise of Russia: Other"]
    )
    np_ = write(tmp_path / "np.txt", ["EN_2.txt\tURW: Praise of Russia\tURW: Praise of Russia: Other"])
    result = runner.invoke(app, ["eval", "narratives", str(ng), str(np_), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "coarse_F1": 0.5,
        "fine_F1": 0.5,
        "articles": 2,
        "answered": 1,
        **_warned(result),
    }


def _warned(result: object) -> dict:
    data = json.loads(result.stdout)  # type: ignore[attr-defined]
    return {k: data[k] for k in ("problems", "warnings") if k in data}


def test_cli_errors_name_the_file(tmp_path: Path) -> None:
    gold = write(tmp_path / "gold.txt", GOLD)
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"EN_1.txt\t\xff\t0\t3\tAntagonist\tSpy\n")
    result = runner.invoke(app, ["eval", "roles", str(gold), str(bad)])
    assert result.exit_code == 1 and f"{bad}: not valid UTF-8" in result.stderr
    empty = write(tmp_path / "empty.txt", [])
    result = runner.invoke(app, ["eval", "narratives", str(empty), str(gold)])
    assert result.exit_code == 1 and f"{empty}: no article line" in result.stderr
    with pytest.raises(SemEval2025FormatError, match="no mention line"):
        score_files("roles", empty, gold)
    # a narratives file given as roles: every line is named, nothing is scored
    narr = write(tmp_path / "narr.txt", ["EN_1.txt\tOther\tOther"])
    result = runner.invoke(app, ["eval", "roles", str(gold), str(narr)])
    assert result.exit_code == 1 and f"{narr}, line 1: expected article_id<TAB>mention" in result.stderr


def test_a_mentions_file_scored_as_predictions_counts_as_no_answer(tmp_path: Path) -> None:
    gold = write(tmp_path / "gold.txt", GOLD)
    pred = write(tmp_path / "pred.txt", [g.rsplit("\t", 2)[0] for g in GOLD])
    scores = score_files("roles", gold, pred)
    assert (scores.answered, scores.emr) == (0, 0.0)
    assert [p.line for p in scores.problems] == [1, 2, 3, 4] and "without roles" in scores.problems[0].reason


def test_narrative_rows_must_name_a_document_when_documents_are_given(tmp_path: Path) -> None:
    docs = tmp_path / "train"
    (docs / "raw-documents").mkdir(parents=True)
    (docs / "raw-documents" / "EN_1.txt").write_text(DOC, encoding="utf-8")
    gold = write(tmp_path / "gold.txt", ["EN_1.txt\tOther\tOther"])
    pred = write(tmp_path / "pred.txt", ["EN_1.txt\tOther\tOther", "EN_7.txt\tOther\tOther"])
    result = runner.invoke(app, ["eval", "narratives", str(gold), str(pred), "--articles", str(docs)])
    assert result.exit_code == 1
    assert "coarse_F1=1.0000\tfine_F1=1.0000" in result.stdout
    assert f"{pred}, line 2: unknown article 'EN_7.txt'" in result.stderr
