"""The SemEval-2025 Task 10 files: the label sets as the task spells them, documents read exactly, mention offsets
(end inclusive in the files, exclusive inside unspin) checked against the documents, bad lines named with file and
line while the rest is kept, and writers whose lines read back to what was written."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import DATA

from unspin.formats.semeval2025 import (
    Mention,
    SemEval2025FormatError,
    format_narrative_line,
    format_role_line,
    read_documents,
    read_dominant,
    read_mentions,
    read_narrative_labels,
)
from unspin.framing.taxonomy import (
    FINE_ROLES,
    MAIN_ROLES,
    NARRATIVES,
    SUBNARRATIVES,
    domain_of,
    main_role_of,
    parent_of,
    subnarratives_of,
)

TASK = DATA / "semeval2025-task10"
LANGUAGES = ("EN", "BG", "HI", "PT", "RU")
need_task = pytest.mark.skipif(not TASK.is_dir(), reason=f"{TASK} is not available on this machine")


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def docs_folder(tmp_path: Path, docs: dict[str, str]) -> Path:
    folder = tmp_path / "raw-documents"
    folder.mkdir()
    for name, text in docs.items():
        write(folder / name, text)
    return folder


# --------------------------------------------------------------------------------------------- taxonomy


def test_roles_form_a_tree_of_three_main_roles_and_22_fine_ones() -> None:
    assert MAIN_ROLES == ("Protagonist", "Antagonist", "Innocent")
    assert len(FINE_ROLES) == len(set(FINE_ROLES)) == 22
    assert main_role_of("Victim") == "Innocent"
    assert main_role_of("Foreign Adversary") == "Antagonist"
    assert main_role_of("Peacemaker") == "Protagonist"
    with pytest.raises(KeyError, match="Hero"):
        main_role_of("Hero")


def test_narrative_tree_has_parents_domains_and_other() -> None:
    assert len(NARRATIVES) == 22 and "Other" in NARRATIVES  # 21 narratives of two domains, and Other
    assert len(SUBNARRATIVES) == 91 and "Other" in SUBNARRATIVES  # 90 subnarratives, and Other
    for sub in SUBNARRATIVES:
        assert parent_of(sub) in NARRATIVES
        assert sub == "Other" or sub.startswith(parent_of(sub) + ": ")
        assert domain_of(sub) == domain_of(parent_of(sub))
    assert parent_of("Other") == "Other" and domain_of("Other") is None
    assert domain_of("URW: Praise of Russia") == "URW"
    assert domain_of("CC: Climate change is beneficial: CO2 is beneficial") == "CC"
    assert domain_of("URW: Something else") is None
    # every narrative but one has a catch-all subnarrative
    without_other = [n for n in NARRATIVES if n != "Other" and f"{n}: Other" not in subnarratives_of(n)]
    assert without_other == ["CC: Climate change is beneficial"]
    with pytest.raises(KeyError):
        parent_of("URW: Praise of Russia")  # a narrative, not a subnarrative


@need_task
def test_taxonomy_constants_are_the_files_labels() -> None:
    def labels(name: str) -> list[str]:
        return [x for x in (TASK / "taxonomy" / name).read_text(encoding="utf-8").split("\n") if x]

    assert list(NARRATIVES) == labels("subtask2_narratives.txt")
    assert list(SUBNARRATIVES) == labels("subtask2_subnarratives.txt")
    for lang in LANGUAGES:
        base = TASK / "train" / lang
        mentions, problems = read_mentions(base / "subtask-1-annotations.txt")
        assert problems == [], lang
        for m in mentions:
            assert m.main_role in MAIN_ROLES and m.fine_roles
            assert all(main_role_of(f) == m.main_role for f in m.fine_roles)
        rows = read_narrative_labels(base / "subtask-2-annotations.txt")  # raises on a label outside the taxonomy
        assert rows and all(r.narratives and r.subnarratives for r in rows.values())
        read_dominant(base / "subtask-3-annotations.txt")


# --------------------------------------------------------------------------------------------- documents


def test_documents_are_read_exactly_from_the_folder_or_its_parent(tmp_path: Path) -> None:
    folder = docs_folder(tmp_path, {"EN_UA_1.txt": "Title\r\n\r\nBody \u2019x\u2019.\n", "BG_2.txt": "Текст"})
    write(folder / "notes.md", "not a document")
    docs = read_documents(folder)
    assert docs == {"BG_2.txt": "Текст", "EN_UA_1.txt": "Title\r\n\r\nBody \u2019x\u2019.\n"}
    assert read_documents(tmp_path) == docs


def test_documents_folder_errors_name_the_path(tmp_path: Path) -> None:
    with pytest.raises(SemEval2025FormatError, match="no .txt documents"):
        read_documents(tmp_path)
    (tmp_path / "EN_1.txt").write_bytes(b"\xff\xfe bad")
    with pytest.raises(SemEval2025FormatError, match="EN_1.txt: not valid UTF-8"):
        read_documents(tmp_path)


# --------------------------------------------------------------------------------------------- mentions


DOC = "NATO met Russia.\nPutin spoke to Kyiv."


def test_mentions_turn_the_files_inclusive_end_into_an_exclusive_one(tmp_path: Path) -> None:
    docs = {"EN_1.txt": DOC}
    path = write(
        tmp_path / "ann.txt",
        "EN_1.txt\tNATO\t0\t3\tAntagonist\tInstigator\tConspirator\r\n"
        "EN_1.txt\tPutin\t17\t21\tAntagonist\tTyrant\tTyrant\r\n"
        "EN_1.txt\tKyiv\t32\t35\tInnocent\tVictim\r\n",
    )
    mentions, problems = read_mentions(path, docs)
    assert problems == []
    nato, putin, kyiv = mentions
    assert (nato.start, nato.end, nato.text) == (0, 4, "NATO") and DOC[nato.start : nato.end] == "NATO"
    assert nato.fine_roles == ("Instigator", "Conspirator") and nato.line == 1
    assert putin.fine_roles == ("Tyrant",)  # duplicates removed
    assert kyiv.key == ("EN_1.txt", 32, 35) and DOC[kyiv.start : kyiv.end] == "Kyiv"
    assert kyiv.main_role == "Innocent" and kyiv.offsets == "exact"


def test_a_mentions_only_file_has_no_roles(tmp_path: Path) -> None:
    path = write(tmp_path / "m.txt", "EN_1.txt\tNATO\t0\t3\nEN_1.txt\tRussia\t9\t14\n")
    mentions, problems = read_mentions(path, {"EN_1.txt": DOC})
    assert problems == []
    assert [(m.text, m.main_role, m.fine_roles) for m in mentions] == [("NATO", None, ()), ("Russia", None, ())]


def test_bad_mention_lines_are_named_and_skipped_while_the_rest_is_kept(tmp_path: Path) -> None:
    docs = {"EN_1.txt": DOC}
    path = write(
        tmp_path / "ann.txt",
        "EN_1.txt\tNATO\t0\t3\tAntagonist\tInstigator\n"  # 1 fine
        "EN_2.txt\tNATO\t0\t3\tAntagonist\tInstigator\n"  # 2 no such article
        "EN_1.txt\tKyiv\t32\t40\tInnocent\tVictim\n"  # 3 past the end
        "EN_1.txt\tKyiv\t30\t33\tInnocent\tVictim\n"  # 4 text does not match
        "EN_1.txt\tPutin\t17\t21\tAntagonist\tTyrnat\n"  # 5 unknown fine role
        "EN_1.txt\tPutin\t17\n"  # 6 too few columns
        "EN_1.txt\tPutin\tx\t21\tAntagonist\tTyrant\n"  # 7 not an integer
        "EN_1.txt\tPutin\t17\t21\tVillain\tTyrant\n"  # 8 unknown main role
        "EN_1.txt\tRussia\t9\t14\tInnocent\tVictim\n",  # 9 fine
    )
    mentions, problems = read_mentions(path, docs)
    assert [m.line for m in mentions] == [1, 9]
    by_line = {p.line: p.reason for p in problems}
    assert sorted(by_line) == [2, 3, 4, 5, 6, 7, 8]
    assert "unknown article 'EN_2.txt'" in by_line[2]
    assert "outside the document" in by_line[3]
    assert "'Kyiv' does not match" in by_line[4] and "'o Ky'" in by_line[4]
    assert "unknown fine role 'Tyrnat'" in by_line[5] and "did you mean 'Tyrant'" in by_line[5]
    assert "found 3 column(s)" in by_line[6]
    assert "integers" in by_line[7]
    assert "unknown main role 'Villain'" in by_line[8]
    assert all(str(p).startswith(f"{path}, line {p.line}: ") for p in problems)


def test_lenient_reading_keeps_odd_labels_as_written(tmp_path: Path) -> None:
    path = write(
        tmp_path / "pred.txt",
        "EN_1.txt\tPutin\t17\t21\tVillain\tTyrnat\nEN_1.txt\tKyiv\t32\t35\tProtagonist\tVictim\nEN_1.txt\tx\t5\t2\t\n",
    )
    mentions, problems = read_mentions(path, lenient=True)
    assert [(m.main_role, m.fine_roles) for m in mentions] == [
        ("Villain", ("Tyrnat",)),
        ("Protagonist", ("Victim",)),
        ("", ()),  # a start after the end, and no roles: kept, as the task's scorers keep it
    ]
    reasons = " | ".join(p.reason for p in problems)
    assert "unknown main role" in reasons and "belongs to Innocent, not to Protagonist" in reasons
    assert [p.line for p in problems if "not a span" in p.reason] == [3]


def test_repeated_mentions_are_reported(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", "EN_1.txt\tNATO\t0\t3\tAntagonist\tSpy\nEN_1.txt\tNATO\t0\t3\tAntagonist\tSpy\n")
    mentions, problems = read_mentions(path)
    assert len(mentions) == 2 and [(p.line, "repeats line 1" in p.reason) for p in problems] == [(2, True)]


def test_offsets_counted_in_utf16_or_with_crlf_line_ends_are_located_not_guessed(tmp_path: Path) -> None:
    doc = "Flags \U0001f1fa\U0001f1e6 up.\nThen Kyiv\nand Lviv."
    kyiv = doc.index("Kyiv")
    lviv = doc.index("Lviv")
    utf16 = kyiv + 2  # two characters outside the BMP before it
    both = lviv + 2 + 2  # and two line ends counted as \r\n
    path = write(
        tmp_path / "ann.txt",
        f"EN_1.txt\tKyiv\t{utf16}\t{utf16 + 3}\tInnocent\tVictim\n"
        f"EN_1.txt\tLviv\t{both}\t{both + 3}\tInnocent\tVictim\n"
        f"EN_1.txt\tLviv\t{both + 1}\t{both + 4}\tInnocent\tVictim\n",  # found under no reading: a problem
    )
    mentions, problems = read_mentions(path, {"EN_1.txt": doc})
    assert [(m.start, m.end, m.offsets) for m in mentions] == [
        (kyiv, kyiv + 4, "utf16"),
        (lviv, lviv + 4, "utf16+crlf"),
    ]
    assert [m.key for m in mentions] == [("EN_1.txt", utf16, utf16 + 3), ("EN_1.txt", both, both + 3)]
    assert [p.line for p in problems] == [3]

    crlf_doc = "Line one\nLine two names Kyiv."
    at = crlf_doc.index("Kyiv") + 1
    path = write(tmp_path / "b.txt", f"RU_1.txt\tKyiv\t{at}\t{at + 3}\tInnocent\tVictim\n")
    (m,), problems = read_mentions(path, {"RU_1.txt": crlf_doc})
    assert problems == [] and m.offsets == "crlf" and crlf_doc[m.start : m.end] == "Kyiv"
    # a document stored with \r\n is counted as stored
    stored = crlf_doc.replace("\n", "\r\n")
    (m,), problems = read_mentions(path, {"RU_1.txt": stored})
    assert problems == [] and m.offsets == "exact" and (m.start, m.end) == (at, at + 4)


@need_task
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_mention_of_the_task_data_is_found_in_its_document(lang: str) -> None:
    base = TASK / "train" / lang
    docs = read_documents(base)
    mentions, problems = read_mentions(base / "subtask-1-annotations.txt", docs)
    assert problems == []
    assert len(mentions) == len([x for x in (base / "subtask-1-annotations.txt").open(encoding="utf-8") if x.strip()])
    for m in mentions:
        assert docs[m.article_id][m.start : m.end] == m.text


# --------------------------------------------------------------------------------------------- narratives


def test_narrative_labels_are_stripped_deduplicated_and_checked(tmp_path: Path) -> None:
    a = "URW: Discrediting Ukraine"
    sub = f"{a}: Other"
    path = write(
        tmp_path / "st2.txt",
        f"EN_1.txt\t{a}; {a} ;\t{sub};{sub}\r\n"
        "EN_2.txt\tOther\tOther\r\n"
        "EN_3.txt\tURW: Discrediting Ukrain\tOther\r\n"
        "EN_4.txt\tOther\r\n"
        "EN_2.txt\tCC: Amplifying Climate Fears\tCC: Amplifying Climate Fears: Other\r\n",
    )
    problems: list = []
    rows = read_narrative_labels(path, problems)
    assert rows["EN_1.txt"].narratives == (a,) and rows["EN_1.txt"].subnarratives == (sub,)
    assert rows["EN_3.txt"].narratives == ("URW: Discrediting Ukrain",)  # kept as written, reported
    assert rows["EN_2.txt"].narratives == ("CC: Amplifying Climate Fears",) and rows["EN_2.txt"].line == 5
    assert "EN_4.txt" not in rows
    by_line = {p.line: p.reason for p in problems}
    assert sorted(by_line) == [3, 4, 5]
    assert "did you mean 'URW: Discrediting Ukraine'" in by_line[3]
    assert "repeats line 2" in by_line[5]
    with pytest.raises(SemEval2025FormatError, match=r"st2.txt, line 3: unknown narrative .* \(and 2 more"):
        read_narrative_labels(path)


def test_dominant_narrative_file(tmp_path: Path) -> None:
    path = write(
        tmp_path / "st3.txt",
        "EN_1.txt\tURW: Praise of Russia\tnone\tThe text praises.\n"
        "EN_2.txt\tURW: Praise of Russia\tURW: Praise of Russia: Praise of Russian military might\tArmy.\n",
    )
    rows = read_dominant(path)
    assert rows["EN_1.txt"].subnarrative is None and rows["EN_1.txt"].explanation == "The text praises."
    assert rows["EN_2.txt"].subnarrative == "URW: Praise of Russia: Praise of Russian military might"


# --------------------------------------------------------------------------------------------- writers


def test_role_lines_read_back_with_the_offsets_as_given(tmp_path: Path) -> None:
    doc = "One\nTwo names Kyiv and Moscow."
    at = doc.index("Kyiv") + 1  # the file counts the line end as \r\n
    mentions_file = write(tmp_path / "m.txt", f"RU_1.txt\tKyiv\t{at}\t{at + 3}\nRU_1.txt\tMoscow\t0\t2\n")
    mentions, problems = read_mentions(mentions_file, {"RU_1.txt": doc})
    assert len(mentions) == 1 and problems[0].line == 2
    line = format_role_line(mentions[0], "Innocent", ["Victim", "Exploited", "Victim"])
    assert line == f"RU_1.txt\tKyiv\t{at}\t{at + 3}\tInnocent\tVictim\tExploited"
    out = write(tmp_path / "out.txt", line + "\n")
    (back,), problems = read_mentions(out, {"RU_1.txt": doc})
    assert problems == [] and back.key == mentions[0].key
    assert (back.main_role, back.fine_roles) == ("Innocent", ("Victim", "Exploited"))
    made = Mention("EN_1.txt", "NATO", 0, 4)  # made in code: the file's end is end - 1
    assert format_role_line(made, "Antagonist", ["Spy"]) == "EN_1.txt\tNATO\t0\t3\tAntagonist\tSpy"
    for main, fines in (("Villain", ["Spy"]), ("Antagonist", ["Hero"]), ("Antagonist", [])):
        with pytest.raises(ValueError):
            format_role_line(made, main, fines)


def test_narrative_lines_read_back(tmp_path: Path) -> None:
    narr = ["URW: Praise of Russia", "URW: Discrediting Ukraine", "URW: Praise of Russia"]
    subs = ["URW: Praise of Russia: Other", "URW: Discrediting Ukraine: Rewriting Ukraine\u2019s history"]
    line = format_narrative_line("EN_9.txt", narr, subs)
    assert line.split("\t") == ["EN_9.txt", "URW: Praise of Russia;URW: Discrediting Ukraine", ";".join(subs)]
    rows = read_narrative_labels(
        write(tmp_path / "o.txt", line + "\n" + format_narrative_line("X.txt", ["Other"], ["Other"]))
    )
    assert rows["EN_9.txt"].narratives == tuple(narr[:2]) and rows["EN_9.txt"].subnarratives == tuple(subs)
    assert rows["X.txt"].subnarratives == ("Other",)
    for bad in ((["URW: Praise of Rusia"], subs), (narr, []), (narr, ["URW: Praise of Russia"])):
        with pytest.raises(ValueError):
            format_narrative_line("EN_9.txt", *bad)
