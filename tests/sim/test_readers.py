"""Trace readers: formats, windows, and errors a person can act on (file, line, column)."""

from __future__ import annotations

import json

import pytest

from aidc.sim.readers import TraceError, read_trace

from .conftest import DATA


def test_aidc_csv_sorted_with_origin_at_first_submit(tmp_path) -> None:
    p = tmp_path / "t.csv"
    p.write_text("job_id,submit_s,duration_s,gpus,tenant\nb,110,5,2,x\na,100,10,1,\n")
    t = read_trace(p, "aidc")
    assert [j.name for j in t.jobs] == ["a", "b"]
    assert [j.submit_s for j in t.jobs] == [0.0, 10.0]
    assert t.jobs[0].tenant is None and t.jobs[1].tenant == "x"


def test_aidc_jsonl(tmp_path) -> None:
    p = tmp_path / "t.jsonl"
    rows = [{"job_id": "a", "submit_s": 0, "duration_s": 10, "gpus": 0, "gpu_milli": 500, "gpu_models": ["T4", "A10"]}]
    p.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    j = read_trace(p, "aidc").jobs[0]
    assert (j.gpus, j.gpu_milli, j.gpu_models) == (0, 500, ("T4", "A10"))


def test_bad_number_names_file_line_column() -> None:
    with pytest.raises(TraceError) as exc:
        read_trace(DATA / "bad_duration.csv", "aidc")
    assert str(exc.value) == f"{DATA / 'bad_duration.csv'}:3: column 'duration_s': expected a number, got 'ten'"


def test_missing_column(tmp_path) -> None:
    p = tmp_path / "t.csv"
    p.write_text("job_id,submit_s,gpus\na,0,1\n")
    with pytest.raises(TraceError, match=r"t.csv:1: missing column\(s\) 'duration_s'"):
        read_trace(p, "aidc")


def test_philly_bad_timestamp(tmp_path) -> None:
    p = tmp_path / "p.csv"
    p.write_text("timestamp,duration,num_gpus,gpu_time,cluster\n2017-10-01 00:00:01,5,1,5,vc\n2017/10/01,5,1,5,vc\n")
    with pytest.raises(TraceError, match=r"p.csv:3: column 'timestamp': expected 'YYYY-MM-DD HH:MM:SS'"):
        read_trace(p, "philly")


def test_negative_gpus_rejected(tmp_path) -> None:
    p = tmp_path / "t.csv"
    p.write_text("submit_s,duration_s,gpus\n0,10,-1\n")
    with pytest.raises(TraceError, match="column 'gpus': must be >= 0"):
        read_trace(p, "aidc")


def test_philly_window_first_week(philly) -> None:
    trace_path, _ = philly
    from aidc.sim.runner import parse_when

    t = read_trace(trace_path, "philly")
    assert len(t) == 68_503
    week = t.window(None, parse_when("2017-10-08", t))
    assert len(week) == 10_650


def test_pai_pods(tmp_path) -> None:
    p = tmp_path / "pods.csv"
    p.write_text(
        "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n"
        "p1,1000,100,1,500,T4|A10,LS,Running,10,110,20\n"
        "p2,1000,100,2,1000,,BE,Succeeded,0,50,0\n"
        "p3,1000,100,0,0,,BE,Succeeded,0,50,0\n"
    )
    t = read_trace(p, "pai2023")
    assert [(j.name, j.gpus, j.gpu_milli, j.gpu_models, j.duration_s) for j in t.jobs] == [
        ("p2", 2, 1000, (), 50.0), ("p1", 0, 500, ("T4", "A10"), 90.0)]


def test_format_detected_from_header(tmp_path) -> None:
    from aidc.sim.readers import detect_format

    p = tmp_path / "p.csv"
    p.write_text("timestamp,duration,num_gpus,gpu_time,cluster\n2017-10-01 00:00:01,5,1,5,vc\n")
    assert detect_format(p) == "philly" and len(read_trace(p)) == 1
    assert detect_format(DATA / "tiny.csv") == "aidc"


HEADER = "job_id,submit_s,duration_s,gpus\na,0,100,1\n"


@pytest.mark.parametrize("row, message", [
    ("b,nan,100,1", "line 3|:3: column 'submit_s': must be a finite number, got 'nan'"),
    ("b,10,inf,1", ":3: column 'duration_s': must be a finite number, got 'inf'"),
    ("b,10,-inf,1", ":3: column 'duration_s': must be a finite number, got '-inf'"),
    ("b,1e18,100,1", ":3: column 'submit_s': at most 1e+10, got '1e18' (milliseconds? times are in seconds)"),
    ("b,10,1e309,1", ":3: column 'duration_s': must be a finite number, got '1e309'"),
    ("b,10,100,10000000", ":3: column 'gpus': at most 1e+06, got '10000000'"),
    ("b,10,100,1.5", ":3: column 'gpus': expected a whole number, got '1.5'"),
    ("a,10,100,1", ":3: column 'job_id': 'a' already on line 2"),
    ("b,10,100,1,extra", ":3: 1 more value(s) than the header's 4 columns"),
    ("b,10,100," + "9" * 5000, ":3: column 'gpus': must be a finite number, got '" + "9" * 40 + "'"),
])
def test_a_row_that_cannot_be_used_is_an_error_naming_its_line(tmp_path, row: str, message: str) -> None:
    p = tmp_path / "t.csv"
    p.write_text(HEADER + row + "\n")
    with pytest.raises(TraceError) as exc:
        read_trace(p, "aidc")
    assert str(exc.value).endswith(message.split("|")[-1]) and str(exc.value).startswith(str(p))
    assert len(str(exc.value)) < 300  # a long value is quoted by its first 40 characters


def test_skip_bad_rows_counts_and_names_every_skip(tmp_path) -> None:
    p = tmp_path / "t.csv"
    p.write_text(HEADER + "b,nan,100,1\nc,5,50,2\nc,6,50,2\nd,7,inf,1\n")
    trace = read_trace(p, "aidc", skip_bad_rows=True)
    assert [j.name for j in trace.jobs] == ["a", "c"]
    assert [s.split(": ", 1)[0] for s in trace.skipped] == [f"{p}:3", f"{p}:5", f"{p}:6"]
    assert len(trace.window(0, 10).skipped) == 3  # a window keeps what was skipped


@pytest.mark.parametrize("name, content", [
    ("bin.csv", bytes(range(256)) * 8), ("bin.jsonl", b'{"job_id": "a"}\n\xff\xfe\x00\n'),
    ("bin.csv.gz", b"\x1f\x8b\x08\x00 not really gzip"),
])
def test_a_binary_trace_is_a_clear_error(tmp_path, name: str, content: bytes) -> None:
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(TraceError, match=r"not a text file|cannot read|not a valid gzip file"):
        read_trace(p)


def test_jsonl_nulls_and_numbers_in_lists(tmp_path) -> None:
    p = tmp_path / "t.jsonl"
    p.write_text('{"job_id": "a", "submit_s": 0, "duration_s": 5, "gpus": 1, "tenant": null, "gpu_models": [1, "A100"]}\n')
    job = read_trace(p).jobs[0]
    assert job.tenant is None and job.gpu_models == ("1", "A100")
