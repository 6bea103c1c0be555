"""Trace readers: Philly CSV, Alibaba PAI-2023 pods, and aidc's own CSV/JSONL job format.

The aidc format (also what the control plane exports) is one job per row / JSON line:

    job_id, submit_s, duration_s, gpus            required (seconds from any origin; gpus >= 0)
    tenant, gpu_milli, gpu_models, priority,      optional (gpu_milli: thousandths of a GPU per GPU,
    user, name, estimate_s                        default 1000; gpu_models: '|'-separated allowed models)

Every reader returns a `Trace` sorted by submit time with t=0 at the first job, and reports a bad
row as "FILE:LINE: column 'x': what is wrong" (a `TraceError`, exit code 2 in the CLI).
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import math
import zlib
from pathlib import Path
from typing import Callable, Iterator

from aidc.core.errors import AidcError
from aidc.sim.jobs import SimJob, Trace

FORMATS = ("philly", "pai2023", "aidc", "auto")
MAX_TIME_S = 1e10  # seconds: durations up to 317 years, epoch times up to the year 2286 (milliseconds are refused)
MAX_JOB_GPUS = 1_000_000  # more GPUs than any cluster has: a broken row, not a job


class TraceError(AidcError):
    """A trace row that cannot be read; the message names the file, the line and the column."""


def _open(path: Path) -> io.TextIOBase:
    if not path.exists():
        raise FileNotFoundError(2, "no such file", str(path))
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _num(src: str, line: int, col: str, text: str | None, cast: Callable = float, *, minimum: float | None = 0):
    if text is None or text == "":
        raise TraceError(f"{src}:{line}: column {col!r}: missing value")
    try:
        number = float(text)
    except (TypeError, ValueError):
        raise TraceError(f"{src}:{line}: column {col!r}: expected a number, got {text[:40]!r}") from None
    if not math.isfinite(number):
        raise TraceError(f"{src}:{line}: column {col!r}: must be a finite number, got {text[:40]!r}")
    limit = MAX_JOB_GPUS if cast is int else MAX_TIME_S
    if abs(number) > limit:
        hint = " (milliseconds? times are in seconds)" if cast is not int else ""
        raise TraceError(f"{src}:{line}: column {col!r}: at most {limit:g}, got {text[:40]!r}{hint}")
    if cast is int and number != int(number):
        raise TraceError(f"{src}:{line}: column {col!r}: expected a whole number, got {text[:40]!r}")
    value = cast(number)
    if minimum is not None and value < minimum:
        raise TraceError(f"{src}:{line}: column {col!r}: must be >= {minimum:g}, got {text[:40]!r}")
    return value


def _text_lines(fh: io.TextIOBase, path: Path) -> Iterator[str]:
    """The file's lines; a NUL byte (a binary file that happens to decode) is an error naming its line."""
    for n, line in enumerate(fh, 1):
        if "\0" in line:
            raise TraceError(f"{path}:{n}: not a text file (a NUL byte; expected UTF-8 CSV or JSON lines)")
        yield line


def _rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    with _open(path) as fh:
        reader = csv.DictReader(_text_lines(fh, path))
        with _text(path, lambda: reader.line_num + 1):
            fields = reader.fieldnames or []
            missing = [c for c in required if c not in fields]
            if missing:
                raise TraceError(f"{path}:1: missing column(s) {', '.join(map(repr, missing))}; header is "
                                 f"{[f[:40] for f in fields[:20]]}")
            for row in reader:
                if None in row:  # more cells than the header has columns
                    raise TraceError(f"{path}:{reader.line_num}: {len(row[None])} more value(s) than the header's "
                                     f"{len(fields)} columns")
                yield reader.line_num, row


class _text:
    """Turns a decoding or csv error while reading into a TraceError naming the file and line."""

    def __init__(self, path: Path, line: Callable[[], int]) -> None:
        self.path, self.line = path, line

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, tb) -> bool:  # noqa: ANN001
        if isinstance(exc, UnicodeDecodeError):
            raise TraceError(f"{self.path}:{self.line()}: not a text file (expected UTF-8 CSV or JSON lines)") from None
        if isinstance(exc, csv.Error):
            raise TraceError(f"{self.path}:{self.line()}: malformed CSV: {exc}") from None
        if isinstance(exc, (gzip.BadGzipFile, zlib.error)) or (isinstance(exc, EOFError) and self.path.suffix == ".gz"):
            raise TraceError(f"{self.path}: not a valid gzip file ({exc})") from None
        if isinstance(exc, (EOFError, OSError)) and not isinstance(exc, FileNotFoundError):
            raise TraceError(f"{self.path}: cannot read: {exc}") from None
        return False


def _finish(jobs: list[SimJob], source: str, origin: str) -> Trace:
    jobs.sort(key=lambda j: j.submit_s)  # stable: ties keep file order
    t0 = jobs[0].submit_s if jobs else 0.0
    for i, j in enumerate(jobs):
        j.jid, j.submit_s = i, j.submit_s - t0
        j.reset()
    tenants = sorted({j.tenant for j in jobs if j.tenant is not None})
    return Trace(jobs, source, origin, tenants)


def _skip(bad: list[str] | None, exc: TraceError) -> None:
    """A row that cannot be used: an error, or with skip_bad_rows a recorded skip."""
    if bad is None:
        raise exc
    bad.append(str(exc))


def read_philly(path: str | Path, bad: list[str] | None = None) -> Trace:
    """Philly job table (timestamp,duration,num_gpus,gpu_time,cluster); t=0 at the first submit."""
    path = Path(path)
    days: dict[str, float] = {}
    jobs: list[SimJob] = []
    first = ""
    for line, row in _rows(path, ("timestamp", "duration", "num_gpus", "cluster")):
        try:
            ts = row["timestamp"] or ""
            epoch_s = _philly_time(str(path), line, ts, days)
            dur = _num(str(path), line, "duration", row["duration"])
            gpus = _num(str(path), line, "num_gpus", row["num_gpus"], int, minimum=1)
        except TraceError as exc:
            _skip(bad, exc)
            continue
        first = first or ts
        jobs.append(SimJob(len(jobs), epoch_s, dur, gpus, row["cluster"]))
    t0 = min((j.submit_s for j in jobs), default=0.0)
    trace = _finish(jobs, str(path), first)
    trace.origin_epoch_s = t0  # so windows can be given as dates
    return trace


def _philly_time(src: str, line: int, ts: str, days: dict[str, float]) -> float:
    """'YYYY-MM-DD HH:MM:SS' (local, taken as UTC) -> epoch seconds; dates cached, so fast."""
    try:
        day = days.get(ts[:10])
        if day is None:
            day = days[ts[:10]] = dt.datetime.strptime(ts[:10], "%Y-%m-%d").replace(tzinfo=dt.timezone.utc).timestamp()
        return day + int(ts[11:13]) * 3600 + int(ts[14:16]) * 60 + int(ts[17:19])
    except (ValueError, IndexError):
        raise TraceError(f"{src}:{line}: column 'timestamp': expected 'YYYY-MM-DD HH:MM:SS', got {ts!r}") from None


def read_aidc(path: str | Path, bad: list[str] | None = None) -> Trace:
    """aidc jobs, CSV (any name) or JSON lines (*.jsonl / *.jsonl.gz)."""
    path = Path(path)
    if ".jsonl" in path.suffixes:
        items: Iterator[tuple[int, dict]] = _jsonl(path)
    else:
        items = _rows(path, ("submit_s", "duration_s", "gpus"))
    jobs, seen = [], {}  # job_id -> line
    for line, row in items:
        jid = row.get("job_id") or ""
        try:
            if jid and jid in seen:
                raise TraceError(f"{path}:{line}: column 'job_id': {jid[:40]!r} already on line {seen[jid]}")
            jobs.append(_aidc_job(str(path), line, row))
        except TraceError as exc:
            _skip(bad, exc)
            continue
        seen[jid] = line
    return _finish(jobs, str(path), "t=0 at the first submit")


def _jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    line = 0
    with _open(path) as fh, _text(path, lambda: line + 1):
        for line, text in enumerate(fh, 1):
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                raise TraceError(f"{path}:{line}: not valid JSON: {exc.msg}") from None
            if not isinstance(obj, dict):
                raise TraceError(f"{path}:{line}: expected a JSON object per line")
            yield line, {k: ("" if v is None else "|".join(map(str, v)) if isinstance(v, list) else str(v))
                         for k, v in obj.items()}


def _aidc_job(src: str, line: int, row: dict[str, str]) -> SimJob:
    for col in ("submit_s", "duration_s", "gpus"):
        if col not in row:
            raise TraceError(f"{src}:{line}: column {col!r}: missing")
    gpus = _num(src, line, "gpus", row["gpus"], int)
    milli = _num(src, line, "gpu_milli", row.get("gpu_milli") or "1000", int, minimum=1)
    if milli > 1000:
        raise TraceError(f"{src}:{line}: column 'gpu_milli': at most 1000 (one whole GPU), got {milli}")
    if gpus == 0 and milli == 1000:
        raise TraceError(f"{src}:{line}: column 'gpus': 0 GPUs needs gpu_milli < 1000 (a GPU share)")
    est = row.get("estimate_s") or ""
    return SimJob(
        0, _num(src, line, "submit_s", row["submit_s"], minimum=None), _num(src, line, "duration_s", row["duration_s"]),
        gpus, row.get("tenant") or None, gpu_milli=milli,
        gpu_models=tuple(m for m in (row.get("gpu_models") or "").split("|") if m),
        priority=_num(src, line, "priority", row.get("priority") or "0", int, minimum=None),
        user=row.get("user") or "", name=row.get("name") or row.get("job_id") or "",
        estimate_s=_num(src, line, "estimate_s", est) if est else None,
    )


def read_pai2023(path: str | Path, bad: list[str] | None = None) -> Trace:
    """Alibaba PAI-2023 pods: run time = deletion - scheduled (creation when never scheduled)."""
    path = Path(path)
    jobs: list[SimJob] = []
    for line, row in _rows(path, ("name", "num_gpu", "gpu_milli", "creation_time", "deletion_time")):
        if (row.get("pod_phase") or "") in ("Pending", "Failed") and not row.get("scheduled_time"):
            continue
        try:
            created = _num(str(path), line, "creation_time", row["creation_time"])
            start = _num(str(path), line, "scheduled_time", row.get("scheduled_time") or row["creation_time"])
            end = _num(str(path), line, "deletion_time", row["deletion_time"])
            gpus = _num(str(path), line, "num_gpu", row["num_gpu"], int)
            milli = _num(str(path), line, "gpu_milli", row["gpu_milli"] or "0", int)
        except TraceError as exc:
            _skip(bad, exc)
            continue
        if gpus == 0:
            continue  # CPU-only pod: not a GPU job
        frac = gpus == 1 and 0 < milli < 1000
        jobs.append(SimJob(
            len(jobs), created, max(end - start, 1.0), 0 if frac else gpus, row.get("qos") or None,
            gpu_milli=milli if frac else 1000, gpu_models=tuple(m for m in (row.get("gpu_spec") or "").split("|") if m),
            name=row["name"],
        ))
    return _finish(jobs, str(path), "t=0 at the first pod creation")


READERS: dict[str, Callable[..., Trace]] = {"philly": read_philly, "pai2023": read_pai2023, "aidc": read_aidc}


def detect_format(path: str | Path) -> str:
    """'philly', 'pai2023' or 'aidc' from the file's header (JSON lines are aidc)."""
    path = Path(path)
    if ".jsonl" in path.suffixes:
        return "aidc"
    with _open(path) as fh, _text(path, lambda: 1):
        header = set(fh.readline().strip().split(","))
    if {"timestamp", "num_gpus", "cluster"} <= header:
        return "philly"
    if {"num_gpu", "gpu_milli", "creation_time"} <= header:
        return "pai2023"
    return "aidc"


def read_trace(path: str | Path, fmt: str = "auto", skip_bad_rows: bool = False) -> Trace:
    """Read a trace in `fmt` (one of FORMATS, or 'auto' to tell from the header). A row that cannot be
    used is a TraceError naming its line; with `skip_bad_rows` it is left out and listed in
    `trace.skipped` (a problem with the whole file, such as a missing column, is always an error)."""
    if fmt == "auto":
        fmt = detect_format(path)
    if fmt not in READERS:
        from aidc.core.errors import did_you_mean

        raise TraceError(f"unknown trace format {fmt!r}{did_you_mean(fmt, list(READERS))}")
    bad: list[str] | None = [] if skip_bad_rows else None
    trace = READERS[fmt](path, bad)
    trace.skipped = bad or []
    if not trace.jobs:
        raise TraceError(f"{path}: no jobs in the trace" + (f" ({len(bad)} bad rows skipped)" if bad else ""))
    return trace
