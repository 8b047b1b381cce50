"""The technique taxonomy the web shows: labels, names, colours, explanations, all from the one taxonomy."""

from __future__ import annotations

from unspin.formats.semeval import PTC_TECHNIQUES
from unspin.techniques.taxonomy import TECHNIQUES
from unspin.web import taxonomy as taxonomy_module


def test_every_technique_is_shown_with_its_own_colour_and_explanation() -> None:
    items = taxonomy_module.techniques()
    assert sorted(t["label"] for t in items) == sorted(PTC_TECHNIQUES)
    assert len({t["colour"] for t in items}) == 14
    assert all(t["definition"] and t["why"] and t["example"] for t in items)


def test_web_taxonomy_is_the_technique_taxonomy() -> None:
    items = taxonomy_module.techniques()
    assert [t["label"] for t in items] == [t.ptc_label for t in TECHNIQUES]
    for item, t in zip(items, TECHNIQUES, strict=True):
        assert (item["name"], item["colour"], item["definition"], item["why"], item["example"]) == (
            t.name,
            t.colour,
            t.definition,
            t.why_it_persuades,
            t.example,
        )
        assert taxonomy_module.describe(t.ptc_label) == item


def test_an_unknown_label_gets_a_readable_name_and_a_colour_no_technique_has() -> None:
    unknown = taxonomy_module.describe("Made_Up_Label")
    assert unknown["name"] == "Made Up Label" and unknown["definition"] is None
    assert unknown["colour"] not in {t.colour for t in TECHNIQUES}
