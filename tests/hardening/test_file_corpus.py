"""Bad-input corpus for files and settings: job files, traces, planning specs and cases, and the
server's AIDC_* settings. Each case states the exit code (2: the input is wrong) and what the message
must name (the file and line, or the setting), and that nothing was written or started. Datacenter
specs have their own corpus (tests/core/bad_specs, 38 files, also through `aidc dc validate`)."""

from __future__ import annotations

import gzip
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aidc.cli.main import app
from tests.conftest import REPO, aidc_bin

SIM_DATA = REPO / "tests" / "sim" / "data"
VCS = SIM_DATA / "tiny_vcs.csv"
HEADER = "job_id,submit_s,duration_s,gpus,tenant,priority\n"


@dataclass(frozen=True)
class FileCase:
    id: str
    text: str | bytes
    says: tuple[str, ...]  # each must appear in the message ("{f}" is the file's path)
    suffix: str = ".yaml"


JOB_FILES = [
    FileCase("job-empty", "", ("{f}", "empty")),
    FileCase("job-a-list", "- name: a\n", ("{f}", "mapping")),
    FileCase("job-malformed", "name: a\ncommand: [unclosed\n", ("{f}:",)),
    FileCase("job-unknown-field", "name: a\ncommand: x\ngpu: 1\n", ("{f}:3", "gpu")),
    FileCase("job-gpus-string", "name: a\ncommand: x\ngpus: '2'\n", ("{f}:3", "gpus")),
    FileCase("job-gpus-bool", "name: a\ncommand: x\ngpus: true\n", ("{f}:3", "gpus")),
    FileCase("job-gpus-negative", "name: a\ncommand: x\ngpus: -4\n", ("{f}:3", "gpus")),
    FileCase("job-gpus-huge", "name: a\ncommand: x\ngpus: 100000000000\n", ("{f}:3", "gpus")),
    FileCase("job-runtime-inf", "name: a\ncommand: x\nmax_runtime_s: .inf\n", ("{f}:3", "max_runtime_s")),
    FileCase("job-runtime-nan", "name: a\ncommand: x\nmax_runtime_s: .nan\n", ("{f}:3", "max_runtime_s")),
    FileCase("job-name-space", "name: a b\ncommand: x\n", ("{f}:1", "name")),
    FileCase("job-name-control", 'name: "a\\x07"\ncommand: x\n', ("{f}:1", "name")),
    FileCase("job-no-command", "name: a\n", ("{f}", "command")),
    FileCase("job-command-nul", 'name: a\ncommand: "a\\0b"\n', ("{f}:2", "command")),
    FileCase("job-env-bad-name", "name: a\ncommand: x\nenv: {'A=B': '1'}\n", ("{f}:3", "shell name")),
    FileCase("job-env-list", "name: a\ncommand: x\nenv: [A, B]\n", ("{f}:3", "env")),
    FileCase("job-kind-unknown", "name: a\ncommand: x\nkind: mining\n", ("{f}:3", "kind")),
    FileCase("job-preemptible-word", "name: a\ncommand: x\npreemptible: maybe\n", ("{f}:3", "preemptible")),
    FileCase("job-alias-bomb", "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
             "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
             "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n", ("{f}", "alias")),
    FileCase("job-deep", "a: " + "[" * 3000 + "]" * 3000 + "\n", ("{f}", "deep")),
    FileCase("job-binary", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", ("{f}", "not a text file")),
    FileCase("job-two-tenants", "name: a\ncommand: x\ntenant: a\n", ("{f}", "tenant"), ".two-tenants.yaml"),
]

TRACES = [
    FileCase("trace-empty", "", ("{f}", "header"), ".csv"),
    FileCase("trace-header-only", HEADER, ("{f}", "no jobs"), ".csv"),
    FileCase("trace-missing-column", "job_id,submit_s,gpus\nj0,0,1\n", ("{f}", "duration"), ".csv"),
    FileCase("trace-duration-word", HEADER + "j0,0,long,1,a,0\n", ("{f}:2", "duration_s"), ".csv"),
    FileCase("trace-duration-nan", HEADER + "j0,0,nan,1,a,0\n", ("{f}:2", "duration_s"), ".csv"),
    FileCase("trace-duration-inf", HEADER + "j0,0,inf,1,a,0\n", ("{f}:2", "duration_s"), ".csv"),
    FileCase("trace-duration-negative", HEADER + "j0,0,-5,1,a,0\n", ("{f}:2", "duration_s"), ".csv"),
    FileCase("trace-submit-nan", HEADER + "j0,nan,5,1,a,0\n", ("{f}:2", "submit_s"), ".csv"),
    FileCase("trace-submit-1e18", HEADER + "j0,1e18,5,1,a,0\n", ("{f}:2", "submit_s"), ".csv"),
    FileCase("trace-gpus-word", HEADER + "j0,0,5,two,a,0\n", ("{f}:2", "gpus"), ".csv"),
    FileCase("trace-gpus-fraction", HEADER + "j0,0,5,1.5,a,0\n", ("{f}:2", "gpus"), ".csv"),
    FileCase("trace-gpus-10-million", HEADER + "j0,0,5,10000001,a,0\n", ("{f}:2", "gpus"), ".csv"),
    FileCase("trace-gpus-negative", HEADER + "j0,0,5,-1,a,0\n", ("{f}:2", "gpus"), ".csv"),
    FileCase("trace-duplicate-id", HEADER + "j0,0,5,1,a,0\nj0,1,5,1,a,0\n", ("{f}:3", "j0"), ".csv"),
    FileCase("trace-extra-cells", HEADER + "j0,0,5,1,a,0,9,9\n", ("{f}:2",), ".csv"),
    FileCase("trace-priority-word", HEADER + "j0,0,5,1,a,high\n", ("{f}:2", "priority"), ".csv"),
    FileCase("trace-binary", b"\x00\x01\x02\x03" * 64, ("{f}", "not a text file"), ".csv"),
    FileCase("trace-binary-row", HEADER.encode() + b"j0,0,5,1,a\x00,0\n", ("{f}:2", "not a text file"), ".csv"),
    FileCase("trace-bad-gzip", b"\x1f\x8b\x08\x00garbage" * 8, ("{f}", "gzip"), ".csv.gz"),
    FileCase("trace-not-gzip", HEADER + "j0,0,5,1,a,0\n", ("{f}", "gzip"), ".csv.gz"),
    FileCase("trace-jsonl-broken", '{"job_id": "a", "submit_s": 0\n', ("{f}:1",), ".jsonl"),
    FileCase("trace-jsonl-not-object", "[1, 2]\n", ("{f}:1",), ".jsonl"),
]

PLAN = "model: llama-3-8b\ngpu: H100-SXM\nn_gpus: 8\ntraining_tokens: 1e9\nglobal_batch_seqs: 64\n"
PLANS = [
    FileCase("plan-empty", "", ("{f}", "empty")),
    FileCase("plan-unknown-field", PLAN + "batch: 3\n", ("{f}:6", "batch")),
    FileCase("plan-unknown-model", PLAN.replace("llama-3-8b", "llama-99"), ("{f}:1", "llama-99")),
    FileCase("plan-unknown-gpu", PLAN.replace("H100-SXM", "Z999"), ("{f}:2", "Z999")),
    FileCase("plan-gpus-zero", PLAN.replace("n_gpus: 8", "n_gpus: 0"), ("{f}:3", "n_gpus")),
    FileCase("plan-gpus-string", PLAN.replace("n_gpus: 8", "n_gpus: '8'"), ("{f}:3", "n_gpus")),
    FileCase("plan-tokens-inf", PLAN.replace("1e9", ".inf"), ("{f}:4", "training_tokens")),
    FileCase("plan-tokens-negative", PLAN.replace("1e9", "-1"), ("{f}:4", "training_tokens")),
    FileCase("plan-a-list", "- model: llama-3-8b\n", ("{f}", "mapping")),
    FileCase("plan-malformed", "model: [llama\n", ("{f}:",)),
    FileCase("plan-batch-fraction", PLAN.replace("global_batch_seqs: 64", "global_batch_seqs: 6.5"), ("{f}:5", "global_batch_seqs")),
    FileCase("plan-unknown-precision", PLAN + "precision: fp3\n", ("{f}:6", "precision")),
]

CASES_FILES = [
    FileCase("cases-a-list", "[1, 2]", ("{f}", "object"), ".json"),
    FileCase("cases-not-json", "{training_cases: [", ("{f}", "JSON"), ".json"),
    FileCase("cases-binary", b"\x00\xff\x00\xff" * 32, ("{f}",), ".json"),
    FileCase("cases-training-not-list", '{"training_cases": {"a": 1}}', ("{f}", "list"), ".json"),
    FileCase("cases-case-not-object", '{"training_cases": [5]}', ("{f}", "object"), ".json"),
    FileCase("cases-deep", "[" * 100_000 + "]" * 100_000, ("{f}",), ".json"),
]

FILE_CASES = [("submit", c) for c in JOB_FILES] + [("trace", c) for c in TRACES] + \
    [("plan", c) for c in PLANS] + [("cases", c) for c in CASES_FILES]


def _command(kind: str, path: Path, out: Path) -> list[str]:
    if kind == "submit":
        extra = ["--tenant", "b"] if ".two-tenants" in path.name else []
        return ["submit", str(path), *extra]
    if kind == "trace":
        return ["sim", "run", "--trace", str(path), "--cluster", str(VCS), "--jobs-out", str(out)]
    if kind == "plan":
        return ["plan", "train", str(path)]
    return ["plan", "cases", str(path)]


@pytest.mark.parametrize(("kind", "case"), FILE_CASES, ids=[c.id for _, c in FILE_CASES])
def test_bad_file_is_exit_2_naming_file_and_line(kind: str, case: FileCase, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIDC_URL", "http://127.0.0.1:9")  # a submit that got past its checks would fail to connect
    monkeypatch.setenv("COLUMNS", "300")
    path = tmp_path / f"in{case.suffix}"
    if isinstance(case.text, bytes):
        path.write_bytes(case.text)
    else:
        path.write_text(case.text)
    out = tmp_path / "jobs-out.csv"
    before = sorted(p.name for p in tmp_path.iterdir())
    result = CliRunner().invoke(app, _command(kind, path, out))
    message = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert result.exit_code == 2, f"{case.id}: exit {result.exit_code}: {message[-600:]} {result.exception!r}"
    assert "Traceback" not in message
    for needle in case.says:
        assert needle.format(f=path).lower() in message.lower(), f"{case.id}: {needle!r} not in {message[-600:]}"
    assert len(message) < 8000, f"{case.id}: {len(message)} characters of error"
    assert sorted(p.name for p in tmp_path.iterdir()) == before, f"{case.id} wrote a file"


CONFIG_CASES = [  # (id, environment, what the message names)
    ("port-word", {"AIDC_PORT": "http"}, "AIDC_PORT"),
    ("port-too-big", {"AIDC_PORT": "70000"}, "AIDC_PORT"),
    ("sandbox-unknown", {"AIDC_SANDBOX": "docker"}, "AIDC_SANDBOX"),
    ("executor-unknown", {"AIDC_EXECUTOR": "k8s"}, "AIDC_EXECUTOR"),
    ("executor-options-not-json", {"AIDC_EXECUTOR_OPTIONS": "{bad"}, "AIDC_EXECUTOR_OPTIONS"),
    ("policy-unknown", {"AIDC_POLICY": "gitins"}, "gittins"),
    ("placement-unknown", {"AIDC_PLACEMENT": "random"}, "AIDC_PLACEMENT"),
    ("interval-negative", {"AIDC_SCHEDULE_INTERVAL_S": "-1"}, "AIDC_SCHEDULE_INTERVAL_S"),
    ("heartbeat-nan", {"AIDC_HEARTBEAT_INTERVAL_S": "nan"}, "AIDC_HEARTBEAT_INTERVAL_S"),
    ("ttl-inf", {"AIDC_TOKEN_TTL_DAYS": "inf"}, "AIDC_TOKEN_TTL_DAYS"),
    ("start-loop-word", {"AIDC_START_LOOP": "perhaps"}, "AIDC_START_LOOP"),
    ("rate-zero", {"AIDC_SUBMIT_RATE_PER_TENANT": "0"}, "AIDC_SUBMIT_RATE_PER_TENANT"),
    ("predictor-word", {"AIDC_RUNTIME_PREDICTOR": "sometimes"}, "AIDC_RUNTIME_PREDICTOR"),
]


@pytest.mark.parametrize(("env", "says"), [c[1:] for c in CONFIG_CASES], ids=[c[0] for c in CONFIG_CASES])
def test_bad_server_setting_is_exit_2_naming_it(env: dict, says: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    full = {**os.environ, "AIDC_DATA_DIR": str(data), "AIDC_PORT": "9", **env}  # port 9: never served here
    r = subprocess.run([aidc_bin(), "server"], env=full, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stdout + r.stderr
    assert says in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert not data.exists(), "a refused setting still created the data dir"


def test_a_job_too_big_for_the_cluster_is_reported_not_dropped(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text(HEADER + "j0,0,5,100000,a,0\nj1,0,5,1,a,0\n")
    result = CliRunner().invoke(app, ["sim", "run", "--trace", str(path), "--cluster", str(VCS), "--json"])
    assert result.exit_code == 0, result.output
    assert '"never_started": 1' in result.output


def test_the_corpus_is_broad() -> None:
    from tests.hardening.test_http_corpus import CASES

    assert len(FILE_CASES) + len(CONFIG_CASES) + len(CASES) >= 150
    assert len({c.id for _, c in FILE_CASES}) == len(FILE_CASES)
