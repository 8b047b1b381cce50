"""Many inputs through the pipeline: in process and on Dask workers, order kept, errors in their place."""

import pytest

from unspin.document import Document
from unspin.errors import InputError
from unspin.ingest.sources import RawInput
from unspin.parallel import PipelineLoadError, analyse_many
from unspin.settings import Settings

STAGES = ["language", "segment"]


def jobs(n: int) -> list:
    out: list = []
    for i in range(n):
        text = f"Story {i}.\n\nThe council met on day {i}. It voted to close the bridge for {i + 2} weeks."
        out.append((RawInput(source=f"s{i}.txt", content=text, kind="text"), {"input_hash": f"h{i}"}))
        if i == 2:
            out.append(InputError("bad.txt", "binary file"))
    out.append((RawInput(source="blank.txt", content="   \n  ", kind="text"), {}))
    return out


def test_in_process_keeps_order_meta_and_reports_bad_inputs_in_place():
    out = list(analyse_many(jobs(5), Settings(), STAGES))
    assert [o.source for o in out] == ["s0.txt", "s1.txt", "s2.txt", "bad.txt", "s3.txt", "s4.txt", "blank.txt"]
    assert isinstance(out[3], InputError) and out[3].reason == "binary file"
    assert isinstance(out[-1], InputError) and "no article text" in out[-1].reason
    docs = [o for o in out if isinstance(o, Document)]
    assert [d.meta["input_hash"] for d in docs] == [f"h{i}" for i in range(5)]
    assert all(d.sentences for d in docs)


def test_a_failure_inside_one_document_loses_nothing_else(monkeypatch):
    from unspin.pipeline import SegmentStage

    original = SegmentStage.__call__

    def flaky(self, doc):
        if "day 1." in doc.text:
            raise RuntimeError("segmenter broke")
        return original(self, doc)

    monkeypatch.setattr(SegmentStage, "__call__", flaky)
    out = list(analyse_many(jobs(3), Settings(clean=False), STAGES))
    assert isinstance(out[1], InputError)
    assert out[1].source == "s1.txt" and "RuntimeError: segmenter broke" in out[1].reason
    assert [type(o).__name__ for o in out] == ["Document", "InputError", "Document", "InputError", "InputError"]


def test_a_model_that_cannot_load_is_one_clear_error():
    with pytest.raises(PipelineLoadError, match="cannot load the analysis models"):
        list(analyse_many(jobs(1), Settings(model="no-such-model"), ["techniques"]))


def test_dask_workers_match_in_process_and_keep_input_order():
    pytest.importorskip("dask.distributed")
    local = list(analyse_many(jobs(9), Settings(), STAGES))
    dist = list(analyse_many(jobs(9), Settings(), STAGES, workers=2, batch_size=2))
    docs = lambda items: [(d.source, d.text, d.sentences, d.meta) for d in items if isinstance(d, Document)]  # noqa: E731
    assert docs(dist) == docs(local)
    errors = lambda items: sorted((e.source, e.reason) for e in items if isinstance(e, InputError))  # noqa: E731
    assert errors(dist) == errors(local)
    unordered = list(analyse_many(jobs(9), Settings(), STAGES, workers=2, batch_size=2, ordered=False))
    assert sorted(docs(unordered)) == sorted(docs(local))
