"""Sharded token files (.npy) with a manifest of sizes and sha256 checksums, and their verification.

A stream is one side of the data (`text` for lm; `src` and `tgt` for translation). Each shard of a
stream is two arrays: `tokens` (all records concatenated, uint16 or uint32) and `offsets` (int64,
records + 1 boundaries), so records can be sliced back out without separators.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from aidc.core.errors import AidcError

MANIFEST = "manifest.json"
FORMAT = "aidc-shards/1"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def token_dtype(vocab_size: int) -> np.dtype:
    return np.dtype(np.uint16 if vocab_size <= 65536 else np.uint32)


def _save(path: Path, array: np.ndarray) -> dict[str, Any]:
    np.save(path, array)
    return {"file": path.name, "bytes": path.stat().st_size, "sha256": sha256_file(path)}


def _cut(lengths: list[int], tokens_per_shard: int) -> list[tuple[int, int]]:
    """Record ranges [a, b) whose token counts stay under the shard size (at least one record each)."""
    ranges, start, count = [], 0, 0
    for i, n in enumerate(lengths):
        if count and count + n > tokens_per_shard:
            ranges.append((start, i))
            start, count = i, 0
        count += n
    if start < len(lengths) or not ranges:
        ranges.append((start, len(lengths)))
    return ranges


def write_split(out_dir: Path, split: str, streams: dict[str, list[list[int]]], *,
                tokens_per_shard: int, dtype: np.dtype) -> dict[str, Any]:
    """Write every stream of one split in aligned shards; returns the split's manifest entry."""
    first = next(iter(streams.values()))
    ranges = _cut([sum(len(s[i]) for s in streams.values()) for i in range(len(first))], tokens_per_shard)
    shards = []
    for k, (a, b) in enumerate(ranges):
        entry: dict[str, Any] = {"records": b - a, "streams": {}}
        for name, records in streams.items():
            part = records[a:b]
            offsets = np.cumsum([0] + [len(r) for r in part], dtype=np.int64)
            flat = np.fromiter((t for r in part for t in r), dtype=dtype, count=int(offsets[-1]))
            stem = out_dir / f"{split}-{k:05d}.{name}"
            entry["streams"][name] = {"tokens": _save(stem.with_name(stem.name + ".tokens.npy"), flat),
                                      "offsets": _save(stem.with_name(stem.name + ".offsets.npy"), offsets)}
        shards.append(entry)
    tokens = {name: int(sum(len(r) for r in recs)) for name, recs in streams.items()}
    return {"records": len(first), "tokens": tokens, "shards": shards}


def load_manifest(data_dir: Path) -> dict[str, Any]:
    path = Path(data_dir) / MANIFEST
    if not path.is_file():
        raise AidcError(f"no {MANIFEST} in {data_dir}: run `aidc data prepare` first")
    manifest = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        raise AidcError(f"{path}: unknown format {manifest.get('format')!r}, expected {FORMAT}")
    return manifest


def verify(data_dir: Path) -> list[str]:
    """Problems with the shards of a prepared folder (missing files, wrong sizes or checksums); empty if sound."""
    manifest, problems = load_manifest(data_dir), []
    for split, entry in manifest["splits"].items():
        for shard in entry["shards"]:
            for stream in shard["streams"].values():
                for meta in stream.values():
                    path = Path(data_dir) / meta["file"]
                    if not path.is_file():
                        problems.append(f"{split}: missing {meta['file']}")
                    elif sha256_file(path) != meta["sha256"]:
                        problems.append(f"{split}: checksum mismatch in {meta['file']}")
    return problems


def load_records(data_dir: Path, split: str, stream: str) -> list[np.ndarray]:
    """Every record of one stream of one split, as arrays of token ids."""
    manifest = load_manifest(data_dir)
    if split not in manifest["splits"]:
        raise AidcError(f"{data_dir}: no split {split!r}")
    out: list[np.ndarray] = []
    for shard in manifest["splits"][split]["shards"]:
        files = shard["streams"][stream]
        tokens = np.load(Path(data_dir) / files["tokens"]["file"])
        offsets = np.load(Path(data_dir) / files["offsets"]["file"])
        out.extend(tokens[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1))
    return out
