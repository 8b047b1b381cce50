"""The technique taxonomy the web shows: labels, names, colours, explanations."""

from __future__ import annotations

import sys
import types

import pytest

from unspin.formats.semeval import PTC_TECHNIQUES
from unspin.web import taxonomy as taxonomy_module


def test_every_technique_is_shown_with_its_own_colour_and_explanation() -> None:
    taxonomy_module._cached.cache_clear()
    items = taxonomy_module.techniques()
    assert sorted(t["label"] for t in items) == sorted(PTC_TECHNIQUES)
    assert len({t["colour"] for t in items}) == 14
    assert all(t["definition"] and t["why"] and t["example"] for t in items)


def test_taxonomy_reads_the_technique_module_when_present(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType(taxonomy_module.TAXONOMY_MODULE)
    fake.TECHNIQUES = {  # type: ignore[attr-defined]
        "Loaded_Language": {"display_name": "Loaded language", "color": "#123456", "definition": "Words with heat."},
        "Doubt": {"definition": "Questioning credibility.", "why_it_persuades": "It erodes trust.", "examples": ["?"]},
    }
    monkeypatch.setitem(sys.modules, taxonomy_module.TAXONOMY_MODULE, fake)
    taxonomy_module._cached.cache_clear()
    try:
        items = {t["label"]: t for t in taxonomy_module.techniques()}
        assert items["Loaded_Language"]["name"] == "Loaded language"
        assert items["Loaded_Language"]["colour"] == "#123456"
        assert items["Doubt"]["why"] == "It erodes trust." and items["Doubt"]["example"] == "?"
        assert items["Doubt"]["colour"] == "#76b7b2"  # from the built-in palette
    finally:
        taxonomy_module._cached.cache_clear()
