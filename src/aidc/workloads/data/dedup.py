"""Exact and near-duplicate removal: a hash of the normalised text, then MinHash signatures with LSH banding.

Design note (MinHash/LSH): a text becomes the set of its character n-grams ("shingles"), each hashed
to 32 bits with CRC32. For `num_perm` random affine maps h_i(x) = (a_i x + b_i) mod p (p the Mersenne
prime 2^61-1) the signature keeps min over shingles of h_i; the fraction of equal positions of two
signatures estimates the Jaccard similarity of the shingle sets. LSH cuts the signature into `bands`
bands of r rows; texts that agree on a whole band share a bucket and become candidates, which
finds pairs with similarity s with probability 1 - (1 - s^r)^b (an S-curve around (1/b)^(1/r)).
Candidates are confirmed by the estimated Jaccard >= threshold and grouped with union-find; the
first record of each group (input order) is kept, so the result is deterministic.
"""

from __future__ import annotations

import hashlib
import zlib
from collections import defaultdict

import numpy as np

_PRIME = (1 << 61) - 1
_MAX32 = (1 << 32) - 1


def exact_key(text: str) -> str:
    """Case- and whitespace-insensitive fingerprint for exact duplicates."""
    return hashlib.sha1(" ".join(text.lower().split()).encode()).hexdigest()


def shingles(text: str, k: int) -> np.ndarray:
    """CRC32 of every character k-gram of the lower-cased, space-normalised text (the text itself if shorter)."""
    s = " ".join(text.lower().split())
    grams = {s[i:i + k] for i in range(max(1, len(s) - k + 1))}
    return np.fromiter((zlib.crc32(g.encode()) for g in grams), dtype=np.uint64, count=len(grams))


class MinHasher:
    """Signatures of `num_perm` affine permutations, reproducible from a seed."""

    def __init__(self, num_perm: int, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.a = rng.integers(1, _MAX32, size=num_perm, dtype=np.uint64)
        self.b = rng.integers(0, _MAX32, size=num_perm, dtype=np.uint64)

    def signature(self, hashes: np.ndarray) -> np.ndarray:
        # (num_perm, n_shingles); a, x < 2^32 so a*x + b < 2^64 fits uint64 before the mod
        values = (self.a[:, None] * hashes[None, :] + self.b[:, None]) % np.uint64(_PRIME)
        return values.min(axis=1)


def _find(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def near_duplicates(texts: list[str], *, threshold: float, num_perm: int, bands: int,
                    shingle_chars: int, seed: int = 0) -> dict[int, int]:
    """Index of each near-duplicate -> index of the earlier record it duplicates (kept ones are absent)."""
    hasher = MinHasher(num_perm, seed)
    sigs = np.stack([hasher.signature(shingles(t, shingle_chars)) for t in texts]) if texts else np.zeros((0, num_perm))
    rows = num_perm // bands
    parent = list(range(len(texts)))
    for band in range(bands):
        buckets: dict[bytes, list[int]] = defaultdict(list)
        for i in range(len(texts)):
            buckets[sigs[i, band * rows:(band + 1) * rows].tobytes()].append(i)
        for members in buckets.values():
            for j in members[1:]:
                i = members[0]
                if float(np.mean(sigs[i] == sigs[j])) >= threshold:
                    ri, rj = _find(parent, i), _find(parent, j)
                    parent[max(ri, rj)] = min(ri, rj)
    return {i: _find(parent, i) for i in range(len(texts)) if _find(parent, i) != i}
