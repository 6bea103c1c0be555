"""Run a sweep's trials as control-plane jobs: submit them all, wait, read each trial's validation loss.

It lives in `cli` because it talks to the server through the CLI's HTTP client; `aidc.workloads`
stays free of the control plane (jobs reach workloads as commands: `python -m aidc.cli.main train`).
"""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path
from typing import Any, Callable

from aidc.core.errors import AidcError

TERMINAL = ("succeeded", "failed", "cancelled")


class ControlPlaneRunner:
    """`run_all` submits every trial as a `train` job for `tenant`, then polls until all have ended."""

    def __init__(self, *, sweep_name: str, gpus: int = 1, tenant: str | None = None, timeout_s: float = 24 * 3600,
                 poll_s: float = 1.0, on_status: Callable[[list[dict]], None] | None = None) -> None:
        self.sweep_name, self.gpus, self.tenant = sweep_name, gpus, tenant
        self.timeout_s, self.poll_s, self.on_status = timeout_s, poll_s, on_status

    def command(self, config_path: Path) -> str:
        """This interpreter runs the trial. The job sees only its tenant's volumes (docs/security.md): the
        sweep's data must be in one and its out_dir in a read-write one, which the server checks at submit
        (the trial's out_dir is its checkpoint_dir)."""
        return f"{shlex.quote(sys.executable)} -m aidc.cli.main train {shlex.quote(str(config_path.resolve()))} --no-resume"

    def run_all(self, trials: list[tuple[str, Path]]) -> list[dict[str, Any]]:
        from aidc.cli.client import request
        from aidc.workloads.sweep import read_summary

        jobs = []
        import yaml

        for name, path in trials:
            out_dir = str(Path(yaml.safe_load(path.read_text())["out_dir"]).resolve())
            # the job runs as its tenant's uid: a trial folder is as writable as the sweep folder it is in
            Path(out_dir).chmod(Path(out_dir).parent.stat().st_mode & 0o7777)
            spec = {"name": f"{self.sweep_name}-{name}", "kind": "train", "command": self.command(path), "gpus": self.gpus,
                    "env": {"OMP_NUM_THREADS": "1"}, "checkpoint_dir": out_dir}
            jobs.append(request("POST", "/api/v1/jobs", json={"spec": spec, "tenant": self.tenant}))
        done = self._wait([j["id"] for j in jobs])
        out = []
        for (name, path), job in zip(trials, done):
            out_dir = yaml.safe_load(path.read_text())["out_dir"]
            out.append({**read_summary(out_dir), "job_id": job["id"], "status": job["status"]})
        return out

    def _wait(self, ids: list[int]) -> list[dict]:
        from aidc.cli.client import request

        deadline = time.time() + self.timeout_s
        while True:
            jobs = [request("GET", f"/api/v1/jobs/{i}") for i in ids]
            if self.on_status is not None:
                self.on_status(jobs)
            if all(j["status"] in TERMINAL for j in jobs):
                return jobs
            if time.time() > deadline:
                raise AidcError(f"sweep jobs {ids} did not all finish within {self.timeout_s:g} s")
            time.sleep(self.poll_s)
