"""The Slurm transport: slurmrestd's REST API (JWT) and the Slurm CLI, and parsers of what Slurm answers."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from aidc.core.errors import AidcError

API = "v0.0.38"
WAITING = {"PENDING", "CONFIGURING", "SUSPENDED", "STOPPED", "RESIZING", "SIGNALING", "STAGE_OUT"}
LOST = {"NODE_FAIL", "BOOT_FAIL", "PREEMPTED", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD", "REVOKED"}
# pending reasons that mean "the nodes it was pinned to cannot run it now"
UNAVAILABLE = ("ReqNodeNotAvail", "NodeDown", "PartitionDown", "PartitionInactive", "BadConstraints")


class SlurmError(AidcError):
    """A Slurm command or REST call that failed; the message says which and what Slurm answered."""


@dataclass(frozen=True)
class SlurmJob:
    """What Slurm says about one job now."""

    slurm_id: int
    state: str
    nodes: tuple[str, ...]
    reason: str
    start_s: float | None


def expand_hostlist(text: str) -> tuple[str, ...]:
    """Slurm's compressed host lists ("node[1-3,7],gpu05") as names; "(null)"/"" is empty."""
    text = (text or "").strip()
    if not text or text in ("(null)", "None", "N/A"):
        return ()
    out: list[str] = []
    for part in re.findall(r"[^,\[]+(?:\[[^\]]*\][^,\[]*)*", text):
        m = re.fullmatch(r"([^\[]*)\[([^\]]*)\](.*)", part)
        if not m:
            out.append(part)
            continue
        prefix, ranges, suffix = m.groups()
        for rng in ranges.split(","):
            lo, _, hi = rng.partition("-")
            if not hi:
                out.extend(f"{prefix}{lo}{n}" for n in expand_hostlist(suffix) or ("",))
                continue
            for i in range(int(lo), int(hi) + 1):
                out.extend(f"{prefix}{str(i).zfill(len(lo))}{n}" for n in expand_hostlist(suffix) or ("",))
    return tuple(out)


def parse_gres_gpus(gres: str) -> tuple[int, str | None]:
    """GPU count and type from a node's GRES ("gpu:8", "gpu:a100:4(S:0-1),nic:1"); (0, None) without GPUs."""
    total, kind = 0, None
    for item in re.split(r",(?![^(]*\))", gres or ""):
        fields = re.sub(r"\(.*\)", "", item).strip().split(":")
        if not fields or fields[0] != "gpu":
            continue
        if len(fields) == 2 and fields[1].isdigit():
            total += int(fields[1])
        elif len(fields) >= 3 and fields[-1].isdigit():
            total += int(fields[-1])
            kind = kind or fields[1]
    return total, kind


def _node_state(state: str, flags: list[str]) -> Literal["active", "draining", "down"]:
    words = {state.upper(), *(f.upper() for f in flags or [])}
    if words & {"DOWN", "FAIL", "FAILING", "FUTURE", "POWERED_DOWN"}:  # NOT_RESPONDING alone: not yet DOWN
        return "down"
    if any(w.startswith("DRAIN") for w in words):
        return "draining"
    return "active"


# -- backends -------------------------------------------------------------------------------------
class _Cli:
    """The Slurm command-line tools (sbatch, squeue, scancel, sinfo, scontrol) with an optional SLURM_CONF."""

    method = "cli"

    def __init__(self, bin_dir: str | None, conf: str | None, timeout_s: float) -> None:
        self.bin_dir, self.timeout_s = bin_dir, timeout_s
        self.env = {**os.environ, **({"SLURM_CONF": conf} if conf else {})}

    def tool(self, name: str) -> str | None:
        if self.bin_dir:
            path = Path(self.bin_dir) / name
            return str(path) if path.exists() else None
        return shutil.which(name)

    def available(self) -> bool:
        return all(self.tool(t) for t in ("sbatch", "squeue", "scancel"))

    def run(self, name: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        exe = self.tool(name)
        if exe is None:
            raise SlurmError(f"{name} not found (option bin_dir={self.bin_dir!r}; PATH otherwise)")
        try:
            return subprocess.run([exe, *args], env=env or self.env, capture_output=True, text=True,
                                  timeout=self.timeout_s, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise SlurmError(f"{name} did not answer within {self.timeout_s:.0f} s (is slurmctld up?)") from None

    def submit(self, script: Path, args: list[str], env: dict[str, str]) -> int:
        out = self.run("sbatch", "--parsable", *args, str(script), env={**self.env, **env})
        if out.returncode != 0:
            raise SlurmError(f"sbatch refused the job: {out.stderr.strip() or out.stdout.strip()}")
        return int(out.stdout.strip().split(";")[0])

    def jobs(self, ids: list[int]) -> dict[int, SlurmJob]:
        if not ids:
            return {}
        out = self.run("squeue", "-h", "-t", "all", "-j", ",".join(map(str, ids)), "-o", "%i|%T|%N|%r|%S")
        if out.returncode != 0:
            if "Invalid job id" in out.stderr:
                return {}  # none of them is known any more
            raise SlurmError(f"squeue failed: {out.stderr.strip()}")
        found: dict[int, SlurmJob] = {}
        for line in out.stdout.splitlines():
            parts = line.strip().split("|")
            if len(parts) != 5 or not parts[0].isdigit():
                continue
            found[int(parts[0])] = SlurmJob(int(parts[0]), parts[1], expand_hostlist(parts[2]), parts[3],
                                            _parse_time(parts[4]))
        return found

    def signal(self, slurm_id: int, sig: str) -> None:
        args = ["--full", f"--signal={sig}"] if sig != "KILL" else []
        out = self.run("scancel", *args, str(slurm_id))
        if out.returncode != 0 and "already completed" not in out.stderr and "Invalid job id" not in out.stderr:
            raise SlurmError(f"scancel {slurm_id} failed: {out.stderr.strip()}")

    def nodes(self) -> list[dict[str, Any]]:
        import json

        out = self.run("sinfo", "--json")
        if out.returncode != 0:
            raise SlurmError(f"sinfo --json failed: {out.stderr.strip()}")
        return json.loads(out.stdout).get("nodes", [])

    def node_states(self) -> dict[str, str]:
        out = self.run("sinfo", "-h", "-N", "-o", "%N|%T")
        states: dict[str, str] = {}
        for line in out.stdout.splitlines():
            name, _, state = line.strip().partition("|")
            if name:
                states[name] = _node_state(state.rstrip("*~#!%$@^-"), [])
        return states

    def update_node(self, node: str, state: str, reason: str) -> None:
        args = ["update", f"nodename={node}", f"state={state}"] + ([f"reason={reason}"] if state == "drain" else [])
        out = self.run("scontrol", *args)
        if out.returncode != 0:
            raise SlurmError(f"scontrol update nodename={node} state={state} failed: {out.stderr.strip()}")


class _Rest:
    """slurmrestd's OpenAPI v0.0.38 with a JWT (X-SLURM-USER-NAME / X-SLURM-USER-TOKEN)."""

    method = "rest"

    def __init__(self, url: str, user: str, jwt: str | None, jwt_file: str | None, timeout_s: float) -> None:
        import httpx

        self.url, self.user, self._jwt, self.jwt_file = url.rstrip("/"), user, jwt, jwt_file
        self.client = httpx.Client(timeout=timeout_s)

    def token(self) -> str:
        if self.jwt_file:
            try:
                return Path(self.jwt_file).read_text().strip().removeprefix("SLURM_JWT=")
            except OSError as exc:
                raise SlurmError(f"cannot read the JWT file (option jwt_file={self.jwt_file!r}): {exc}") from None
        return self._jwt or ""

    def call(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        import httpx

        headers = {"X-SLURM-USER-NAME": self.user, "X-SLURM-USER-TOKEN": self.token()}
        try:
            resp = self.client.request(method, f"{self.url}/slurm/{API}{path}", headers=headers, **kw)
        except httpx.HTTPError as exc:
            raise SlurmError(f"slurmrestd at {self.url} (option rest_url): {exc}") from None
        try:
            body = resp.json()
        except ValueError:
            body = {}
        errors = [e for e in body.get("errors", []) if e.get("error_code") or e.get("error")]
        if resp.status_code == 401:
            raise SlurmError(f"slurmrestd rejected the JWT for user {self.user!r} (options jwt/jwt_file, user)")
        if resp.status_code >= 400 or (errors and method != "GET"):
            detail = "; ".join(str(e.get("error") or e.get("description") or e) for e in errors) or resp.text[:200]
            raise SlurmError(f"slurmrestd {method} {path}: HTTP {resp.status_code}: {detail}")
        return body

    def submit(self, script: str, job: dict[str, Any]) -> int:
        body = self.call("POST", "/job/submit", json={"script": script, "job": job})
        if not body.get("job_id"):
            raise SlurmError(f"slurmrestd accepted the job but returned no job_id: {body}")
        return int(body["job_id"])

    def jobs(self, ids: list[int]) -> dict[int, SlurmJob]:
        if not ids:
            return {}
        wanted = set(ids)
        found: dict[int, SlurmJob] = {}
        for j in self.call("GET", "/jobs").get("jobs", []):
            if j.get("job_id") in wanted:
                start = j.get("start_time") or None
                found[int(j["job_id"])] = SlurmJob(int(j["job_id"]), str(j.get("job_state", "")),
                                                   expand_hostlist(j.get("nodes") or ""), str(j.get("state_reason", "")),
                                                   float(start) if start else None)
        return found

    def signal(self, slurm_id: int, sig: str) -> None:
        params = {} if sig == "KILL" else {"signal": f"SIG{sig}"}
        self.call("DELETE", f"/job/{slurm_id}", params=params)

    def nodes(self) -> list[dict[str, Any]]:
        return self.call("GET", "/nodes").get("nodes", [])

    def node_states(self) -> dict[str, str]:
        return {n["name"]: _node_state(str(n.get("state", "")), n.get("state_flags") or []) for n in self.nodes()}


def _parse_time(text: str) -> float | None:
    """squeue's local ISO time ("2026-11-30T21:41:46"), or None for N/A / Unknown."""
    try:
        return datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        return None
