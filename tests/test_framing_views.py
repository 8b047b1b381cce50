"""The cast and the narratives wherever a user looks: the article page, the API, the report, the terminal view.

No model: the documents carry `entities` and `narratives` filled by hand (tests/framingdocs.py), as the framing
stage fills them.
"""

from __future__ import annotations

import contextlib
import html
import io
import json
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from framingdocs import (
    DIPLOMACY,
    EVIDENCE_FAIR_DEAL,
    EVIDENCE_SABOTAGE,
    EVIDENCE_WEST,
    FRAMED,
    FRAMED_HTML,
    framing_of,
    with_framing,
)
from markupsafe import escape
from rich.console import Console
from webdocs import analyze

from unspin.cli.common import OutputFormat, emit
from unspin.cli.output import render_document
from unspin.document import Document
from unspin.scoring import coverage
from unspin.web import create_app
from unspin.web.highlight import article_view, split_pieces

PIECE = re.compile(r'<span class="([^"]*)"((?: data-[a-z]+="[^"]*")*)>([^<]*)</span>')


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app("sqlite://", analyzer=with_framing)) as c:
        yield c


def text_pieces(page: str) -> list[tuple[str, dict[str, str], str]]:
    """The article text of a page as (class, data attributes, text) pieces; bare text has class ''."""
    body = page.split('id="article-text"', 1)[1].split(">", 1)[1].split("</div>", 1)[0]
    out, at = [], 0
    for m in PIECE.finditer(body):
        if m.start() > at:
            out.append(("", {}, html.unescape(body[at : m.start()])))
        attrs = dict(re.findall(r' data-([a-z]+)="([^"]*)"', m.group(2)))
        out.append((m.group(1), attrs, html.unescape(m.group(3))))
        at = m.end()
    if at < len(body):
        out.append(("", {}, html.unescape(body[at:])))
    return out


def marked_runs(pieces: list[tuple[str, dict[str, str], str]], key: str) -> list[str]:
    """The runs of text the mark `key` covers, in text order (adjacent pieces joined)."""
    runs: list[str] = []
    previous = False
    for _cls, attrs, text in pieces:
        on = key in attrs.get("f", "").split()
        if on and previous:
            runs[-1] += text
        elif on:
            runs.append(text)
        previous = on
    return runs


def key_of(page: str, name: str) -> str:
    m = re.search(r'data-mark="([en]\d+)"[^>]*data-name="' + re.escape(html.escape(name)) + '"', page)
    assert m, name
    return m.group(1)


# --- the view --------------------------------------------------------------------------------------


def test_marks_cut_the_text_without_changing_the_technique_pieces() -> None:
    text = "abcdefghij"
    spans = [{"start": 1, "end": 6}, {"start": 3, "end": 8}]
    marks = [
        {"start": 2, "end": 4, "key": "e0"},
        {"start": 3, "end": 9, "key": "n0"},
        {"start": 5, "end": 7, "key": "e0"},
    ]
    pieces = split_pieces(text, spans, marks)
    assert "".join(p.text for p in pieces) == text
    assert [(p.text, p.spans, p.marks) for p in pieces] == [
        ("a", [], []),
        ("b", [0], []),
        ("c", [0], ["e0"]),
        ("d", [0, 1], ["e0", "n0"]),
        ("e", [0, 1], ["n0"]),
        ("f", [0, 1], ["e0", "n0"]),
        ("g", [1], ["e0", "n0"]),
        ("h", [1], ["n0"]),
        ("i", [], ["n0"]),
        ("j", [], []),
    ]
    # every character keeps the spans it had without marks: the coverage cannot move
    plain = split_pieces(text, spans)
    per_char = {i: p.spans for p in plain for i in range(p.start, p.end)}
    assert all(per_char[i] == p.spans for p in pieces for i in range(p.start, p.end))
    assert sum(p.non_space for p in pieces if p.spans) == sum(p.non_space for p in plain if p.spans)


def test_cast_is_ordered_and_checked_against_the_text() -> None:
    entities, narratives = framing_of(FRAMED)
    entities.append(
        {"name": "Ghost", "main_role": "antagonist", "score": 0.5, "mentions": [{"start": -5, "end": 10**6}]}
    )
    entities.append({"name": "", "main_role": "Hero", "mentions": [{"start": 9, "end": 9}, "junk"]})
    entities.append("not an entity")
    record = {"id": "x", "document": {"text": FRAMED, "spans": [], "entities": entities, "narratives": narratives}}
    view = article_view(record)
    cast = view["cast"]
    assert [e["name"] for e in cast] == [
        "Northland",
        "Fishermen in Port Avel",
        "Mara Quill",
        "Ghost",
        "Westmark",
        "(unnamed)",
    ]
    assert [e["role_label"] for e in cast] == [
        "Antagonist",
        "Innocent",
        "Protagonist",
        "Antagonist",
        "No role",
        "No role",
    ]
    assert cast[0]["roles"] == [{"role": "Instigator", "score": 0.72}, {"role": "Deceiver", "score": 0.35}]
    assert cast[0]["summary"] == "Antagonist (84%) · Instigator 72%, Deceiver 35% · 4 mentions"
    assert cast[3]["mentions"] == [(0, len(FRAMED))]  # clamped to the text
    assert cast[5]["mentions"] == []  # empty and malformed mentions dropped
    assert [n["subnarrative_short"] for n in view["narratives"]] == [
        "The West does not care about Ukraine, only about its interests",
        None,
        None,
    ]
    assert [n["score"] for n in view["narratives"]] == [0.64, 0.58, 0.22]
    assert view["narratives"][1]["quotes"] == [EVIDENCE_SABOTAGE, EVIDENCE_FAIR_DEAL]
    assert view["framing_notes"] == []


# --- the article page ------------------------------------------------------------------------------


def test_page_has_a_cast_panel_whose_marks_cover_exactly_the_mentions(client: TestClient) -> None:
    body = analyze(client, FRAMED)
    page = client.get(f"/a/{body['id']}").text
    assert 'id="cast-panel"' in page and 'id="narratives-panel"' in page
    assert '<script src="/static/framing.js"></script>' in page
    assert client.get("/static/framing.js").status_code == 200
    pieces = text_pieces(page)
    assert "".join(text for _, _, text in pieces) == body["text"]
    for entity in body["entities"]:
        key = key_of(page, entity["name"])
        expected = [body["text"][m["start"] : m["end"]] for m in entity["mentions"]]
        assert marked_runs(pieces, key) == expected, entity["name"]
    for narrative in body["narratives"]:
        name = narrative["subnarrative"] or narrative["narrative"]
        if narrative["evidence"]:
            key = key_of(page, name)
            assert marked_runs(pieces, key) == [body["text"][e["start"] : e["end"]] for e in narrative["evidence"]]


def test_chips_say_the_role_in_words_and_the_fine_roles_on_hover(client: TestClient) -> None:
    page = client.get(f"/a/{analyze(client, FRAMED)['id']}").text
    chips = re.findall(
        r'<button type="button" class="chip role-(\w+)"[^>]*title="([^"]*)"><span class="chip-name">([^<]*)'
        r'</span> <span class="chip-role">([^<]*)</span></button>',
        page,
    )
    assert [(css, name, role) for css, _, name, role in chips] == [
        ("antagonist", "Northland", "Antagonist 84%"),
        ("innocent", "Fishermen in Port Avel", "Innocent 81%"),
        ("protagonist", "Mara Quill", "Protagonist 77%"),
        ("unframed", "Westmark", "No role"),
    ]
    titles = {name: html.unescape(title) for _, title, name, _ in chips}
    assert titles["Mara Quill"] == "Mara Quill: Protagonist (77%) · Peacemaker 66%, Guardian 31% · 2 mentions"
    assert titles["Westmark"].startswith("Westmark: No role")
    assert page.count('aria-pressed="false"') == 4 + 3  # every chip and narrative is a toggle button
    assert "Peacemaker 66%" in page.split('id="cast-panel"')[1]  # visible too, not on hover only


def test_narratives_panel_has_score_bars_and_evidence(client: TestClient) -> None:
    page = client.get(f"/a/{analyze(client, FRAMED)['id']}").text
    panel = page.split('id="narratives-panel"')[1].split("</section>")[0]
    assert panel.index("The West does not care about Ukraine") < panel.index(">Other<")
    assert 'style="width: 64%"' in panel and ">64%<" in panel
    assert f'title="Evidence: {EVIDENCE_WEST}"' in panel
    assert 'title="No evidence sentence given."' in panel  # "Other" carries none
    evidence = page.split('id="narratives"')[1]
    assert f"<q>{escape(EVIDENCE_SABOTAGE)}</q>" in evidence and DIPLOMACY in evidence


def test_framing_marks_leave_the_technique_layer_as_it_was(client: TestClient) -> None:
    body = analyze(client, FRAMED)
    page = client.get(f"/a/{body['id']}").text
    pieces = text_pieces(page)
    non_space = int(re.search(r'data-non-space="(\d+)"', page).group(1))
    technique = [(cls, attrs) for cls, attrs, _ in pieces if "piece" in cls.split()]
    covered = sum(int(attrs["n"]) for _, attrs in technique)
    assert f'<span id="coverage">{round(100 * covered / non_space)}%</span>' in page
    share = coverage(body["text"], [(sp["start"], sp["end"]) for sp in body["spans"]])
    assert share == pytest.approx(covered / non_space, abs=1e-9)  # the document's own definition
    framing_only = [cls for cls, attrs, _ in pieces if "f" in attrs and "s" not in attrs]
    assert framing_only and set(framing_only) == {"fm"}  # no technique class, no data-s the slider would read
    assert any(cls == "piece fm" for cls, _ in technique)  # a mention inside a technique span is both
    assert f'<span id="visible-count">{len(body["spans"])}</span>' in page


def test_html_input_marks_the_extracted_text_exactly() -> None:
    with TestClient(create_app("sqlite://", analyzer=with_framing)) as c:
        body = c.post("/api/analyze", json={"html": FRAMED_HTML}).json()
        assert body["source_kind"] == "html" and body["text"] != FRAMED and "<b>" not in body["text"]
        page = c.get(f"/a/{body['id']}").text
    pieces = text_pieces(page)
    assert "".join(text for _, _, text in pieces) == body["text"]
    quill = marked_runs(pieces, key_of(page, "Mara Quill"))
    assert quill == ["Mara Quill", "Quill"]
    assert marked_runs(pieces, key_of(page, "Westmark"))[-1] == "Westmark"  # after the emoji, still exact


def test_no_panel_but_a_line_when_the_stage_did_not_run_or_found_nothing() -> None:
    cases = {
        (None, None): ["the framing stage did not run): no cast, no narratives"],
        ((), None): ["found no entity that this text casts in a role", "Narratives were not analysed"],
        (None, ()): ["Entities were not analysed", "found no narrative in this text"],
        ((), ()): ["found no entity that this text casts in a role", "found no narrative in this text"],
    }
    for (entities, narratives), lines in cases.items():

        def analyzer(content: str, kind: str, source: str, e=entities, n=narratives) -> Document:
            return Document(
                text=content,
                entities=None if e is None else [],
                narratives=None if n is None else [],
            )

        with TestClient(create_app("sqlite://", analyzer=analyzer)) as c:
            page = c.get(f"/a/{analyze(c, FRAMED)['id']}").text
        assert 'id="cast-panel"' not in page and 'id="narratives-panel"' not in page
        assert "framing.js" not in page and ' data-f="' not in page
        notes = re.findall(r'<p class="notice framing-note">([^<]*)</p>', page)
        assert len(notes) == len(lines)
        for note, line in zip(notes, lines, strict=True):
            assert line in note
    assert "did not run" not in "".join(cases[((), ())])


def test_hostile_names_and_labels_are_escaped_everywhere() -> None:
    text = 'Before <script>window.__pwned = 1;</script> and "<img src=x onerror=alert(1)>" after.'
    tag = text.index("<script>")

    def analyzer(content: str, kind: str, source: str) -> Document:
        return Document(
            text=content,
            entities=[
                {
                    "name": '<script>window.__pwned = 1;</script>" onmouseover="x',
                    "main_role": "Antagonist",
                    "roles": [{"role": "<b>Spy</b>", "score": 0.5}],
                    "score": 0.9,
                    "mentions": [{"start": tag, "end": tag + len("<script>")}],
                }
            ],
            narratives=[
                {
                    "narrative": "<img src=x onerror=alert(2)>",
                    "subnarrative": None,
                    "score": 0.5,
                    "evidence": [{"start": 0, "end": len(content)}],
                }
            ],
        )

    with TestClient(create_app("sqlite://", analyzer=analyzer)) as c:
        analysis_id = analyze(c, text)["id"]
        page = c.get(f"/a/{analysis_id}").text
        report = c.get(f"/a/{analysis_id}/report.html").text
    for doc in (page, report):
        assert "<script>window" not in doc and "<img src=x" not in doc and "<b>Spy" not in doc
        assert "&lt;script&gt;window.__pwned = 1;&lt;/script&gt;" in doc and "&lt;img src=x onerror=alert(2)&gt;" in doc
        assert 'onmouseover="x' not in doc
    assert len(re.findall(r"<script", page)) == 1  # the framing script from /static, nothing else
    assert "&lt;b&gt;Spy&lt;/b&gt; 50%" in page


# --- the API and the report ------------------------------------------------------------------------


def test_api_returns_entities_and_narratives_as_the_stage_wrote_them(client: TestClient) -> None:
    body = analyze(client, FRAMED)
    entities, narratives = framing_of(body["text"])
    assert body["entities"] == entities and body["narratives"] == narratives
    for entity in body["entities"]:
        for m in entity["mentions"]:
            assert body["text"][m["start"] : m["end"]] in entity["name"]
    stored = client.get(f"/api/analyses/{body['id']}").json()
    assert stored["entities"] == entities and stored["narratives"] == narratives
    narrowed = client.post("/api/analyze?min_score=0.7", json={"text": FRAMED}).json()
    assert narrowed["entities"] == entities and narrowed["narratives"] == narratives
    exported = client.get(f"/a/{body['id']}/export.json").json()
    assert exported["entities"] == entities
    plain = analyze(client, "A short note about the weather.\n\nIt rained all day.")
    assert "entities" not in plain and "narratives" not in plain  # the stage did not run: no field


def test_report_shows_the_cast_and_the_evidence(client: TestClient) -> None:
    body = analyze(client, FRAMED)
    report = client.get(f"/a/{body['id']}/report.html").text
    cast = report.split('id="cast"')[1].split("</table>")[0]
    assert cast.index("Northland") < cast.index("Westmark")
    assert '<span class="role-tag role-innocent">Innocent</span> 81%' in cast
    assert "Victim 74%, Exploited 28%" in cast
    assert f"<q>{EVIDENCE_WEST}</q>" in report and "<script" not in report


# --- the terminal view -----------------------------------------------------------------------------


def _terminal(doc: Document) -> str:
    console = Console(file=io.StringIO(), width=200, color_system=None)
    render_document(doc, console)
    return console.file.getvalue()


def test_terminal_view_shows_the_cast_and_the_narratives() -> None:
    doc = with_framing(FRAMED, "text", "harbour.txt")
    out = _terminal(doc)
    cast = out.split("Cast", 1)[1].split("Narratives", 1)[0]
    rows = [line for line in cast.splitlines() if "│" in line and "entity" not in line]
    assert [row.split("│")[1].strip() for row in rows] == [
        "Northland",
        "Fishermen in Port Avel",
        "Mara Quill",
        "Westmark",
    ]
    northland = [c.strip() for c in rows[0].split("│")[1:-1]]
    assert northland == ["Northland", "Antagonist 0.84", "Instigator 0.72, Deceiver 0.35", "4"]
    assert [c.strip() for c in rows[3].split("│")[1:-1]] == ["Westmark", "no role", "", "4"]
    narratives = out.split("Narratives", 1)[1]
    assert "The West does not care about Ukraine, only about its interests" in narratives
    assert "0.64" in narratives and EVIDENCE_WEST in narratives
    assert "Northland's ministry accused Westmark of sabotage and refused to sign." in narratives


def test_terminal_view_shortens_evidence_and_prints_markup_literally() -> None:
    text = "[bold red]Big[/] news: " + "the harbour deal " * 12 + "is dead."
    doc = Document(
        text=text,
        entities=[{"name": "[/]", "main_role": "Innocent", "roles": [], "score": 0.5, "mentions": []}],
        narratives=[
            {"narrative": "Other", "subnarrative": None, "score": 0.3, "evidence": [{"start": 0, "end": len(text)}]}
        ],
    )
    out = _terminal(doc)
    assert "[/]" in out and "[bold red]Big[/] news: the harbour" in out
    table = out.split("Narratives", 1)[1]
    assert "[bold red]Big[/] news: the harbour deal the harbour deal" in table
    assert "is dead" not in table and "... │" in table


def test_terminal_view_is_unchanged_without_framing_and_json_is_the_document() -> None:
    doc = Document(text="A quiet day.\n\nNothing happened.")
    out = _terminal(doc)
    assert "Cast" not in out and "Narratives" not in out
    empty = _terminal(Document(text="A quiet day.", entities=[], narratives=[]))
    assert "no entity cast in a role" in empty and "no narrative found" in empty
    framed = with_framing(FRAMED, "text", "harbour.txt")
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        emit([framed], OutputFormat.json, lambda d: d.to_dict())
    assert json.loads(buffer.getvalue()) == json.loads(json.dumps(framed.to_dict()))
