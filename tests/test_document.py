"""The Document model: JSON round trip and the offset map back to the input."""

from hypothesis import given
from hypothesis import strategies as st

from unspin.clean.debris import clean_text
from unspin.document import Document, OffsetMap, Removal, Segment, Span


def test_offset_map_runs_and_ends():
    m = OffsetMap([(0, 0, 5), (5, 10, 3)])
    assert [m.to_source(i) for i in range(8)] == [0, 1, 2, 3, 4, 10, 11, 12]
    assert m.span_to_source(3, 7) == (3, 12)
    assert m.span_to_source(0, 8) == (0, 13)


def test_document_json_round_trip():
    doc = Document(
        text="Title\n\nBody text here.",
        source="a.txt",
        source_map=OffsetMap.identity(22),
        title="Title",
        outlet="example.org",
        sentences=[Segment(0, 5), Segment(7, 22)],
        spans=[Span(7, 11, "Loaded_Language", 0.8)],
        removed=[Removal(30, 40, "interface text")],
    )
    data = doc.to_dict()
    for key in ("title", "text", "spans", "outlet", "author", "published", "language", "claims"):
        assert key in data
    again = Document.from_dict(data)
    assert again.to_dict() == data


def test_a_skipped_stage_is_null_not_empty_and_survives_the_round_trip():
    doc = Document(text="Body text here.", spans=[Span(0, 4, "Loaded_Language", 0.8)], stages=["segment", "techniques"])
    data = doc.to_dict()
    assert data["claims"] is None and data["spans"] == [Span(0, 4, "Loaded_Language", 0.8).to_dict()]
    assert data["stages"] == ["segment", "techniques"]
    again = Document.from_dict(data)
    assert again.claims == [] and not again.ran("claims") and again.ran("techniques")
    assert again.to_dict() == data


line = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), max_size=60)
debris = st.sampled_from(["Subscribe", "Newsfeed", "log in or register", "No comments:", "Post a Comment", "Chats"])


@given(st.lists(st.one_of(line, debris), max_size=25), st.sampled_from(["\n", "\r\n"]))
def test_every_clean_character_maps_to_the_same_input_character(lines, newline):
    source = newline.join(lines)
    result = clean_text(source)
    for i, ch in enumerate(result.text):
        assert source[result.source_map.to_source(i)] == ch
    for r in result.removed:
        assert 0 <= r.start <= r.end <= len(source)
