"""Reading inputs as they come, and bad input: a clear error naming the input and the reason."""

import gzip
import io
import json

import pytest

from unspin.errors import InputError
from unspin.ingest.build import build_document
from unspin.ingest.sources import RawInput, read_paths, read_stdin
from unspin.pipeline import Pipeline
from unspin.settings import Settings


def only(items):
    items = list(items)
    assert len(items) == 1
    return items[0]


def test_empty_file(tmp_path):
    f = tmp_path / "empty.txt"
    f.write_bytes(b"")
    err = only(read_paths([f]))
    assert isinstance(err, InputError) and err.source == str(f) and "empty" in err.reason


@pytest.mark.parametrize(
    "name,data,what",
    [
        ("report.txt", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>", "PDF"),
        ("image.html", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG"),
        ("blob.txt", b"abc\x00\x01\x02\x03def\x00" * 50, "NUL"),
    ],
)
def test_binary_files_are_refused_with_the_reason(tmp_path, name, data, what):
    f = tmp_path / name
    f.write_bytes(data)
    err = only(read_paths([f]))
    assert isinstance(err, InputError)
    assert what in err.reason and "binary" in err.reason


def test_latin1_text_is_decoded_with_a_warning(tmp_path):
    f = tmp_path / "latin1.txt"
    f.write_bytes("Le café de la gare a fermé ses portes après quarante années de service.".encode("latin-1"))
    raw = only(read_paths([f]))
    assert isinstance(raw, RawInput)
    assert "café" in raw.content
    assert any("not valid UTF-8" in w for w in raw.warnings)


def test_garbage_bytes_are_refused(tmp_path):
    f = tmp_path / "garbage.txt"
    f.write_bytes(bytes(range(128, 256)) * 40)
    err = only(read_paths([f]))
    assert isinstance(err, InputError)
    assert "UTF-8" in err.reason or "binary" in err.reason


def test_large_file_is_refused_with_a_limit_that_can_be_raised(tmp_path):
    f = tmp_path / "huge.txt"
    with f.open("w") as fh:
        chunk = "All work and no play makes a very long article. " * 1000
        while fh.tell() < 50 * 1024 * 1024:
            fh.write(chunk)
    err = only(read_paths([f]))
    assert isinstance(err, InputError)
    assert "limit" in err.reason and "--max-bytes" in err.reason
    raw = only(read_paths([f], Settings(max_bytes=60 * 1024 * 1024)))
    assert isinstance(raw, RawInput) and len(raw.content) >= 50 * 1024 * 1024


def test_stdin_is_read_and_sniffed():
    raw = only(read_stdin(stream=io.BytesIO(b"<html><body><p>Hello there, reader.</p></body></html>")))
    assert raw.source == "<stdin>" and raw.kind == "html"


def test_html_scripts_styles_iframes_never_reach_the_text(fixtures):
    doc = only(Pipeline().pipe(read_paths([fixtures / "hostile.html"])))
    assert "council approved the new budget" in doc.text
    for marker in ("SCRIPT_TEXT", "ANOTHER_SCRIPT", "IFRAME_TEXT", "NOSCRIPT_TEXT", "secret-style-rule", "injected"):
        assert marker not in doc.text
    assert doc.title == "Council Approves the New Budget"
    assert doc.author == "Jonas Berg"
    assert doc.published.startswith("2021-04-12")


def test_other_language_is_reported_and_nothing_crashes(fixtures):
    doc = only(Pipeline().pipe(read_paths([fixtures / "french.txt"])))
    assert doc.language == "fr"
    assert any("English" in w for w in doc.warnings)
    assert doc.sentences


def test_jsonl_records_bad_lines_reported_rest_kept(tmp_path):
    f = tmp_path / "batch.jsonl"
    lines = [
        json.dumps({"id": "a1", "text": "First article body with enough words to count.", "outlet": "example.org"}),
        "{not json",
        json.dumps({"id": "a2", "url": "https://news.example.com/x", "published": "2020-02-03"}),
        json.dumps({"id": "a3", "html": "<html><body><article><p>An HTML record body.</p></article></body></html>"}),
        json.dumps(["a", "list"]),
    ]
    f.write_text("\n".join(lines) + "\n")
    items = list(read_paths([f]))
    errors = [i for i in items if isinstance(i, InputError)]
    good = [i for i in items if isinstance(i, RawInput)]
    assert [e.source for e in errors] == [f"{f}:2", f"{f}:3", f"{f}:5"]
    assert "malformed JSON" in errors[0].reason and "no non-empty 'text' or 'html'" in errors[1].reason
    assert [g.hints["id"] for g in good] == ["a1", "a3"]
    doc = build_document(good[0])
    assert doc.id == "a1" and doc.outlet == "example.org"
    assert build_document(good[1]).source_kind == "html"


def test_csv_records(tmp_path):
    f = tmp_path / "batch.csv"
    f.write_text('id,text,published\n7,"A body, with a comma.",14.11.2015\n8,,2020-01-01\n')
    items = list(read_paths([f]))
    assert isinstance(items[0], RawInput) and items[0].hints["id"] == "7"
    assert isinstance(items[1], InputError) and items[1].source == f"{f}:3"
    assert build_document(items[0]).published == "2015-11-14"


def test_gzipped_html_and_missing_path(tmp_path):
    f = tmp_path / "page.html.gz"
    f.write_bytes(gzip.compress(b"<html><body><article><p>Compressed page body text.</p></article></body></html>"))
    items = list(read_paths([f, tmp_path / "nope.txt"]))
    assert isinstance(items[0], RawInput) and items[0].kind == "html"
    assert isinstance(items[1], InputError) and "no such file" in items[1].reason


def test_html_text_maps_back_to_the_page(fixtures):
    page = (fixtures / "hostile.html").read_text(encoding="utf-8")
    doc = only(Pipeline().pipe(read_paths([fixtures / "hostile.html"])))
    assert doc.html_map is not None
    checked = 0
    for i, ch in enumerate(doc.text):
        o = doc.html_map.lookup(i)
        if o is not None:
            assert page[o] == ch
            checked += 1
    assert checked >= 0.9 * sum(1 for ch in doc.text if not ch.isspace())
    start = doc.text.index("twelve percent")
    o = doc.html_map.lookup(start)
    assert page[o : o + len("twelve percent")] == "twelve percent"


def test_warc_html_records_read_other_records_reported(tmp_path):
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    path = tmp_path / "crawl.warc.gz"
    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=True)

        def response(uri, ctype, body, status="200 OK"):
            headers = StatusAndHeaders(status, [("Content-Type", ctype)], protocol="HTTP/1.1")
            rec = writer.create_warc_record(uri, "response", payload=io.BytesIO(body), http_headers=headers)
            writer.write_record(rec)

        page = b"<html><body><article><p>The harbour reopened on Monday after the storm.</p></article></body></html>"
        response("https://news.example.org/harbour", "text/html; charset=utf-8", page)
        response("https://news.example.org/logo.png", "image/png", b"\x89PNG\r\n\x1a\n")
        response("https://news.example.org/gone", "text/html", b"<html>gone</html>", status="404 Not Found")
    items = list(read_paths([path]))
    raws = [i for i in items if isinstance(i, RawInput)]
    errors = [i for i in items if isinstance(i, InputError)]
    assert len(raws) == 1 and raws[0].hints["url"] == "https://news.example.org/harbour"
    assert build_document(raws[0]).outlet == "news.example.org"
    assert any("image/png, not HTML" in e.reason and "logo.png" in e.source for e in errors)
    assert any("404" in e.reason for e in errors)


def test_broken_warc_is_reported(tmp_path):
    path = tmp_path / "broken.warc"
    path.write_bytes(b"this is not a web archive at all\n" * 10)
    items = list(read_paths([path]))
    assert items and all(isinstance(i, InputError) for i in items)
    assert "WARC" in items[0].reason


def test_language_model_unpacked_once_gives_the_packages_answers(tmp_path, monkeypatch):
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    from unspin.metadata import language

    monkeypatch.setenv("UNSPIN_MODEL_CACHE", str(tmp_path))
    language.identifier.cache_clear()
    try:
        ours = language.identifier()
        unpacked = list(tmp_path.glob("py3langid-*/model-*.npz"))
        assert len(unpacked) == 1 and not list(tmp_path.glob("py3langid-*/*.part"))
        packaged = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        samples = [
            "The council approved the budget after a long debate on Tuesday.",
            "Le conseil a approuvé le budget après un long débat mardi.",
            "Der Rat hat den Haushalt nach langer Debatte am Dienstag gebilligt.",
            "Совет одобрил бюджет после долгих дебатов во вторник.",
        ]
        assert [ours.classify(s) for s in samples] == [packaged.classify(s) for s in samples]
        # a damaged copy is unpacked again
        unpacked[0].write_bytes(b"not an npz file")
        language.identifier.cache_clear()
        assert [language.identifier().classify(s) for s in samples] == [packaged.classify(s) for s in samples]
        assert unpacked[0].stat().st_size > 1_000_000
        # where nothing can be written, the packed model answers
        monkeypatch.setenv("UNSPIN_MODEL_CACHE", str(tmp_path / "file"))
        (tmp_path / "file").write_text("a file, not a folder")
        language.identifier.cache_clear()
        assert [language.identifier().classify(s) for s in samples] == [packaged.classify(s) for s in samples]
    finally:
        language.identifier.cache_clear()
