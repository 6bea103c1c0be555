"""`aidc sweep --submit`: the trials become control-plane jobs on a real server and the best one wins."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.server.live import Server
from tests.conftest import aidc_bin
from tests.workloads.conftest import gpt_train_config, prepared_prose, write_yaml


@pytest.mark.slow
def test_sweep_trials_run_as_jobs(tmp_path: Path) -> None:
    data = prepared_prose(tmp_path / "prose")
    base = gpt_train_config(data, tmp_path / "base-out")
    base["optim"]["max_steps"] = 10
    base_path = write_yaml(tmp_path / "train.yaml", base)
    sweep = write_yaml(tmp_path / "sweep.yaml", {"base": str(base_path), "out_dir": str(tmp_path / "sweep"),
                                                 "params": {"optim.lr": [0.01, 0.00001]}})
    server = Server(tmp_path, aidc=aidc_bin()).start()
    try:
        (tmp_path / "sweep").mkdir()
        (tmp_path / "sweep").chmod(0o777)  # the tenant's uid writes it (an admin would chown it)
        shared = server.aidc("tenants", "sandbox", "default", "--volume", f"prose={data}",
                             "--volume", f"sweep={tmp_path / 'sweep'}:rw")
        assert shared.returncode == 0, shared.stderr
        res = subprocess.run([aidc_bin(), "sweep", str(sweep), "--submit", "--gpus", "1", "--json"], env=server.env,
                             cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stderr
        report = json.loads(res.stdout)
        jobs = json.loads(server.aidc("jobs", "--json").stdout)
    finally:
        server.stop()
    assert [t["status"] for t in report["trials"]] == ["succeeded", "succeeded"]
    assert sorted(j["name"] for j in jobs) == ["sweep-trial-000", "sweep-trial-001"]
    assert all(j["kind"] == "train" and j["status"] == "succeeded" for j in jobs)
    assert all(t["val_loss"] is not None for t in report["trials"])
    assert report["best"]["params"]["optim.lr"] == 0.01  # ten steps at 1e-5 learn nothing
