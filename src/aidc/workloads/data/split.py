"""Train/validation/test assignment by a salted hash of a group key, so equal keys never straddle splits."""

from __future__ import annotations

import hashlib

SPLITS = ("train", "validation", "test")


def group_key(text: str) -> str:
    """What must not leak: the case- and space-normalised text (for pairs, the source side)."""
    return " ".join(text.lower().split())


def assign_split(key: str, *, validation: float, test: float, seed: int = 0) -> str:
    """A deterministic split for a key: the same key always lands in the same split."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64  # uniform in [0, 1)
    if u < test:
        return "test"
    if u < test + validation:
        return "validation"
    return "train"
