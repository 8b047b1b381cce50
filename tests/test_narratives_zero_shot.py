"""The zero-shot measurement of custom narratives (bench/narratives_zero_shot.py): the taxonomy it writes is a
narratives file unspin accepts, and its labels follow the task's conventions."""

import sys

import numpy as np
from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
from narratives_zero_shot import decode, taxonomy_file  # noqa: E402

from unspin.framing.custom import read_custom_narratives  # noqa: E402
from unspin.framing.taxonomy import NARRATIVE_TREE, OTHER  # noqa: E402


def test_taxonomy_file_has_one_entry_per_label_and_reads_as_a_narratives_file(tmp_path):
    text, entries = taxonomy_file()
    path = tmp_path / "taxonomy.toml"
    path.write_text(text, encoding="utf-8")
    narratives = read_custom_narratives(path)
    expected = sum(1 + sum(s != OTHER for s in subs) for n, subs in NARRATIVE_TREE.items() if n != OTHER)
    assert len(narratives) == len(entries) == expected
    names = [n.name for n in narratives]
    assert names == [n if s is None else f"{n}: {s}" for n, s in entries]
    assert all(not name.endswith(": " + OTHER) and name != OTHER for name in names)
    assert all(len(n.examples) == 1 and n.description for n in narratives)


def test_decode_adds_parents_catch_alls_and_other():
    _, entries = taxonomy_file()
    idx = {(n, s): j for j, (n, s) in enumerate(entries)}
    narr = "URW: Discrediting Ukraine"
    sub = next(s for s in NARRATIVE_TREE[narr] if s != OTHER)
    other_narr = next(n for n in NARRATIVE_TREE if n.startswith("CC:") and OTHER in NARRATIVE_TREE[n])
    scores = np.zeros(len(entries))
    nothing = decode(scores, entries, 0.5)
    assert (nothing.narratives, nothing.subnarratives) == ((OTHER,), (OTHER,))
    scores[idx[(narr, sub)]] = 0.9  # a subnarrative alone brings its narrative
    scores[idx[(other_narr, None)]] = 0.7  # a narrative alone gets its catch-all
    got = decode(scores, entries, 0.5)
    assert got.narratives == tuple(sorted([narr, other_narr]))
    assert got.subnarratives == tuple(sorted([f"{narr}: {sub}", f"{other_narr}: {OTHER}"]))
    assert decode(scores, entries, 0.95).narratives == (OTHER,)
