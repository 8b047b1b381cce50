"""Cleaning: debris out, body kept, metadata lines turned into metadata."""

from conftest import DATA, EXAMPLES, need

from unspin.clean.debris import clean_text
from unspin.pipeline import Pipeline

DEBRIS = [
    "Go to the mediabank",
    "Subscribe",
    "Newsfeed",
    "To participate in the discussion",
    "log in or register",
    "loader",
    "Chats",
    "Заголовок",
    "No comments",
    "Post a Comment",
    "views expressed",
    "- Northwind Radio International",
    "Harbour Workers Say Night Shipments",
    "http://",
]


def body_lines(text: str, skip: int) -> list[str]:
    return [ln for ln in text.splitlines()[skip:] if ln.strip()]


def test_state_outlet_debris_removed_and_body_kept(fixtures):
    source = (fixtures / "state-outlet-debris.txt").read_text(encoding="utf-8")
    doc = Pipeline().analyze_text(source)
    for d in DEBRIS:
        assert d not in doc.text, d
    for para in [
        "The smuggling networks on the northern coast have grown bolder over the past year.",
        "Officials in both capitals have said the routes are run by the same three families.",
        "Cooperation between the coast guards is the obvious answer.",
        "The ministers meet again next month, and nobody expects much from the talks.",
    ]:
        assert para in doc.text
    assert doc.title == "Why Neighbouring Powers Must Unite Against the Smuggling Networks Now"
    assert doc.outlet_name == "Northwind Radio International"
    assert doc.outlet == "Northwind Radio International"


def test_blog_byline_and_source_url_become_metadata(fixtures):
    source = (fixtures / "blog-republished.txt").read_text(encoding="utf-8")
    doc = Pipeline().analyze_text(source)
    assert doc.author == "Petra Kovalenko"
    assert doc.published == "2017-06-03T09:45"
    assert doc.outlet == "example-review.org"
    assert doc.url.startswith("http://www.example-review.org/news/2017/06/03/")
    assert "KOVALENKO" not in doc.text and "No comments" not in doc.text and "Post a Comment" not in doc.text
    assert body_lines(doc.text, 1) == body_lines(source, 2)[:4]


def test_offsets_map_back_to_the_input(fixtures):
    source = (fixtures / "state-outlet-debris.txt").read_text(encoding="utf-8")
    res = clean_text(source)
    assert res.removed
    for i, ch in enumerate(res.text):
        assert source[res.source_map.to_source(i)] == ch
    for r in res.removed:
        assert source[r.start : r.end].strip()


def test_clean_text_is_left_exactly_as_given():
    text = "A headline\n\nFirst sentence here.\n\n\nSecond paragraph, after two blank lines.\n  Indented line.\n"
    res = clean_text(text)
    assert res.text == text.rstrip()
    assert not res.removed
    assert all(res.source_map.to_source(i) == i for i in range(len(res.text)))


def test_body_line_that_mentions_comments_is_kept():
    text = "Title\n\nThe minister made no comments: she left the room.\nSubscribe to the idea that growth returns."
    res = clean_text(text)
    assert res.text == text


def test_real_examples_metadata_and_debris():
    sputnik = (need(EXAMPLES) / "sputnik-2016-nice-attack.txt").read_text(encoding="utf-8")
    blog = (EXAMPLES / "blog-2015-paris-bombing.txt").read_text(encoding="utf-8")
    p = Pipeline()
    a, b = p.analyze_text(sputnik), p.analyze_text(blog)
    assert a.title.startswith("Why US and Russia Should Fight")
    assert a.outlet == "sputniknews.com"
    for d in ("mediabank", "Subscribe", "Newsfeed", "log in or register", "loader", "Chats", "Заголовок"):
        assert d not in a.text
    assert b.author == "Andrei Akulov" and b.published == "2015-11-14T22:00"
    assert b.outlet == "strategic-culture.org"
    assert "No comments" not in b.text and "Post a Comment" not in b.text
    # every body paragraph kept: each long source line that is not debris is in the text
    for src, doc in ((sputnik, a), (blog, b)):
        removed = {src[r.start : r.end] for r in doc.removed}
        for ln in src.splitlines():
            if len(ln.split()) > 12 and ln not in removed:
                assert ln.strip() in doc.text


def test_ptc_articles_keep_offsets():
    folder = need(DATA / "ptc" / "train-articles")
    files = sorted(folder.glob("article*.txt"))
    unchanged = 0
    for f in files:
        src = f.read_text(encoding="utf-8")
        res = clean_text(src)
        for i in range(0, len(res.text), 97):
            assert src[res.source_map.to_source(i)] == res.text[i]
        if not res.removed:
            assert res.text == src.rstrip()
            unchanged += 1
    # the PTC texts were scraped too; a minority carry debris lines ("Advertisement", credits)
    assert unchanged >= 0.65 * len(files)
