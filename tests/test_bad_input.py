"""Damaged and odd input, class by class: each bad input is one clear error naming it and the reason,
nothing else in the batch is lost, and nothing is read as an article that is not one."""

from __future__ import annotations

import gzip
import io
import json
import os
import stat
import zlib

import pytest

from unspin.errors import InputError
from unspin.ingest import sources
from unspin.ingest.build import build_document
from unspin.ingest.decode import decode_bytes
from unspin.ingest.sources import RawInput, read_paths

BODY = "The council approved the new budget on Tuesday after a long debate about schools and roads.\n"


def split(items):
    items = list(items)
    return [i for i in items if isinstance(i, RawInput)], [i for i in items if isinstance(i, InputError)]


# -- gzip: any failure to decompress is an error naming the file; its siblings are read -----------------


def _damaged_gzips():
    whole = gzip.compress((BODY * 200).encode())
    yield "truncated", whole[: len(whole) // 2]  # EOFError inside gzip
    flipped = bytearray(whole)
    flipped[len(whole) // 2] ^= 0xFF
    yield "corrupted", bytes(flipped)  # zlib.error or a CRC mismatch
    yield "bad-trailer", whole[:-8] + b"\x00" * 8  # CRC and length wrong
    yield "header-only", whole[:12]


@pytest.mark.parametrize("name,data", list(_damaged_gzips()))
@pytest.mark.parametrize("suffix", [".txt.gz", ".jsonl.gz", ".html.gz"])
def test_damaged_gzip_is_an_error_naming_it_and_the_batch_goes_on(tmp_path, name, data, suffix):
    good = tmp_path / "a-good.txt"
    good.write_text(BODY)
    bad = tmp_path / f"{name}{suffix}"
    bad.write_bytes(data)
    after = tmp_path / "z-after.txt"
    after.write_text(BODY)
    raws, errors = split(read_paths([good, bad, after]))
    assert [r.source for r in raws] == [str(good), str(after)]
    assert len(errors) == 1 and errors[0].source == str(bad)
    assert "gzip" in errors[0].reason and ("damaged" in errors[0].reason or "truncated" in errors[0].reason)
    # the same inside a folder
    raws, errors = split(read_paths([tmp_path]))
    assert [r.source for r in raws] == [str(good), str(after)] and [e.source for e in errors] == [str(bad)]


def test_a_reader_that_fails_unexpectedly_loses_only_its_own_input(tmp_path, monkeypatch):
    real = sources.read_file

    def flaky(path, settings=None):
        if path.name == "b.txt":
            yield InputError(str(path), "first record fine")
            raise zlib.error("Error -3 while decompressing data: invalid block type")
        yield from real(path, settings)

    monkeypatch.setattr(sources, "read_file", flaky)
    for name in ("a.txt", "b.txt", "c.txt"):
        (tmp_path / name).write_text(BODY)
    raws, errors = split(read_paths([tmp_path]))
    assert [r.source for r in raws] == [str(tmp_path / "a.txt"), str(tmp_path / "c.txt")]
    assert [e.source for e in errors] == [str(tmp_path / "b.txt")] * 2
    assert "invalid block type" in errors[1].reason


def test_cli_reports_the_damaged_gzip_and_prints_the_good_file(tmp_path):
    from typer.testing import CliRunner

    from unspin.cli.main import app

    good = tmp_path / "g.txt"
    good.write_text(BODY)
    whole = gzip.compress((BODY * 50).encode())
    bad = tmp_path / "t.txt.gz"
    bad.write_bytes(whole[: len(whole) // 2])
    result = CliRunner().invoke(app, ["extract", str(good), str(bad), "--format", "json"])
    assert result.exit_code == 1 and "Aborted" not in result.output
    out = json.loads(result.stdout)
    docs = out if isinstance(out, list) else [out]
    assert [d["source"] for d in docs] == [str(good)] and docs[0]["text"].startswith("The council")
    assert f"{bad}: damaged gzip file" in result.stderr


# -- JSON Lines: lines end at \n only -------------------------------------------------------------------


@pytest.mark.parametrize("sep", ["\u2028", "\u2029", "\x85"])
def test_jsonl_strings_may_hold_characters_that_splitlines_breaks_at(tmp_path, sep):
    f = tmp_path / "feed.jsonl"
    records = [
        {"id": "one", "text": f"First paragraph of the article.{sep}Second paragraph of it."},
        {"id": "two", "text": "A later record, on line 3."},
    ]
    lines = [json.dumps(records[0], ensure_ascii=False), "", json.dumps(records[1], ensure_ascii=False)]
    f.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="")
    raws, errors = split(read_paths([f]))
    assert errors == []
    assert [(r.hints["id"], r.source, r.content) for r in raws] == [
        ("one", f"{f}:1", records[0]["text"]),
        ("two", f"{f}:3", records[1]["text"]),
    ]


def test_jsonl_with_crlf_line_ends_keeps_its_line_numbers(tmp_path):
    f = tmp_path / "dos.jsonl"
    f.write_bytes(b'{"id": "a", "text": "First body."}\r\n\r\n{"id": "b", "text": "Second body."}\r\n')
    raws, errors = split(read_paths([f]))
    assert errors == [] and [(r.hints["id"], r.source) for r in raws] == [("a", f"{f}:1"), ("b", f"{f}:3")]


def test_jsonl_odd_json_is_a_malformed_record_not_a_crash(tmp_path):
    f = tmp_path / "odd.jsonl"
    lines = [
        "[" * 100_000 + "]" * 100_000,  # nesting deeper than the parser's recursion limit
        '{"text": "a number", "id": ' + "9" * 5000 + "}",  # more digits than int() converts
        json.dumps({"text": "Fine article body here.", "title": ["a", "list"], "published": {"y": 1}}),
        json.dumps({"text": "Last article body here.", "id": 7}),
    ]
    f.write_text("\n".join(lines) + "\n")
    raws, errors = split(read_paths([f]))
    assert [e.source for e in errors] == [f"{f}:1", f"{f}:2"]
    assert all("malformed JSON" in e.reason for e in errors)
    assert [r.source for r in raws] == [f"{f}:3", f"{f}:4"]
    assert "title" not in raws[0].hints and any("'title'" in w for w in raws[0].warnings)
    assert raws[1].hints["id"] == "7"
    assert build_document(raws[0]).title != ["a", "list"]


def test_csv_malformed_row_is_reported_and_later_rows_kept(tmp_path, monkeypatch):
    import csv

    f = tmp_path / "rows.csv"
    f.write_text('id,text\n1,"First body of text."\n2,"Second body of text."\n3,"Third body."\n')
    real_reader = csv.DictReader

    class Failing(real_reader):  # the csv module's own errors, on one row
        def __next__(self):
            row = super().__next__()
            if row.get("id") == "2":
                raise csv.Error("line contains something odd")
            return row

    monkeypatch.setattr(csv, "DictReader", Failing)
    raws, errors = split(read_paths([f]))
    assert [r.hints["id"] for r in raws] == ["1", "3"]
    assert [e.source for e in errors] == [f"{f}:3"] and "malformed CSV" in errors[0].reason


# -- text encodings and NUL ----------------------------------------------------------------------------


def test_nul_anywhere_means_binary(tmp_path):
    f = tmp_path / "late-nul.txt"
    f.write_bytes((BODY * 200).encode() + b"\x00" + BODY.encode())  # the NUL well past the first 8 KB
    _, errors = split(read_paths([f]))
    assert len(errors) == 1 and "NUL" in errors[0].reason and "binary" in errors[0].reason
    # the same rule for text that arrives as a string (a JSONL record, the API)
    with pytest.raises(InputError, match="NUL"):
        build_document(RawInput(source="<text>", content=BODY * 200 + "\x00" + BODY, kind="text"))


@pytest.mark.parametrize(
    "name,pack,what",
    [("a.txt.bz2", "bz2", "bzip2"), ("a.txt.xz", "lzma", "xz"), ("notes.txt", "sqlite", "SQLite")],
)
def test_other_archives_and_databases_are_named_as_what_they_are(tmp_path, name, pack, what):
    import bz2
    import lzma
    import sqlite3

    f = tmp_path / name
    if pack == "sqlite":
        with sqlite3.connect(f) as db:
            db.execute("create table t (x)")
    else:
        f.write_bytes({"bz2": bz2, "lzma": lzma}[pack].compress((BODY * 100).encode()))
    _, errors = split(read_paths([f]))
    assert len(errors) == 1 and errors[0].source == str(f)
    assert "binary" in errors[0].reason and what in errors[0].reason


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_with_a_byte_order_mark_are_decoded(tmp_path, encoding):
    import codecs

    boms = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}
    data = boms.get(encoding, b"") + (BODY + "Café, naïve — “quoted”.\n").encode(encoding)
    f = tmp_path / "wide.txt"
    f.write_bytes(data)
    raws, errors = split(read_paths([f]))
    assert errors == [] and raws[0].content == BODY + "Café, naïve — “quoted”.\n"


def test_utf16_bom_with_broken_data_is_refused_with_the_reason():
    with pytest.raises(InputError, match="UTF-16"):
        decode_bytes(b"\xff\xfe" + "Some text".encode("utf-16-le") + b"\x00\xd8", "x.txt")  # a lone high surrogate


def test_lone_surrogate_in_a_record_is_an_error_not_a_crash(tmp_path):
    f = tmp_path / "s.jsonl"
    f.write_text('{"text": "A body with a broken escape \\ud800 inside it."}\n{"text": "A fine body."}\n')
    raws, _ = split(read_paths([f]))
    with pytest.raises(InputError, match="surrogate"):
        build_document(raws[0])
    assert build_document(raws[1]).text == "A fine body."


# -- WARC: a truncated archive is reported, a fragment is never an article ---------------------------------


def _warc(gz: bool, n: int = 5) -> tuple[bytes, list[str]]:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buf, bodies = io.BytesIO(), []
    writer = WARCWriter(buf, gzip=gz)
    for i in range(n):
        body = f"<html><body><article><p>Story {i}. " + "The harbour reopened after the storm. " * 12
        body += "</p></article></body></html>"
        bodies.append(body)
        headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        rec = writer.create_warc_record(
            f"https://news.example.org/{i}", "response", payload=io.BytesIO(body.encode()), http_headers=headers
        )
        writer.write_record(rec)
    return buf.getvalue(), bodies


@pytest.mark.parametrize("gz", [True, False])
def test_warc_cut_at_70_percent_reports_the_truncated_record(tmp_path, gz):
    data, bodies = _warc(gz)
    path = tmp_path / ("cut.warc.gz" if gz else "cut.warc")
    path.write_bytes(data[: int(len(data) * 0.7)])
    raws, errors = split(read_paths([path]))
    assert [r.content for r in raws] == bodies[: len(raws)] and len(raws) == 3
    assert len(errors) == 1 and errors[0].source.startswith(f"{path}#")
    assert "truncated" in errors[0].reason


@pytest.mark.parametrize("gz", [True, False])
def test_warc_cut_anywhere_never_yields_a_fragment_and_never_loses_a_record_silently(tmp_path, gz):
    data, bodies = _warc(gz, n=3)
    path = tmp_path / ("cut.warc.gz" if gz else "cut.warc")
    path.write_bytes(data)
    assert [r.content for r in split(read_paths([path]))[0]] == bodies
    for cut in range(7, len(data), 13 if gz else 29):
        path.write_bytes(data[:cut])
        raws, errors = split(read_paths([path]))
        assert [r.content for r in raws] == bodies[: len(raws)], cut  # whole records only, in order
        assert len(raws) + len(errors) >= 1, cut
        if len(raws) < 3 and not errors:  # nothing reported: only where the cut falls between records
            assert data[:cut].rstrip(b"\r\n") == _prefix_of_records(data, gz, len(raws)).rstrip(b"\r\n"), cut


def _prefix_of_records(data: bytes, gz: bool, n: int) -> bytes:
    """The bytes of the first n whole records of `data`."""
    from warcio.archiveiterator import ArchiveIterator

    it = ArchiveIterator(io.BytesIO(data))
    end = 0
    for i, _record in enumerate(it):
        if i == n:
            break
        end = it.get_record_offset() + it.get_record_length()
    return data[:end]


def test_warc_with_garbage_after_the_last_record_is_reported(tmp_path):
    data, bodies = _warc(False, n=2)
    path = tmp_path / "tail.warc"
    path.write_bytes(data + b"WARC/1.0\r\nWARC-Type: resp")
    raws, errors = split(read_paths([path]))
    assert [r.content for r in raws] == bodies
    assert len(errors) == 1 and str(path) in errors[0].source


# -- folders: what cannot be read is named -------------------------------------------------------------


def test_unreadable_subfolder_is_named(tmp_path, monkeypatch):
    (tmp_path / "a.txt").write_text(BODY)
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "inside.txt").write_text(BODY)
    locked.chmod(0)
    try:
        if os.geteuid() == 0:  # root reads any folder: make the folder fail as it does for other users
            real = os.scandir

            def scandir(path="."):
                if os.fspath(path) == str(locked):
                    raise PermissionError(13, "Permission denied", str(path))
                return real(path)

            monkeypatch.setattr(os, "scandir", scandir)
        raws, errors = split(read_paths([tmp_path]))
    finally:
        locked.chmod(stat.S_IRWXU)
    assert [r.source for r in raws] == [str(tmp_path / "a.txt")]
    assert [e.source for e in errors] == [str(locked)] and "Permission denied" in errors[0].reason


def test_symlink_loops_and_broken_links_are_named(tmp_path):
    (tmp_path / "a.txt").write_text(BODY)
    (tmp_path / "self.txt").symlink_to(tmp_path / "self.txt")
    (tmp_path / "gone.html").symlink_to(tmp_path / "nowhere.html")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "b.txt").write_text(BODY)
    (sub / "up").symlink_to(tmp_path, target_is_directory=True)
    raws, errors = split(read_paths([tmp_path]))
    assert [r.source for r in raws] == [str(tmp_path / "a.txt"), str(sub / "b.txt")]
    reasons = {e.source: e.reason for e in errors}
    assert set(reasons) == {str(tmp_path / "self.txt"), str(tmp_path / "gone.html"), str(sub / "up")}
    assert "loop" in reasons[str(tmp_path / "self.txt")] and "loop" in reasons[str(sub / "up")]
    assert "broken" in reasons[str(tmp_path / "gone.html")]
    # named on the command line
    _, errors = split(read_paths([tmp_path / "self.txt"]))
    assert len(errors) == 1 and "loop" in errors[0].reason


def test_odd_paths_are_errors_naming_them_and_the_batch_goes_on(tmp_path):
    good = tmp_path / "good.txt"
    good.write_text(BODY)
    pipe = tmp_path / "pipe.txt"
    os.mkfifo(pipe)  # reading it would wait forever
    too_long = tmp_path / ("x" * 300 + ".txt")
    raws, errors = split(read_paths([too_long, pipe, tmp_path / "missing.txt", good]))
    assert [r.source for r in raws] == [str(good)]
    assert [e.source for e in errors] == [str(too_long), str(pipe), str(tmp_path / "missing.txt")]
    assert "too long" in errors[0].reason and "not a regular file" in errors[1].reason
    assert "no such file" in errors[2].reason
    raws, errors = split(read_paths([tmp_path]))  # the pipe inside a folder
    assert [r.source for r in raws] == [str(good)] and [e.source for e in errors] == [str(pipe)]


# -- model cache: readable by the other users of a shared installation --------------------------------------


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_unpacked_model_files_follow_the_umask_not_owner_only(tmp_path, umask, mode):
    import tempfile

    from unspin.models.base import publish_file

    old = os.umask(umask)
    try:
        fd, tmp = tempfile.mkstemp(dir=tmp_path)
        os.close(fd)
        publish_file(tmp, tmp_path / "model.bin")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "model.bin").stat().st_mode) == mode
    assert not os.path.exists(tmp)


def test_language_model_cache_is_readable_by_other_users(tmp_path, monkeypatch):
    from unspin.metadata import language

    monkeypatch.setenv("UNSPIN_MODEL_CACHE", str(tmp_path))
    old = os.umask(0o022)
    language.identifier.cache_clear()
    try:
        language.identifier()
    finally:
        os.umask(old)
        language.identifier.cache_clear()
    (unpacked,) = tmp_path.glob("py3langid-*/model-*.npz")
    assert stat.S_IMODE(unpacked.stat().st_mode) & 0o044 == 0o044


# -- HTML the parser cannot hold, markup that is never closed --------------------------------------------


def test_html_nested_deeper_than_the_parser_allows_keeps_its_text():
    sentence = "The council approved the new budget after a long debate about schools."
    for depth in (300, 100_000):
        page = "<html><body>" + "<div>" * depth + f"<p>{sentence}</p>" + "</div>" * depth + "</body></html>"
        doc = build_document(RawInput(source="deep.html", content=page, kind="html"))
        assert doc.text == sentence, depth
        start = doc.html_map.lookup(0)
        assert page[start : start + len(sentence)] == sentence


@pytest.mark.parametrize("opener", ["<!--", "<script>", "<a href='x' ", "<![CDATA["])
def test_markup_left_open_is_read_in_linear_time(opener):
    import time

    from unspin.ingest.htmlmap import html_offset_map, visible_text

    page = "<html><body><p>A short article body that is shown.</p>" + opener * 40_000
    started = time.perf_counter()
    assert visible_text(page).startswith("A short article body that is shown.")
    html_offset_map("A short article body that is shown.", page)
    assert time.perf_counter() - started < 3


# -- size: text too long to analyse in reasonable time is refused before any work -----------------------


def test_a_huge_text_of_one_word_is_refused_at_once_and_the_limit_can_be_raised(tmp_path):
    import time

    from unspin.settings import Settings

    f = tmp_path / "huge.txt"
    f.write_text("propaganda " * 850_000)  # 9.35 MB, under the 10 MB file limit
    started = time.perf_counter()
    (raw,) = read_paths([f])
    with pytest.raises(InputError) as err:
        build_document(raw)
    assert time.perf_counter() - started < 10
    assert err.value.source == str(f) and "limit" in err.value.reason and "UNSPIN_MAX_CHARS" in err.value.reason
    small = RawInput(source="small.txt", content="propaganda " * 20_000, kind="text")
    with pytest.raises(InputError, match="limit"):
        build_document(small, Settings(max_chars=100_000))
    assert build_document(small, Settings(max_chars=300_000)).text


def test_a_csv_field_of_8_mb_is_refused_and_the_other_rows_kept(tmp_path):
    import time

    f = tmp_path / "big.csv"
    f.write_text('id,text\n1,"A normal first row of text."\n2,"' + "word " * 1_600_000 + '"\n3,"A normal last row."\n')
    started = time.perf_counter()
    outcomes = []
    for item in read_paths([f]):
        try:
            outcomes.append(build_document(item).text)
        except InputError as err:
            outcomes.append(err)
    assert time.perf_counter() - started < 20
    assert outcomes[0] == "A normal first row of text." and outcomes[2] == "A normal last row."
    assert isinstance(outcomes[1], InputError) and outcomes[1].source == f"{f}:3" and "limit" in outcomes[1].reason
