"""The pipeline: stages by name, run in order, each adding to the Document."""

from __future__ import annotations

import pytest

from unspin import pipeline as pipeline_module
from unspin.document import Document
from unspin.pipeline import Pipeline, register_stage
from unspin.settings import Settings

TEXT = "Bridge Closed\n\nThe council met on Monday. It voted to close the bridge for two weeks."


class CountWords:
    name = "words"

    def __init__(self, settings: Settings) -> None:
        self.built_with = settings

    def __call__(self, doc: Document) -> Document:
        doc.meta["words"] = len(doc.text.split())
        doc.meta["sentences_seen"] = len(doc.sentences)
        return doc


def test_a_registered_stage_runs_in_order_and_is_named_in_the_document(monkeypatch):
    monkeypatch.setattr(pipeline_module, "_FACTORIES", dict(pipeline_module._FACTORIES))  # registered here only
    register_stage("words", CountWords)
    settings = Settings(clean=False)
    pipeline = Pipeline(["segment", "words"], settings)
    assert pipeline.stages[1].built_with is settings  # built once, from the pipeline's settings
    doc = pipeline.analyze_text(TEXT)
    assert doc.stages == ["segment", "words"]
    assert doc.meta["words"] == 16 and doc.meta["sentences_seen"] == 3  # it saw what `segment` added


def test_an_unknown_stage_is_refused_by_name():
    known = "language, segment, techniques, claims, framing, custom_narratives"
    with pytest.raises(ValueError, match=f"unknown stage 'roles'; known: {known}$"):
        Pipeline(["segment", "roles"])


def test_the_language_stage_warns_on_text_the_models_do_not_cover():
    doc = Pipeline(["language"]).analyze_text(
        "Les ministres se sont réunis lundi à Paris pour discuter du budget de l'année prochaine."
    )
    assert doc.language == "fr" and doc.stages == ["language"]
    assert any("language 'fr'" in w for w in doc.warnings)


def test_the_readme_example_shows_every_layer_of_a_persuasive_article():
    """`unspin analyze examples/` (the README's first command) must show what unspin is for: the invented
    opinion piece in examples/ gets surer technique spans, its figures come out as claims, and it is read
    as serving a climate narrative; offsets index the text exactly."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "examples" / "green-levy-opinion.txt"
    doc = Pipeline().analyze_text(path.read_text(encoding="utf-8"), source=str(path))
    assert len(doc.spans) >= 3, [doc.text[s.start : s.end] for s in doc.spans]
    assert all(doc.text[s.start : s.end].strip() for s in doc.spans)
    claimed = [doc.text[c["start"] : c["end"]] for c in doc.claims]
    assert [c for c in claimed if "38 percent" in c], claimed
    assert [n for n in doc.narratives if n["narrative"].startswith("CC:")], doc.narratives
