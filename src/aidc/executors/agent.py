"""Runs jobs through node agents (`aidc agent` on each node): the server side is a mailbox, the agents act.

Design note. Like a kubelet, an agent converges on the desired state the server hands it in each
heartbeat reply: the job parts placed on its node (job id, attempt, rank) to run, and everything
else it runs to stop. So `launch` and `cancel` only record intent here; the heartbeat service
(server/services/agents.py) reads the database for the desired state and passes what agents report
back into `report`. Events are keyed by attempt: a late report of an older attempt (a node that
came back after its job was requeued) is dropped, and an agent never starts the same attempt twice.
A job spread over several nodes succeeds when every rank exits 0 and fails at the first rank that
does not. Agents re-send a finished report until the database shows it, so nothing is lost when
the server restarts between a report and the scheduler folding it.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from aidc.executors.base import Capabilities, ExecutorEvent, LaunchRequest, VolumeMount


class AgentExecutor:
    name = "agent"
    capabilities = Capabilities(multi_node=True, preemption=True, checkpoint_restore=True, fractional_gpus=False)

    isolates_jobs = True  # each agent runs its parts in its own sandbox (and refuses `required` when it cannot)
    runs_images = True

    def __init__(self, stop_grace_s: float = 10.0) -> None:
        self.stop_grace_s = stop_grace_s
        self._tokens: dict[tuple[int, int], str] = {}  # (job, attempt) -> its job token: kept in memory only
        self._lock = threading.Lock()
        self._events: list[ExecutorEvent] = []
        self._watch: dict[int, dict[str, Any]] = {}  # job id -> handle
        self._ranks_done: dict[tuple[int, int], dict[int, int]] = {}  # (job, attempt) -> {rank: exit code}
        self._reported: set[tuple[int, int]] = set()  # (job, attempt) whose final event is queued
        self._grace: dict[int, float] = {}  # job id -> grace the agent gets when told to stop it

    # -- the Executor protocol (scheduler thread) ---------------------------------------------
    def launch(self, request: LaunchRequest) -> dict[str, Any]:
        request.workdir.mkdir(parents=True, exist_ok=True)  # the server's copy of the logs the agents ship
        token = request.job_token  # never stored in the handle (the database): handed over in heartbeats
        handle = {"agent": True, "nodes": [n for n, _ in request.placement], "attempt": request.attempt,
                  "workdir": str(request.workdir), "log": str(request.workdir / "output.log"), "started_s": time.time(),
                  # what each agent needs to start its part (read by the heartbeat service)
                  "command": request.command, "env": dict(request.env), "max_runtime_s": request.max_runtime_s,
                  "sandbox": sandbox_fields(request)}
        with self._lock:
            self._watch[request.job_id] = handle
            if token is not None:
                self._tokens[(request.job_id, request.attempt)] = token
        return handle

    def cancel(self, job_id: int, handle: dict[str, Any], *, grace_s: float = 10.0) -> None:
        """The next heartbeat of each agent running it tells the agent to stop it (SIGTERM, then SIGKILL)."""
        with self._lock:
            self._watch.pop(job_id, None)
            self._grace[job_id] = grace_s

    def reattach(self, job_id: int, handle: dict[str, Any], max_runtime_s: float | None = None) -> bool:
        """The agents keep running their jobs across a server restart; watch them again."""
        if not handle.get("agent"):
            return False
        with self._lock:
            self._watch[job_id] = dict(handle)
        return True

    def poll(self) -> list[ExecutorEvent]:
        with self._lock:
            events, self._events = self._events, []
        return events

    def log_path(self, handle: dict[str, Any]) -> Path | None:
        return Path(handle["log"]) if handle.get("log") else None

    def watched(self) -> list[int]:
        with self._lock:
            return list(self._watch)

    # -- what agents report (request threads) -------------------------------------------------
    def token_for(self, job_id: int, attempt: int) -> str | None:
        """The job token of a live attempt launched by this server process (None after a restart)."""
        with self._lock:
            return self._tokens.get((job_id, attempt))

    def grace_for(self, job_id: int) -> float:
        with self._lock:
            return self._grace.get(job_id, self.stop_grace_s)

    def report(self, *, job_id: int, attempt: int, rank: int, ranks: int, kind: str, exit_code: int | None,
               reason: str, node: str) -> None:
        """One rank of a job attempt ended (succeeded | failed | lost) on `node`; idempotent."""
        key = (job_id, attempt)
        with self._lock:
            if key in self._reported:
                return
            if kind == "succeeded":
                done = self._ranks_done.setdefault(key, {})
                done[rank] = 0
                if len(done) < ranks:
                    return
                event = ExecutorEvent(job_id, "succeeded", exit_code=0, attempt=attempt)
            else:
                where = f" on {node}" + (f" (rank {rank})" if ranks > 1 else "")
                event = ExecutorEvent(job_id, "lost" if kind == "lost" else "failed", exit_code=exit_code,
                                      reason=(reason or kind) + where, attempt=attempt)
            self._reported.add(key)
            self._ranks_done.pop(key, None)
            self._events.append(event)

    def forget(self, job_id: int, attempt: int) -> None:
        """The database shows this attempt ended: drop what was kept for it."""
        with self._lock:
            self._reported.discard((job_id, attempt))
            self._ranks_done.pop((job_id, attempt), None)
            self._grace.pop(job_id, None)


def sandbox_fields(request: LaunchRequest) -> dict[str, Any]:
    """The isolation part of a launch request, as JSON for the agent (see `request_fields`)."""
    return {"tenant": request.tenant, "tenant_id": request.tenant_id,
            "identity": None if request.identity is None else vars(request.identity),
            "volumes": [vars(v) for v in request.volumes], "cpu_cores": request.cpu_cores,
            "memory_gib": request.memory_gib, "image": request.image, "isolation": request.isolation}


def request_fields(sandbox: dict[str, Any] | None) -> dict[str, Any]:
    """`sandbox_fields` back into LaunchRequest keyword arguments (on the agent). Missing: a part from a
    server before isolation, run as the agent's default job identity with no volumes."""
    from aidc.executors.base import JobIdentity

    sandbox = sandbox or {}
    identity = sandbox.get("identity")
    return {"tenant": str(sandbox.get("tenant") or ""), "tenant_id": sandbox.get("tenant_id"),
            "identity": JobIdentity(**identity) if identity else None,
            "volumes": tuple(VolumeMount(**v) for v in sandbox.get("volumes") or []),
            "cpu_cores": sandbox.get("cpu_cores"), "memory_gib": sandbox.get("memory_gib"),
            "image": sandbox.get("image"), "isolation": sandbox.get("isolation") or "best_effort"}
