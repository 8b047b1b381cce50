"""Stories: the same event told by different outlets groups; other events and distant dates do not."""

import numpy as np
import pytest

from unspin.aggregate.stories import group_stories, lead_text
from unspin.models.base import ModelFilesError


@pytest.fixture(scope="module")
def encoder():
    from unspin.models.sentence_encoder import SentenceEncoder

    try:
        return SentenceEncoder.load(96)
    except ModuleNotFoundError as err:  # the base-model package is part of the setup
        pytest.skip(str(err))
    except ModelFilesError as err:
        pytest.skip(str(err))


def test_encoder_vectors_are_unit_length_and_meaningful(encoder):
    v = encoder.encode(["The port strike entered its third day.", "Dock workers kept striking at the port.",
                        "The orchestra played Brahms on Sunday."])  # fmt: skip
    assert v.shape == (3, 384)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.3


def test_same_event_groups_within_the_window(encoder):
    texts = [
        lead_text("Port strike halts grain exports for a third day",
                  "Dock workers at the southern port walked out again on Tuesday, leaving grain ships idle."),
        lead_text("Dockers strike again at southern harbour as wage talks fail",
                  "Workers at the southern port stopped work for the third day; grain carriers wait at anchor."),
        lead_text("Council approves city budget with transport boost",
                  "The city council approved a budget on Monday that raises spending on buses and trams."),
        lead_text("Port strike halts grain exports",
                  "Dock workers at the southern port walked out, leaving grain ships idle."),
    ]  # fmt: skip
    vectors = encoder.encode(texts)
    stories = group_stories(vectors, ["2022-05-03", "2022-05-04", "2022-05-03", "2022-07-20"])
    assert len(stories) == 1
    assert stories[0].members == [0, 1]
