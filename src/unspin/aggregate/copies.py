"""Republished copies: near-duplicate detection with MinHash LSH, incremental as documents arrive.

A copy of an article usually arrives with changes: a new headline, debris around it, paragraphs
dropped or reordered. Word 5-gram shingles survive all of these (only the shingles that straddle a
change are lost), so the share of shingles two texts have in common measures how much text they
share. MinHash signatures estimate it in constant memory per document, and LSH finds the candidates
without comparing every pair.

Similarity reported is *containment*: the estimated share of the shorter text's shingles found in
the longer one (1.0 for a verbatim copy, 0.8 for a copy that kept 80% of the article).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from datasketch import MinHash, MinHashLSH

_WORD = re.compile(r"\w+")
NUM_PERM = 64
SHINGLE = 5
# LSH finds pairs above this estimated Jaccard similarity (a copy keeping 80% of an article with some
# debris added is around 0.7); the containment check below then decides.
LSH_THRESHOLD = 0.45
MIN_CONTAINMENT = 0.6
MIN_SHINGLES = 8
# The MinHash permutation scheme, named so that stored signatures stay comparable across versions.
SCHEME = "affine32"  # texts shorter than this many shingles are too short to call copies


def _word_hashes(text: str) -> np.ndarray:
    return np.fromiter((zlib.crc32(w.lower().encode()) for w in _WORD.findall(text)), dtype=np.uint64)


def shingle_hashes(text: str, size: int = SHINGLE) -> np.ndarray:
    """Distinct 32-bit hashes of the text's word `size`-grams (stable across processes and runs)."""
    words = _word_hashes(text)
    if len(words) == 0:
        return words
    if len(words) < size:
        size = len(words)
    n = len(words) - size + 1
    h = np.zeros(n, dtype=np.uint64)
    for k in range(size):  # polynomial rolling combination of the word hashes, mod 2**32
        h = (h * np.uint64(1_000_003) + words[k : k + n]) & np.uint64(0xFFFFFFFF)
    return np.unique(h)


def shingles(text: str, size: int = SHINGLE) -> set[int]:
    return set(shingle_hashes(text, size).tolist())


def _identity(x: int) -> int:
    return x


def signature(text: str, num_perm: int = NUM_PERM) -> tuple[MinHash, int]:
    """MinHash of the text's shingles and the number of distinct shingles."""
    hashes = shingle_hashes(text)
    m = MinHash(num_perm=num_perm, hashfunc=_identity, scheme=SCHEME)
    if len(hashes):
        m.update_batch(hashes.tolist())
    return m, len(hashes)


@dataclass
class Member:
    key: str
    outlet: str | None = None
    published: str | None = None
    source: str | None = None
    order: int = 0


@dataclass
class CopyMatch:
    a: str
    b: str
    containment: float
    jaccard: float


@dataclass
class CopyGroup:
    """Documents that are copies of one another; `first` was published (or seen) first."""

    members: list[Member]
    similarity: dict[str, float] = field(default_factory=dict)  # key -> containment with the first

    @property
    def first(self) -> Member:
        return self.members[0]


def containment_from(jaccard: float, n_a: int, n_b: int) -> float:
    """Share of the smaller set inside the larger, from their Jaccard similarity and sizes."""
    if min(n_a, n_b) == 0:
        return 0.0
    inter = jaccard * (n_a + n_b) / (1.0 + jaccard)
    return float(min(1.0, inter / min(n_a, n_b)))


def copy_groups(
    links: Iterable[tuple[str, str]],
    members: dict[str, Member],
    signatures: dict[str, MinHash],
    sizes: dict[str, int],
) -> list[CopyGroup]:
    """The one copy grouper: the connected groups of `links` (pairs of keys found to be copies), each
    ordered by publication date (undated last, then the order seen), with every member's containment
    measured against the first; groups largest first."""
    parent: dict[str, str] = {}

    def find(k: str) -> str:
        parent.setdefault(k, k)
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for a, b in links:
        parent[find(a)] = find(b)
    by_root: dict[str, list[Member]] = {}
    for key in list(parent):
        by_root.setdefault(find(key), []).append(members[key])
    out = []
    for group in by_root.values():
        if len(group) < 2:
            continue
        group.sort(key=lambda m: (m.published is None, m.published or "", m.order))
        first = group[0]
        sims = {}
        for m in group[1:]:
            j = float(signatures[first.key].jaccard(signatures[m.key]))
            sims[m.key] = round(containment_from(j, sizes[first.key], sizes[m.key]), 4)
        out.append(CopyGroup(group, sims))
    out.sort(key=lambda g: (-len(g.members), g.first.order))
    return out


class CopyIndex:
    """Incremental index: `add` returns the earlier documents the new one copies (or is copied by)."""

    def __init__(
        self,
        *,
        num_perm: int = NUM_PERM,
        lsh_threshold: float = LSH_THRESHOLD,
        min_containment: float = MIN_CONTAINMENT,
    ) -> None:
        self.num_perm = num_perm
        self.min_containment = min_containment
        self.lsh = MinHashLSH(threshold=lsh_threshold, num_perm=num_perm)
        self.signatures: dict[str, MinHash] = {}
        self.sizes: dict[str, int] = {}
        self.members: dict[str, Member] = {}
        self.matches: list[CopyMatch] = []  # found since the last clear()
        self.links: list[tuple[str, str]] = []  # every pair found

    def __len__(self) -> int:
        return len(self.members)

    def __contains__(self, key: str) -> bool:
        return key in self.members

    def add(
        self,
        key: str,
        text: str | None = None,
        *,
        outlet: str | None = None,
        published: str | None = None,
        source: str | None = None,
        minhash: MinHash | None = None,
        size: int | None = None,
    ) -> list[CopyMatch]:
        """Index one document (by text, or by a stored signature and shingle count)."""
        if key in self.members:
            return []
        if minhash is None:
            if text is None:
                raise ValueError("add() needs the text or a stored signature")
            minhash, size = signature(text, self.num_perm)
        size = int(size or 0)
        self.members[key] = Member(key, outlet, published, source, order=len(self.members))
        self.signatures[key] = minhash
        self.sizes[key] = size
        found: list[CopyMatch] = []
        if size >= MIN_SHINGLES:
            for other in self.lsh.query(minhash):
                j = float(minhash.jaccard(self.signatures[other]))
                c = containment_from(j, size, self.sizes[other])
                if c >= self.min_containment:
                    found.append(CopyMatch(other, key, round(c, 4), round(j, 4)))
            self.lsh.insert(key, minhash)
        self.matches.extend(found)
        self.links.extend((m.a, m.b) for m in found)
        return found

    def groups(self) -> list[CopyGroup]:
        """Groups of two or more documents, each ordered by publication date (then order seen)."""
        return copy_groups(self.links, self.members, self.signatures, self.sizes)


def signature_bytes(m: MinHash) -> bytes:
    """Compact storage form of a signature (the hash values as little-endian uint32)."""
    return np.asarray(m.hashvalues, dtype=np.uint32).tobytes()


def signature_from_bytes(data: bytes, num_perm: int = NUM_PERM) -> MinHash:
    values = np.frombuffer(data, dtype=np.uint32).astype(np.uint64)
    return MinHash(num_perm=num_perm, hashvalues=values, hashfunc=_identity, scheme=SCHEME)
