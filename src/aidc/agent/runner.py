"""The node agent's loop: register, then every interval heartbeat (telemetry, job reports, logs) and do
what the reply asks (start job parts with the local executor, stop others, run a repair check).

State survives an agent restart in `<work_dir>/agent-state.json`: the job parts it runs (with the
local executor's handles, to re-attach), finished parts not yet acknowledged, and every part it ever
started, so the same attempt is never started twice.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from aidc.agent.telemetry import Drills, HostProbe, NvmlProbe, VirtualProbe, machine_facts, probe_gpus
from aidc.executors.agent import request_fields
from aidc.executors.base import LaunchRequest
from aidc.executors.local import LocalExecutor

log = logging.getLogger("aidc.agent")
MAX_LOG_CHUNK_BYTES = 256 * 1024
AGENT_VERSION = "1"
MAX_REMEMBERED_STARTS = 100_000  # job parts ever started here, so none is started twice


def _start_order(key: str) -> tuple[int, int, int]:
    job, attempt, rank = (int(x) for x in key.split(":"))
    return job, attempt, rank


@dataclass
class AgentConfig:
    server: str
    token: str
    node: str
    work_dir: Path
    gpus: int | None = None  # None: real GPUs through NVML
    gpu_model: str | None = None  # aidc catalog name, when the node is new to the inventory
    interval_s: float = 5.0
    datacenter: str = "agents"
    partition: str = "agents"
    address: str | None = None
    drill_file: Path | None = None
    sandbox: str = "bwrap"  # how job parts are isolated here: bwrap, or off (never on a shared node)
    max_processes: int = 1024  # per job part
    device_dir: Path = Path("/dev")  # where this node's /dev/nvidiaN are


def part_key(job_id: int, attempt: int, rank: int) -> str:
    return f"{job_id}:{attempt}:{rank}"


@dataclass
class Agent:
    config: AgentConfig
    executor: LocalExecutor | None = None  # default: a sandboxed local executor that hides the agent's work dir
    parts: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> part record
    started: set[str] = field(default_factory=set)
    check_result: dict[str, Any] | None = None
    _check_thread: threading.Thread | None = None

    def __post_init__(self) -> None:
        self.config.work_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.config.work_dir, 0o700)  # state, logs, job folders: the agent's, not its jobs'
        if self.executor is None:
            self.executor = LocalExecutor(sandbox={"mode": self.config.sandbox, "max_processes": self.config.max_processes,
                                                   "device_dir": str(self.config.device_dir),
                                                   "hidden_paths": [str(self.config.work_dir)]})
        self.probe: NvmlProbe | VirtualProbe = probe_gpus(self.config.gpus, self.config.gpu_model)
        self.host = HostProbe(self.config.work_dir)
        self.drills = Drills(self.config.drill_file)
        self.client = httpx.Client(base_url=self.config.server.rstrip("/"), timeout=10.0,
                                   headers={"Authorization": f"Bearer {self.config.token}"})
        self.state_path = self.config.work_dir / "agent-state.json"
        self.interval_s = self.config.interval_s

    # -- lifecycle ------------------------------------------------------------------------------
    def register(self) -> dict[str, Any]:
        facts = machine_facts(self.config.work_dir)
        body = {"node": self.config.node, "gpus": self.probe.count, "gpu_names": self.probe.names,
                "gpu_model": self.config.gpu_model, "virtual_gpus": self.probe.virtual,
                "hostname": socket.gethostname(), "address": self.config.address or "127.0.0.1",
                "datacenter": self.config.datacenter, "partition": self.config.partition,
                "agent_version": AGENT_VERSION, **facts}
        reply = self._post("/api/v1/agents/register", body)
        self.interval_s = float(reply.get("heartbeat_interval_s") or self.interval_s)
        return reply

    def restore(self) -> None:
        """Re-attach to the parts this agent ran before it restarted; report the vanished ones as lost."""
        if not self.state_path.exists():
            return
        state = json.loads(self.state_path.read_text())
        self.started = set(state.get("started", []))
        for key, part in state.get("parts", {}).items():
            self.parts[key] = part
            if part["status"] == "running" and not self.executor.reattach(part["job_id"], part["handle"],
                                                                          part.get("max_runtime_s")):
                self._finish(part, "lost", None, "the agent restarted and the process is gone")

    def run(self, stop: threading.Event | None = None) -> None:
        stop = stop or threading.Event()
        self.restore()
        while not stop.is_set():
            try:
                self.register()
                break
            except httpx.HTTPError as exc:  # not up yet; a refusal (AgentError) ends the agent with its reason
                log.warning("register failed (%s); retrying", exc)
                stop.wait(min(self.interval_s, 5.0))
        while not stop.is_set():
            t0 = time.monotonic()
            try:
                self.beat()
            except (httpx.HTTPError, AgentError) as exc:  # the server is away: jobs go on, try again
                log.warning("heartbeat failed: %s", exc)
            if self.drills.pause_s > 0:  # a drill: go silent (jobs keep running), as a network partition would
                pause, self.drills.pause_s = self.drills.pause_s, 0.0
                stop.wait(pause)
            stop.wait(max(0.0, self.interval_s - (time.monotonic() - t0)))

    # -- one heartbeat ----------------------------------------------------------------------------
    def beat(self) -> dict[str, Any]:
        self.drills.read()
        self._collect_ended()
        busy = {g for p in self.parts.values() if p["status"] == "running" for g in p["gpus"]}
        body = {"gpus": self.drills.apply(self.probe.sample(busy)), "host": self.host.sample(),
                "virtual": self.probe.virtual,
                "running": [self._ref(p) for p in self.parts.values() if p["status"] == "running"],
                "finished": [{**self._ref(p), **p["result"]} for p in self.parts.values() if p["status"] == "finished"],
                "logs": self._log_chunks(), "check_result": self.check_result}
        reply = self._post(f"/api/v1/agents/{self.config.node}/heartbeat", body)
        if body["check_result"] is not None:
            self.check_result = None
        self.apply(reply)
        self._save()
        return reply

    def apply(self, reply: dict[str, Any]) -> None:
        self.interval_s = float(reply.get("heartbeat_interval_s") or self.interval_s)
        for key, size in (reply.get("log_offsets") or {}).items():
            if key in self.parts:
                self.parts[key]["server_offset"] = int(size)
        for a in reply.get("ack") or []:
            part = self.parts.get(part_key(a["job_id"], a["attempt"], a.get("rank", 0)))
            if part is not None and part["status"] == "finished" and self._log_shipped(part):
                del self.parts[part_key(part["job_id"], part["attempt"], part["rank"])]
        for c in reply.get("cancel") or []:
            self._stop(c)
        for spec in reply.get("assign") or []:
            self._start(spec)
        if reply.get("check") and self._check_thread is None:
            self._check_thread = threading.Thread(target=self._run_check, args=(reply["check"],), daemon=True)
            self._check_thread.start()

    # -- job parts ------------------------------------------------------------------------------
    def _start(self, spec: dict[str, Any]) -> None:
        key = part_key(spec["job_id"], spec["attempt"], spec["rank"])
        if key in self.started:
            return  # never the same attempt twice, whatever the server says
        self.started.add(key)
        if len(self.started) > MAX_REMEMBERED_STARTS:  # the oldest attempts are long acknowledged
            for old in sorted(self.started, key=_start_order)[:len(self.started) - MAX_REMEMBERED_STARTS]:
                self.started.discard(old)
        workdir = (self.config.work_dir / "jobs" / str(spec["job_id"]) / f"attempt-{spec['attempt']}-rank{spec['rank']}")
        env = {**spec.get("env", {}), "AIDC_NODE_RANK": str(spec["rank"]), "AIDC_NNODES": str(spec["ranks"]),
               "AIDC_ATTEMPT": str(spec["attempt"]), "MASTER_ADDR": spec.get("master_addr", "127.0.0.1"),
               "MASTER_PORT": str(spec.get("master_port", 29500)), "AIDC_NODE": self.config.node}
        request = LaunchRequest(job_id=spec["job_id"], name=spec.get("name", ""), command=spec["command"],
                                workdir=workdir, placement=((self.config.node, tuple(spec["gpus"])),), env=env,
                                max_runtime_s=spec.get("max_runtime_s"), attempt=spec["attempt"],
                                job_token=spec.get("job_token"), server_url=self.config.server,
                                **request_fields(spec.get("sandbox")))
        part = {"job_id": spec["job_id"], "attempt": spec["attempt"], "rank": spec["rank"], "gpus": list(spec["gpus"]),
                "max_runtime_s": spec.get("max_runtime_s"), "status": "running", "server_offset": 0, "handle": {}}
        self.parts[key] = part
        try:
            part["handle"] = self.executor.launch(request)
        except Exception as exc:  # noqa: BLE001 (reported to the server as this part's failure)
            self._finish(part, "failed", None, f"launch failed on {self.config.node}: {exc}")

    def _stop(self, c: dict[str, Any]) -> None:
        part = self.parts.pop(part_key(c["job_id"], c["attempt"], c.get("rank", 0)), None)
        if part is not None and part["status"] == "running":
            self.executor.cancel(part["job_id"], part["handle"], grace_s=float(c.get("grace_s", 10.0)))

    def _collect_ended(self) -> None:
        by_job = {p["job_id"]: p for p in self.parts.values() if p["status"] == "running"}
        for ev in self.executor.poll():
            part = by_job.get(ev.job_id)
            if part is not None:
                self._finish(part, ev.kind, ev.exit_code, ev.reason)

    def _finish(self, part: dict[str, Any], kind: str, exit_code: int | None, reason: str) -> None:
        part["status"] = "finished"
        part["result"] = {"kind": kind, "exit_code": exit_code, "reason": reason}

    @staticmethod
    def _ref(part: dict[str, Any]) -> dict[str, int]:
        return {"job_id": part["job_id"], "attempt": part["attempt"], "rank": part["rank"]}

    # -- logs -------------------------------------------------------------------------------------
    def _log_file(self, part: dict[str, Any]) -> Path | None:
        log_path = part.get("handle", {}).get("log")
        return Path(log_path) if log_path else None

    def _log_shipped(self, part: dict[str, Any]) -> bool:
        path = self._log_file(part)
        return path is None or not path.exists() or part.get("server_offset", 0) >= path.stat().st_size

    def _log_chunks(self) -> list[dict[str, Any]]:
        chunks = []
        for part in self.parts.values():
            path = self._log_file(part)
            if path is None or not path.exists():
                continue
            offset = int(part.get("server_offset", 0))
            if path.stat().st_size <= offset:
                continue
            with open(path, "rb") as f:
                f.seek(offset)
                data = f.read(MAX_LOG_CHUNK_BYTES)
            text = data.decode("utf-8", errors="replace")
            chunks.append({**self._ref(part), "offset": offset, "text": text})
        return chunks

    # -- repair check ---------------------------------------------------------------------------------
    def _run_check(self, check: dict[str, Any]) -> None:
        try:
            passed, output = self.check(check.get("command"), float(check.get("timeout_s") or 300))
        except Exception as exc:  # noqa: BLE001 (a broken check fails; it never kills the agent)
            passed, output = False, f"check crashed: {exc}"
        self.check_result = {"repair_id": check["repair_id"], "passed": passed, "output": output}
        self.drills.ecc.clear()  # a repaired GPU starts with a clean count
        self._check_thread = None

    def check(self, command: str | None, timeout_s: float) -> tuple[bool, str]:
        """The configured check command (exit 0 passes), else the built-in one: every GPU answers, runs cool."""
        if self.drills.take_check_failure():
            return False, "drill: check failed on purpose"
        if command:
            try:
                done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=timeout_s,
                                      cwd=self.config.work_dir, env={**os.environ, "AIDC_NODE": self.config.node})
            except subprocess.TimeoutExpired:
                return False, f"check timed out after {timeout_s:g} s"
            return done.returncode == 0, (done.stdout + done.stderr)[-4000:] + f"\nexit code {done.returncode}"
        gpus = self.probe.sample(set())
        if len(gpus) != self.probe.count:
            return False, f"{len(gpus)} of {self.probe.count} GPUs answered"
        hot = [g for g in gpus if g["temp_c"] >= 85]
        if hot:
            return False, f"GPU {hot[0]['index']} idles at {hot[0]['temp_c']:.0f} C"
        return True, f"{len(gpus)} GPUs answered, idle temperatures " + ", ".join(f"{g['temp_c']:.0f}" for g in gpus)

    # -- plumbing -------------------------------------------------------------------------------------
    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.client.post(path, json=body)
        if response.status_code >= 500:  # the server's trouble, not ours: tried again next time
            raise httpx.HTTPError(f"{path}: HTTP {response.status_code}")
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise AgentError(f"{path}: HTTP {response.status_code}: {detail}")
        return response.json()

    def _save(self) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"parts": self.parts, "started": sorted(self.started)}))
        os.replace(tmp, self.state_path)


class AgentError(Exception):
    """The server refused a request (bad token, node mismatch): said once, clearly."""
