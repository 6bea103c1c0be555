"""The normal workloads still work as sandboxed jobs submitted through the API: data preparation on a tenant
volume, training with a checkpoint and an exact resume, DDP with two processes (serving: test_deployments.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.server.conftest import Api
from tests.workloads.conftest import gpt_train_config, write_prose

pytestmark = pytest.mark.slow


def _run(api: Api, spec: dict, timeout_s: float = 240) -> dict:
    job = api.submit({"gpus": 0, "env": {"OMP_NUM_THREADS": "1"}, **spec})
    assert job.status_code == 201, job.text
    done = api.wait_status(job.json()["id"], {"succeeded", "failed"}, timeout_s=timeout_s)
    log = api.call("GET", f"/api/v1/jobs/{done['id']}/logs").text
    assert done["status"] == "succeeded", f"{spec['name']}: {done['reason']}\n{log[-3000:]}"
    return {**done, "log": log}


def _metrics(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_data_prep_training_resume_and_ddp_run_inside_the_sandbox(local_api: Api, tmp_path: Path) -> None:
    raw, work = tmp_path / "raw", tmp_path / "work"
    local_api.share("default", [{"name": "raw", "host_path": str(raw), "access": "ro"},
                                {"name": "work", "host_path": str(work), "access": "rw"}])
    write_prose(raw / "prose.txt", 80)
    data = work / "data"
    (raw / "data.yaml").write_text(yaml.safe_dump({
        "name": "prose", "task": "lm", "output_dir": str(data), "sources": [{"kind": "text", "path": str(raw / "prose.txt")}],
        "clean": {"source_language": None}, "tokenizer": {"vocab_size": 300, "min_frequency": 1},
        "split": {"validation": 0.1, "test": 0.1}}))
    for name, extra in (("full", {}), ("parted", {"checkpoint_every": 3}), ("ddp", {"device": "cpu"})):
        (raw / f"{name}.yaml").write_text(yaml.safe_dump(gpt_train_config(data, work / name, **extra)))

    prep = _run(local_api, {"name": "prep", "kind": "data", "command": f"aidc data prepare {raw / 'data.yaml'}"})
    assert "prepared" in prep["log"] and (data / "manifest.json").is_file()
    assert (data / "manifest.json").stat().st_uid != 0  # written by the tenant's uid, not the server's

    _run(local_api, {"name": "full", "kind": "train", "command": f"aidc train {raw / 'full.yaml'} --no-resume"})
    parted = str(raw / "parted.yaml")
    _run(local_api, {"name": "part-1", "kind": "train", "command": f"aidc train {parted} --stop-after 3",
                     "checkpoint_dir": str(work / "parted")})
    assert [m["step"] for m in _metrics(work / "parted")] == [1, 2, 3]
    _run(local_api, {"name": "part-2", "kind": "train", "command": f"aidc train {parted}",
                     "checkpoint_dir": str(work / "parted")})
    losses = lambda out: [(m["step"], m["loss"]) for m in _metrics(out)]  # noqa: E731
    assert losses(work / "parted") == losses(work / "full")  # the resumed run is the uninterrupted one, exactly

    ddp = _run(local_api, {"name": "ddp", "kind": "train", "cpu_cores": 2,
                           "command": f"aidc train {raw / 'ddp.yaml'} --nproc 2 --no-resume --json",
                           "env": {"OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1"}})
    summary = json.loads(ddp["log"].strip().splitlines()[-1])
    assert summary["processes"] == 2 and summary["steps"] == 8 and len(_metrics(work / "ddp")) == 8
