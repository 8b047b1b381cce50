"""Republished copies: MinHash LSH groups copies, keeps distinct articles apart, names the first."""

import random

from unspin.aggregate.copies import CopyIndex, shingles, signature, signature_bytes, signature_from_bytes

WORDS = (
    "port ministry harvest council budget river grain convoy border talks summit energy tariff vote court "
    "election coalition protest drought inflation railway pipeline treaty sanction subsidy strike refinery"
).split()


def article(seed: int, paragraphs: int = 12) -> str:
    rng = random.Random(seed)
    paras = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(25, 45))) + "." for _ in range(paragraphs)]
    return f"Headline number {seed}\n\n" + "\n".join(paras)


def test_copies_with_changes_are_grouped_and_first_is_earliest():
    original = article(1)
    lines = original.split("\n")
    copy_debris = "\n".join(["A new headline for the same story", ""] + lines[2:6] + ["Subscribe"] + lines[6:])
    copy_dropped = "\n".join(lines[:3] + lines[4:])  # one paragraph of twelve dropped
    copy_reordered = "\n".join(lines[:2] + list(reversed(lines[2:])))
    index = CopyIndex()
    index.add("blog-copy", copy_debris, outlet="blog.example", published="2020-03-05")
    index.add("original", original, outlet="agency.example", published="2020-03-01")
    index.add("other-1", article(2), outlet="agency.example", published="2020-03-02")
    index.add("mirror", copy_dropped, outlet="mirror.example", published="2020-03-04")
    index.add("other-2", article(3), outlet="news.example", published="2020-03-03")
    index.add("reposted", copy_reordered, outlet="repost.example")
    groups = index.groups()
    assert len(groups) == 1
    group = groups[0]
    assert {m.key for m in group.members} == {"original", "blog-copy", "mirror", "reposted"}
    assert group.first.key == "original" and group.first.outlet == "agency.example"
    assert all(0.6 <= s <= 1.0 for s in group.similarity.values())


def test_adding_the_same_key_twice_changes_nothing():
    index = CopyIndex()
    index.add("a", article(5))
    assert index.add("a", article(5)) == []
    assert len(index) == 1 and index.groups() == []


def test_signature_round_trip_and_stability():
    m, n = signature(article(7))
    again = signature_from_bytes(signature_bytes(m))
    assert again.jaccard(m) == 1.0
    m2, n2 = signature(article(7))
    assert n2 == n and m2.jaccard(m) == 1.0
    assert len(shingles("too short")) == 1
