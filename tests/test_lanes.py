"""Many inputs through the pipeline: in lanes and on Dask workers, order kept, errors in their place."""

import threading
import time

import pytest

from unspin.document import Document
from unspin.errors import InputError
from unspin.ingest.sources import RawInput
from unspin.lanes import PipelineLoadError, analyse_many, lane_plan, run_in_lanes
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
    from unspin.segment.stage import SegmentStage

    original = SegmentStage.__call__

    def flaky(self, doc):
        if "day 1." in doc.text:
            raise RuntimeError("segmenter broke")
        return original(self, doc)

    monkeypatch.setattr(SegmentStage, "__call__", flaky)
    out = list(analyse_many(jobs(3), Settings(clean=False), STAGES, lanes=2))
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


def test_lane_plan_gives_one_input_every_core_and_several_one_core_each():
    one = [(RawInput(source="a.txt", content="One story.", kind="text"), {})]
    stream, settings, lanes = lane_plan(iter(one), Settings(threads=4))
    assert lanes == 1 and settings.threads == 4 and list(stream) == one
    many = jobs(3)  # three inputs, an InputError among them
    stream, settings, lanes = lane_plan(iter(many), Settings(threads=4))
    assert lanes == 4 and settings.threads == 1
    assert list(stream) == many  # the inputs looked at are put back, in order
    stream, settings, lanes = lane_plan(iter(many), Settings(threads=1))
    assert lanes == 1 and list(stream) == many


def test_lanes_give_the_same_documents_as_one_at_a_time():
    stages = ["language", "segment", "techniques"]
    texts = [
        "Traitors and cowards run this country into the ground, and every patriot knows it.",
        "The council met on Tuesday. It voted to close the bridge for two weeks.",
        "They want you to believe the lies of a corrupt elite. Wake up before it is too late!",
        "Only a fool would trust these criminals with our children's future.",
    ]
    items = [(RawInput(source=f"t{i}.txt", content=t, kind="text"), {"i": i}) for i, t in enumerate(texts)]
    items.insert(2, InputError("bad.txt", "binary file"))
    one = list(analyse_many(items, Settings(), stages, lanes=1))
    two = list(analyse_many(items, Settings(), stages, lanes=2))
    assert [o.source for o in two] == ["t0.txt", "t1.txt", "bad.txt", "t2.txt", "t3.txt"]
    assert isinstance(two[2], InputError)
    docs = [(a, b) for a, b in zip(one, two, strict=True) if isinstance(a, Document)]
    assert any(a.spans for a, _ in docs)
    for a, b in docs:
        assert b.meta == a.meta and b.sentences == a.sentences
        assert [(s.technique, s.start, s.end) for s in b.spans] == [(s.technique, s.start, s.end) for s in a.spans]
        assert [s.score for s in b.spans] == pytest.approx([s.score for s in a.spans], abs=1e-3)


def test_a_consumer_that_stops_early_leaves_no_lane_running():
    import threading

    out = analyse_many(jobs(9), Settings(), STAGES, lanes=2)
    first = next(out)
    out.close()
    assert first.source == "s0.txt"
    assert not [t for t in threading.enumerate() if t.name.startswith("unspin-lane")]


def test_lanes_keep_input_order_and_read_inputs_only_a_little_ahead():
    read: list[int] = []
    threads: set[str] = set()

    def items():
        for i in range(20):
            read.append(i)
            yield i

    def slow_square(i: int) -> int:
        threads.add(threading.current_thread().name)
        time.sleep(0.02 if i % 3 == 0 else 0.001)  # later items finish first
        return i * i

    results = run_in_lanes(slow_square, items(), lanes=3)
    assert next(results) == 0
    assert len(read) <= 1 + 2 * 3  # the one returned and at most two per lane ahead of it
    assert list(results) == [i * i for i in range(1, 20)]
    assert len(threads) > 1 and all(t.startswith("unspin-lane") for t in threads)


def test_a_failure_in_a_lane_comes_out_at_its_item():
    def fail_on_three(i: int) -> int:
        if i == 3:
            raise ValueError("three")
        return i

    results = run_in_lanes(fail_on_three, range(10), lanes=2)
    assert [next(results) for _ in range(3)] == [0, 1, 2]
    with pytest.raises(ValueError, match="three"):
        next(results)
