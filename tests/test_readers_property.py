"""Every reader, fed arbitrary bytes, gives either Documents whose every offset indexes the input, or
errors that name the input; it never raises, and never costs the input read after it.

No model is loaded: the readers, build_document and the segmenter are what is tested here.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from unspin.document import Document
from unspin.errors import InputError
from unspin.ingest.build import build_document
from unspin.ingest.raw import RawInput
from unspin.ingest.sources import read_paths
from unspin.segment.stage import SegmentStage

SIBLING = "The harbour reopened on Monday after the storm, and the first ferries left on time.\n"
FAST = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


def check_document(doc: Document, raw: RawInput) -> None:
    """Every offset the Document carries indexes its text or its input, and says what it claims."""
    text, source = doc.text, doc.source_text
    assert text.strip()
    assert source is not None
    for t0, s0, n in doc.source_map.runs:
        assert 0 <= t0 and t0 + n <= len(text) and 0 <= s0 and s0 + n <= len(source)
        assert text[t0 : t0 + n] == source[s0 : s0 + n]
    for r in doc.removed:
        assert 0 <= r.start <= r.end <= len(source)
    if doc.html_map is not None:
        for t0, s0, n in doc.html_map.runs:
            assert 0 <= t0 and t0 + n <= len(text) and 0 <= s0 and s0 + n <= len(raw.content)
    if raw.kind == "text":
        assert source == raw.content
    SegmentStage()(doc)
    previous = 0
    for seg in doc.paragraphs:
        assert previous <= seg.start < seg.end <= len(text)
        previous = seg.end
    previous = 0
    for seg in doc.sentences:
        assert previous <= seg.start < seg.end <= len(text)
        assert text[seg.start : seg.end].strip()
        previous = seg.end


def read_with_sibling(tmp: Path, name: str, data: bytes) -> list[RawInput | InputError]:
    """Read `data` as file `name` with a good file after it; the sibling must come through whole,
    and every error must name the input it is about."""
    folder = tmp / "batch"
    folder.mkdir(exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    bad = folder / name
    bad.write_bytes(data)
    good = folder / "zz-sibling.txt"
    good.write_text(SIBLING)
    items = list(read_paths([bad, good]))
    assert items and isinstance(items[-1], RawInput) and items[-1].source == str(good)
    assert items[-1].content == SIBLING
    mine = items[:-1]
    for item in mine:
        assert item.source == str(bad) or item.source.startswith((f"{bad}:", f"{bad}#"))
        if isinstance(item, InputError):
            assert item.reason.strip()
    return mine


def build_all(items: list[RawInput | InputError]) -> None:
    for item in items:
        if isinstance(item, InputError):
            continue
        try:
            doc = build_document(item)
        except InputError as err:
            assert err.source == item.source and err.reason.strip()
            continue
        check_document(doc, item)


# -- strategies ---------------------------------------------------------------------------------------

WORDS = st.sampled_from(
    ["The", "council", "approved", "budget", ".", ",", "Subscribe", "Photo:", "\n", "\n\n", " ", "—", "Москва",
     "\u2028", "\x85", "\t", "\r\n", "https://example.org/a", "By Jane Doe", "2020-02-03", "\ufeff", "é"]
)  # fmt: skip
PROSE = st.lists(WORDS, max_size=60).map(" ".join)
ENCODED = st.tuples(
    st.one_of(PROSE, st.text(max_size=300)), st.sampled_from(["utf-8", "utf-16", "latin-1", "utf-32"])
).map(lambda p: p[0].encode(p[1], "replace"))
ANY_BYTES = st.one_of(st.binary(max_size=600), ENCODED, PROSE.map(str.encode))
HTML_PIECES = st.sampled_from(
    ["<p>", "</p>", "<div>", "</div>", "<article>", "</article>", "<!--", "-->", "<script>", "</script>",
     "<a href='x'>", "</a>", "&amp;", "&#x41;", "&nbsp;", "&bogus;", "<", ">", "<br>", "<h1>", "</h1>",
     "<title>", "</title>",
     "<![CDATA[", "]]>", "<html><body>", "</body></html>", "<style>", "\x00", "\ud800"]
)  # fmt: skip
HTML = st.lists(st.one_of(HTML_PIECES, WORDS, st.text(max_size=20)), max_size=80).map("".join)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
RECORD = st.fixed_dictionaries(
    {},
    optional={
        "id": JSON_VALUES,
        "text": st.one_of(PROSE, JSON_VALUES),
        "html": HTML,
        "title": JSON_VALUES,
        "published": st.one_of(st.text(max_size=20), JSON_VALUES),
        "outlet": st.one_of(st.sampled_from(["example.org", "Example News", ""]), JSON_VALUES),
    },
)


@st.composite
def jsonl_files(draw) -> bytes:
    lines = draw(
        st.lists(
            st.one_of(
                RECORD.map(lambda r: json.dumps(r, ensure_ascii=draw(st.booleans()))),
                JSON_VALUES.map(json.dumps),
                st.text(max_size=40),
            ),
            max_size=8,
        )
    )
    end = draw(st.sampled_from(["\n", "\r\n"]))
    return end.join(lines).encode("utf-8", "surrogatepass")


@st.composite
def csv_files(draw) -> bytes:
    header = draw(st.lists(st.sampled_from(["id", "text", "html", "title", "published", "x"]), min_size=1, max_size=5))
    rows = draw(st.lists(st.lists(st.one_of(PROSE, st.text(max_size=30)), max_size=6), max_size=6))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    data = out.getvalue()
    if draw(st.booleans()):  # a stray quote or a cut: what damaged CSV looks like
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from(['"', "", "\r", ',"x'])) + data[at:]
    return data.encode("utf-8", "surrogatepass")


def _warc_bytes(bodies: list[bytes], gz: bool, ctype: str) -> bytes:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=gz)
    for i, body in enumerate(bodies):
        headers = StatusAndHeaders("200 OK", [("Content-Type", ctype)], protocol="HTTP/1.1")
        fixed = {"WARC-Record-ID": f"<urn:uuid:00000000-0000-0000-0000-{i:012d}>", "WARC-Date": "2020-02-03T04:05:06Z"}
        rec = writer.create_warc_record(
            f"https://news.example.org/{i}",
            "response",
            payload=io.BytesIO(body),
            http_headers=headers,
            warc_headers_dict=fixed,  # the same bytes every time: hypothesis replays what it drew
        )
        writer.write_record(rec)
    return buf.getvalue()


@st.composite
def damaged(draw, data: bytes) -> bytes:
    """`data` as it is, cut short, or with a few bytes changed."""
    how = draw(st.sampled_from(["whole", "cut", "flip"]))
    if how == "cut" and data:
        return data[: draw(st.integers(0, len(data) - 1))]
    if how == "flip" and data:
        out = bytearray(data)
        for _ in range(draw(st.integers(1, 3))):
            out[draw(st.integers(0, len(out) - 1))] = draw(st.integers(0, 255))
        return bytes(out)
    return data


# -- the readers --------------------------------------------------------------------------------------


@FAST
@given(data=ANY_BYTES, suffix=st.sampled_from([".txt", ".md", ".html"]))
def test_text_and_html_files_of_any_bytes(tmp_path, data, suffix):
    build_all(read_with_sibling(tmp_path, "input" + suffix, data))


@FAST
@given(page=HTML)
def test_html_of_any_markup(tmp_path, page):
    build_all(read_with_sibling(tmp_path, "page.html", page.encode("utf-8", "surrogatepass")))


@FAST
@given(data=jsonl_files())
def test_jsonl_of_any_records(tmp_path, data):
    items = read_with_sibling(tmp_path, "feed.jsonl", data)
    build_all(items)


@FAST
@given(data=csv_files())
def test_csv_of_any_rows(tmp_path, data):
    build_all(read_with_sibling(tmp_path, "rows.csv", data))


@FAST
@given(
    bodies=st.lists(
        st.one_of(HTML.map(lambda h: h.encode("utf-8", "surrogatepass")), st.binary(max_size=200)),
        min_size=1,
        max_size=4,
    ),
    gz=st.booleans(),
    ctype=st.sampled_from(["text/html", "text/plain", "text/html; charset=utf-8"]),
    data=st.data(),
)
def test_warc_whole_cut_or_damaged(tmp_path, bodies, gz, ctype, data):
    whole = _warc_bytes(bodies, gz, ctype)
    archive = data.draw(damaged(whole))
    items = read_with_sibling(tmp_path, "crawl.warc.gz" if gz else "crawl.warc", archive)
    originals = set()
    for body in bodies:
        try:
            originals.add(body.decode("utf-8-sig"))
        except UnicodeDecodeError:
            pass
    every_body_utf8 = len(originals) == len(bodies)
    if archive == whole[: len(archive)] and every_body_utf8:  # whole or cut short, never changed
        for item in items:
            if isinstance(item, RawInput):
                assert item.content in originals  # a whole record's body, never a fragment of one
    build_all(items)


@FAST
@given(
    inner=st.one_of(ANY_BYTES, jsonl_files()),
    name=st.sampled_from(["a.txt.gz", "b.jsonl.gz", "c.html.gz"]),
    data=st.data(),
)
def test_gzip_whole_cut_or_damaged(tmp_path, inner, name, data):
    archive = data.draw(damaged(gzip.compress(inner, mtime=0)))
    build_all(read_with_sibling(tmp_path, name, archive))


@FAST
@given(data=ANY_BYTES)
def test_stdin_of_any_bytes(data):
    from unspin.ingest.sources import read_stdin

    (item,) = read_stdin(stream=io.BytesIO(data))
    assert item.source == "<stdin>"
    build_all([item])


@FAST
@given(content=st.one_of(PROSE, st.text(max_size=400), HTML), kind=st.sampled_from(["text", "html"]))
def test_documents_from_any_string(content, kind):
    """Strings that never were bytes (a form, an API call, a JSON record): the same guarantees."""
    raw = RawInput(source="<text>", content=content, kind=kind)
    try:
        doc = build_document(raw)
    except InputError as err:
        assert err.source == "<text>" and err.reason.strip()
        return
    check_document(doc, raw)
