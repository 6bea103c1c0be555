"""The Slurm executor: submit through slurmrestd (JWT) or the sbatch CLI, watch with one squeue per poll.

Design note. Each aidc job becomes one Slurm batch job whose script is a small wrapper: it records
the Slurm job id, exports aidc's variables, runs the command with `bash -c`, then writes the exit
code to `<workdir>/exit_code` (the workdir must be on a filesystem the server and the nodes share,
like the local executor's). Completion is read from that file when Slurm forgets the job (there is
no `sacct` without slurmdbd); Slurm's own final state says why a job without one ended. Jobs are
submitted `--no-requeue`: a node failure ends the Slurm job (NODE_FAIL) and aidc requeues it, so a
job never runs twice. `poll` asks Slurm about every watched job in one query, at most every
`poll_interval_s`. With `placement="aidc"` the job is pinned with `--nodelist` and `--gres=gpu:N`;
when Slurm reports a named node down or drained, the pin is dropped and Slurm's choice comes back in
the "running" event's `nodes`, as with `placement="slurm"`. REST is tried first when `rest_url` is
set; the CLI is the fallback (and the only way to drain nodes: v0.0.38 has no node update).
"""

from __future__ import annotations

import dataclasses
import getpass
import logging
import math
import os
import re
import shlex
import sys
import threading
import time
from pathlib import Path
from typing import Any, Literal

from aidc.core.errors import AidcError
from aidc.executors.base import Capabilities, DiscoveredNode, ExecutorEvent, LaunchRequest
from aidc.executors.slurm_api import (
    LOST, UNAVAILABLE, WAITING, SlurmError, SlurmJob, _Cli, _node_state, _Rest, parse_gres_gpus,
)

log = logging.getLogger("aidc.executors.slurm")

SCRIPT = """#!/bin/bash
# aidc job {job_id} ({name}), submitted by aidc's Slurm executor
echo "$SLURM_JOB_ID" > {slurm_id_file}
{exports}
export AIDC_NODES="$(scontrol show hostnames "$SLURM_JOB_NODELIST" 2>/dev/null | paste -sd, -)"
[ -n "$AIDC_NODES" ] || export AIDC_NODES="$SLURM_JOB_NODELIST"
bash -c {cmd}
code=$?
echo $code > {exit_tmp} && mv {exit_tmp} {exit_file}
exit $code
"""


def time_limit_minutes(max_runtime_s: float | None) -> int | None:
    """Slurm keeps time limits in whole minutes: round up (aidc enforces the exact limit itself)."""
    return None if max_runtime_s is None else max(1, math.ceil(max_runtime_s / 60.0))


# -- the executor -----------------------------------------------------------------------------------
class SlurmExecutor:
    """Jobs of a tenant with a `unix_uid` are submitted as that user (sbatch --uid/--gid, the server being
    root), so Slurm's own isolation applies: its cgroups, its uid on the nodes. The job gets a clean
    environment (--export=NIL plus aidc's variables), never the server's."""

    name = "slurm"
    isolates_jobs = True  # as the tenant's mapped user; a `required` tenant without a unix_uid is refused
    capabilities = Capabilities(multi_node=True, preemption=True, checkpoint_restore=True, fractional_gpus=False)

    def __init__(self, *, rest_url: str | None = None, jwt: str | None = None, jwt_file: str | None = None,
                 user: str | None = None, partition: str | None = None, placement: str = "aidc",
                 bin_dir: str | None = None, conf: str | None = None, poll_interval_s: float = 0.5,
                 unavailable_after_s: float = 30.0, command_timeout_s: float = 15.0) -> None:
        if placement not in ("aidc", "slurm"):
            raise AidcError(f"slurm executor option placement: must be 'aidc' or 'slurm', got {placement!r}")
        if conf is not None and not Path(conf).is_file():
            raise AidcError(f"slurm executor option conf: no slurm.conf at {conf!r}")
        if bin_dir is not None and not Path(bin_dir).is_dir():
            raise AidcError(f"slurm executor option bin_dir: {bin_dir!r} is not a directory")
        if jwt_file is not None and not Path(jwt_file).is_file():
            raise AidcError(f"slurm executor option jwt_file: no file at {jwt_file!r}")
        for opt, value in (("poll_interval_s", poll_interval_s), ("unavailable_after_s", unavailable_after_s),
                           ("command_timeout_s", command_timeout_s)):
            if not isinstance(value, (int, float)) or value < 0:
                raise AidcError(f"slurm executor option {opt}: must be a number >= 0, got {value!r}")
        self.placement, self.partition = placement, partition
        self.user = user or getpass.getuser()
        self.poll_interval_s, self.unavailable_after_s = float(poll_interval_s), float(unavailable_after_s)
        self.cli = _Cli(bin_dir, conf, command_timeout_s)
        self.rest: _Rest | None = None
        if rest_url:
            if not rest_url.startswith(("http://", "https://")):
                raise AidcError(f"slurm executor option rest_url: expected http(s)://host:port, got {rest_url!r}")
            jwt = jwt or os.environ.get("SLURM_JWT")
            if not jwt and not jwt_file:
                raise AidcError("slurm executor option rest_url needs a token: set jwt or jwt_file "
                                "(mint one with `scontrol token username=USER`)")
            self.rest = _Rest(rest_url, self.user, jwt, jwt_file, command_timeout_s)
        elif not self.cli.available():
            raise AidcError(f"slurm executor: sbatch/squeue/scancel not found (option bin_dir={bin_dir!r}) "
                            "and no rest_url configured")
        self._lock = threading.Lock()
        self._watch: dict[int, dict[str, Any]] = {}  # aidc job id -> handle + watch state
        self._stopping: dict[int, float] = {}  # slurm id -> when to SIGKILL
        self._seen: dict[int, SlurmJob] = {}  # slurm id -> last answer
        self._last_query_s = 0.0
        self._node_states: dict[str, str] = {}
        self._node_states_at_s = 0.0

    # -- backends with fallback ---------------------------------------------------------------
    def _call(self, what: str, rest_fn, cli_fn):  # noqa: ANN001, ANN202
        """REST first when configured, then the CLI when it is installed; the error of the last one tried."""
        if self.rest is not None:
            try:
                return rest_fn(self.rest), "rest"
            except SlurmError as exc:
                if not self.cli.available() and what != "update node":
                    raise
                log.warning("slurmrestd %s failed (%s); falling back to the Slurm CLI", what, exc)
        return cli_fn(self.cli), "cli"

    # -- launch -------------------------------------------------------------------------------
    def launch(self, request: LaunchRequest) -> dict[str, Any]:
        wd = request.workdir
        self._check_identity(request)
        wd.mkdir(parents=True, exist_ok=True)
        for name in ("exit_code", "exit_code.tmp", "slurm_job_id"):
            (wd / name).unlink(missing_ok=True)
        log_file = wd / "output.log"
        log_file.touch()
        script = self._script(request)
        (wd / "job.sh").write_text(script)
        os.chmod(wd / "job.sh", 0o600)  # it holds the job's token
        nodes, gres, pinned = self._resources(request)
        if request.identity is not None:  # the job's files are its user's; slurmd opens the log as that user
            os.chown(wd, request.identity.uid, request.identity.gid)
            (wd / "slurm_job_id").touch()  # the script writes it too (as the user), for a crash right after submit
            for name in ("output.log", "job.sh", "slurm_job_id"):
                os.chown(wd / name, request.identity.uid, request.identity.gid)
            wd.chmod(0o700)
            args = self._sbatch_args(request, nodes, gres, pinned)  # only sbatch submits as another user
            slurm_id, method = self.cli.submit(wd / "job.sh", args, {}), "cli"
        else:
            slurm_id, method = self._call(
                "submit",
                lambda rest: rest.submit(script, self._rest_job(request, nodes, gres, pinned)),
                lambda cli: cli.submit(wd / "job.sh", self._sbatch_args(request, nodes, gres, pinned), {}))
        (wd / "slurm_job_id").write_text(f"{slurm_id}\n")
        log.info("aidc job %s submitted as Slurm job %s via %s%s", request.job_id, slurm_id,
                 "slurmrestd" if method == "rest" else "sbatch", f" on {','.join(pinned)}" if pinned else "")
        handle = {"slurm_job_id": slurm_id, "workdir": str(wd), "log": str(log_file), "submit": method,
                  "submitted_s": time.time(), "pinned": list(pinned), "attempt": getattr(request, "attempt", 1)}
        with self._lock:
            self._watch[request.job_id] = self._watch_state(handle, request.max_runtime_s)
            self._last_query_s = 0.0  # the next poll asks at once (a start is news)
        return handle

    def _check_identity(self, request: LaunchRequest) -> None:
        if request.identity is None and request.isolation == "required":
            raise AidcError(f"tenant {request.tenant} requires isolated jobs: give it a unix_uid (a user on the "
                            "Slurm nodes) so its jobs are submitted as that user")
        if request.identity is not None:
            if os.geteuid() != 0:
                raise AidcError(f"tenant {request.tenant}'s jobs run as uid {request.identity.uid}: only a server "
                                "running as root may submit as another user (sbatch --uid)")
            if not self.cli.available():
                raise AidcError("submitting as the tenant's user needs the Slurm CLI (sbatch --uid); "
                                "slurmrestd submits only as its token's user")

    def _script(self, request: LaunchRequest) -> str:
        wd = request.workdir
        base = {"PATH": f"{Path(sys.prefix) / 'bin'}:/usr/local/bin:/usr/bin:/bin", "HOME": str(wd), "LANG": "C.UTF-8"}
        if request.identity is not None:
            base.update(USER=request.identity.user, LOGNAME=request.identity.user)
        extra = {k: v for k, v in (("AIDC_JOB_TOKEN", request.job_token), ("AIDC_SERVER", request.server_url)) if v}
        env = {**base, **request.env, "AIDC_JOB_ID": str(request.job_id), "AIDC_JOB_NAME": request.name, **extra}
        exports = "\n".join(f"export {k}={shlex.quote(v)}" for k, v in env.items() if re.fullmatch(r"[A-Za-z_]\w*", k))
        q = lambda p: shlex.quote(str(p))  # noqa: E731
        return SCRIPT.format(job_id=request.job_id, name=request.name.replace("\n", " "), exports=exports,
                             cmd=shlex.quote(request.command), slurm_id_file=q(wd / "slurm_job_id"),
                             exit_tmp=q(wd / "exit_code.tmp"), exit_file=q(wd / "exit_code"))

    def _resources(self, request: LaunchRequest) -> tuple[int, str | None, tuple[str, ...]]:
        """Node count, the GPU request (--gres or --gpus) and the nodes to pin to (empty: Slurm chooses)."""
        placement = request.placement or ()
        count = max(1, len(placement))
        per_node = [len(idx) for _, idx in placement]
        if not any(per_node):
            gres = None
        elif len(set(per_node)) == 1:
            gres = f"gres:gpu:{per_node[0]}"
        else:  # uneven: a total; Slurm spreads it over the nodes
            gres = f"gpus:{sum(per_node)}"
        pinned: tuple[str, ...] = ()
        if self.placement == "aidc" and placement:
            pinned = tuple(n for n, _ in placement)
            unavailable = [n for n in pinned if self._node_state_now(n) in ("down", "draining")]
            if unavailable:
                log.warning("aidc job %s was placed on %s, which Slurm reports unavailable; letting Slurm place it",
                            request.job_id, ",".join(unavailable))
                pinned = ()
        return count, gres, pinned

    def _sbatch_args(self, request: LaunchRequest, nodes: int, gres: str | None, pinned: tuple[str, ...]) -> list[str]:
        wd = request.workdir
        args = [f"--job-name=aidc-{request.job_id}-{request.name}"[:200], f"--chdir={wd}",
                f"--output={wd / 'output.log'}", "--open-mode=append", "--no-requeue", "--export=NIL",
                f"--nodes={nodes}"]
        if request.identity is not None:
            args += [f"--uid={request.identity.uid}", f"--gid={request.identity.gid}"]
        if self.partition:
            args.append(f"--partition={self.partition}")
        if pinned:
            args.append(f"--nodelist={','.join(pinned)}")
        if gres:
            kind, _, value = gres.partition(":")
            args.append(f"--gres={value}" if kind == "gres" else f"--gpus={value}")
        minutes = time_limit_minutes(request.max_runtime_s)
        if minutes is not None:
            args.append(f"--time={minutes}")
        return args

    def _rest_job(self, request: LaunchRequest, nodes: int, gres: str | None, pinned: tuple[str, ...]) -> dict[str, Any]:
        wd = request.workdir
        env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "USER") if k in os.environ}
        env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
        job: dict[str, Any] = {"name": f"aidc-{request.job_id}-{request.name}"[:200], "current_working_directory": str(wd),
                               "standard_output": str(wd / "output.log"), "open_mode": "append", "no_requeue": True,
                               "environment": env, "nodes": str(nodes)}  # "requeue": false is ignored by 22.05
        if self.partition:
            job["partition"] = self.partition
        if pinned:
            job["nodelist"] = ",".join(pinned)
        if gres:
            kind, _, value = gres.partition(":")
            job["gres" if kind == "gres" else "gpus"] = value
        minutes = time_limit_minutes(request.max_runtime_s)
        if minutes is not None:
            job["time_limit"] = minutes
        return job

    def _watch_state(self, handle: dict[str, Any], max_runtime_s: float | None) -> dict[str, Any]:
        return {**handle, "max_runtime_s": max_runtime_s, "running_sent": False, "unavailable_since_s": None}

    def _node_state_now(self, node: str) -> str:
        """Slurm's view of a node, cached for a few seconds (one sinfo or GET /nodes per refresh)."""
        if time.monotonic() - self._node_states_at_s > 5.0:
            try:
                self._node_states, _ = self._call("node states", lambda r: r.node_states(), lambda c: c.node_states())
            except SlurmError as exc:
                log.warning("could not read Slurm node states: %s", exc)
            self._node_states_at_s = time.monotonic()
        return self._node_states.get(node, "active")

    # -- cancel -------------------------------------------------------------------------------
    def cancel(self, job_id: int, handle: dict[str, Any], *, grace_s: float = 10.0) -> None:
        """SIGTERM a running job now (KILL from a later poll after grace_s); a pending one is cancelled outright."""
        with self._lock:
            self._watch.pop(job_id, None)
        slurm_id = _slurm_id(handle)
        if slurm_id is None or slurm_id in self._stopping:
            return
        seen = self._seen.get(slurm_id)
        if seen is None:
            seen = self._query([slurm_id]).get(slurm_id)
        if seen is None or seen.state not in ("RUNNING", "COMPLETING", "SUSPENDED"):
            sig = "KILL"  # pending (Slurm defers signals to pending jobs) or already gone
        else:
            sig = "TERM" if grace_s > 0 else "KILL"
        try:
            self._call("cancel", lambda r: r.signal(slurm_id, sig), lambda c: c.signal(slurm_id, sig))
        except SlurmError as exc:
            log.warning("cancel of Slurm job %s (aidc job %s) failed: %s", slurm_id, job_id, exc)
            return
        if sig == "TERM":
            with self._lock:
                self._stopping[slurm_id] = time.monotonic() + grace_s

    def _escalate(self, answers: dict[int, SlurmJob]) -> None:
        """SIGKILL the jobs still running past their grace period; forget the ones that ended."""
        now = time.monotonic()
        for slurm_id, deadline in list(self._stopping.items()):
            job = answers.get(slurm_id)
            if job is None or job.state not in ("RUNNING", "SUSPENDED", "COMPLETING"):
                self._stopping.pop(slurm_id, None)
            elif job.state != "COMPLETING" and now >= deadline:
                try:
                    self._call("kill", lambda r: r.signal(slurm_id, "KILL"), lambda c: c.signal(slurm_id, "KILL"))
                except SlurmError as exc:
                    log.warning("kill of Slurm job %s failed: %s", slurm_id, exc)
                self._stopping.pop(slurm_id, None)

    def stopping(self) -> int:
        """Jobs sent SIGTERM and not yet seen gone."""
        self._escalate(self._query(list(self._stopping)))
        return len(self._stopping)

    def finish_stops(self, timeout_s: float = 10.0) -> None:
        """Before the server exits: wait for stopped jobs to end, SIGKILL what outlives `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while self.stopping() and time.monotonic() < deadline:
            time.sleep(0.2)
        for slurm_id in list(self._stopping):
            self._stopping[slurm_id] = 0.0
        self._escalate(self._query(list(self._stopping)))

    # -- watch --------------------------------------------------------------------------------
    def _query(self, ids: list[int]) -> dict[int, SlurmJob]:
        if not ids:
            return {}
        try:
            answers, _ = self._call("job query", lambda r: r.jobs(ids), lambda c: c.jobs(ids))
        except SlurmError as exc:
            log.warning("could not ask Slurm about %d jobs: %s", len(ids), exc)
            raise
        self._seen.update(answers)
        return answers

    def poll(self) -> list[ExecutorEvent]:
        now_mono = time.monotonic()
        if now_mono - self._last_query_s < self.poll_interval_s:
            return []
        with self._lock:
            watched = list(self._watch.items())
        ids = [int(h["slurm_job_id"]) for _, h in watched] + list(self._stopping)
        if not ids:
            return []
        self._last_query_s = now_mono
        self._seen = {k: v for k, v in self._seen.items() if k in set(ids)}
        try:
            answers = self._query(ids)
        except SlurmError:
            return []  # Slurm unreachable: nothing is concluded from silence; asked again next time
        self._escalate(answers)
        events: list[ExecutorEvent] = []
        for job_id, state in watched:
            for event in self._check(job_id, state, answers.get(int(state["slurm_job_id"]))):
                events.append(dataclasses.replace(event, attempt=state.get("attempt")))
                if event.kind != "running":
                    with self._lock:
                        self._watch.pop(job_id, None)
        if any(e.kind == "lost" for e in events):
            self._node_states_at_s = 0.0  # a node probably failed: look again before the next launch
        return events

    def _check(self, job_id: int, state: dict[str, Any], job: SlurmJob | None) -> list[ExecutorEvent]:
        exit_file = Path(state["workdir"]) / "exit_code"
        events: list[ExecutorEvent] = []
        if job is not None and job.nodes and job.state not in WAITING | LOST and not state["running_sent"]:
            state["running_sent"] = True
            events.append(ExecutorEvent(job_id, "running", reason=f"running in Slurm as job {job.slurm_id}",
                                        nodes=job.nodes))
        if job is None or job.state in ("COMPLETED", "FAILED") or (job.state == "COMPLETING" and exit_file.exists()):
            if exit_file.exists():
                code = int(exit_file.read_text().strip() or 1)
                kind = "succeeded" if code == 0 else "failed"
                return events + [ExecutorEvent(job_id, kind, exit_code=code, reason="" if code == 0 else f"exit code {code}")]
            if job is None:
                return events + [ExecutorEvent(job_id, "lost", reason=f"Slurm job {state['slurm_job_id']} is gone "
                                                                        "without an exit code")]
            if job.state == "COMPLETED":
                return events + [ExecutorEvent(job_id, "succeeded", exit_code=0)]
        if job is not None and job.state == "PENDING" and state["running_sent"]:  # requeued by Slurm itself
            self._kill_quietly(job.slurm_id)
            return events + [ExecutorEvent(job_id, "lost", reason=f"Slurm job {job.slurm_id} was requeued by Slurm "
                                                                  f"({job.reason}); aidc requeues it instead")]
        if job is None or job.state in WAITING | {"RUNNING", "COMPLETING"}:
            return events + self._check_waiting(job_id, state, job)
        if job.state in LOST:
            if job.state not in ("NODE_FAIL", "BOOT_FAIL"):  # the Slurm job may come back: stop it, aidc requeues
                self._kill_quietly(job.slurm_id)
            return events + [ExecutorEvent(job_id, "lost", reason=f"Slurm job {job.slurm_id} {job.state.lower()}"
                                                                  f"{f' ({job.reason})' if job.reason not in ('', 'None') else ''}")]
        why = {"TIMEOUT": "Slurm time limit reached", "OUT_OF_MEMORY": "out of memory",
               "CANCELLED": "cancelled in Slurm (not by aidc)", "DEADLINE": "Slurm deadline reached"}
        return events + [ExecutorEvent(job_id, "failed", exit_code=None,
                                       reason=why.get(job.state, f"Slurm job {job.slurm_id} {job.state.lower()}"
                                                      f"{f' ({job.reason})' if job.reason not in ('', 'None') else ''}"))]

    def _check_waiting(self, job_id: int, state: dict[str, Any], job: SlurmJob | None) -> list[ExecutorEvent]:
        """Max runtime of a running job; a pinned job that cannot start on its nodes."""
        if job is None:
            return []
        started_s = max(job.start_s or 0.0, float(state.get("submitted_s") or 0.0))  # squeue: whole seconds
        if job.state == "RUNNING" and state.get("max_runtime_s") is not None and job.start_s is not None \
                and time.time() > started_s + float(state["max_runtime_s"]):
            self._kill_quietly(job.slurm_id, "TERM", grace_s=2.0)
            return [ExecutorEvent(job_id, "failed", exit_code=None, reason="max_runtime_s exceeded: killed")]
        if job.state == "PENDING" and job.reason.startswith(UNAVAILABLE):
            since = state["unavailable_since_s"] = state["unavailable_since_s"] or time.monotonic()
            if time.monotonic() - since >= self.unavailable_after_s:
                self._kill_quietly(job.slurm_id)
                return [ExecutorEvent(job_id, "lost", reason=f"Slurm cannot start it: {job.reason}")]
        else:
            state["unavailable_since_s"] = None
        return []

    def _kill_quietly(self, slurm_id: int, sig: str = "KILL", grace_s: float = 0.0) -> None:
        try:
            self._call("cancel", lambda r: r.signal(slurm_id, sig), lambda c: c.signal(slurm_id, sig))
            if sig != "KILL":
                self._stopping[slurm_id] = time.monotonic() + grace_s
        except SlurmError as exc:
            log.warning("could not stop Slurm job %s: %s", slurm_id, exc)

    def reattach(self, job_id: int, handle: dict[str, Any], max_runtime_s: float | None = None) -> bool:
        handle = dict(handle)
        slurm_id = _slurm_id(handle)
        if slurm_id is None:
            return False
        handle["slurm_job_id"] = slurm_id
        handle.setdefault("log", str(Path(handle["workdir"]) / "output.log"))
        try:
            known = slurm_id in self._query([slurm_id])
        except SlurmError:
            known = True  # Slurm unreachable: keep watching; poll decides once it answers
        if not known and not (Path(handle["workdir"]) / "exit_code").exists():
            return False
        state = self._watch_state(handle, max_runtime_s)
        with self._lock:
            self._watch[job_id] = state
            self._last_query_s = 0.0
        return True

    def log_path(self, handle: dict[str, Any]) -> Path | None:
        if handle.get("log"):
            return Path(handle["log"])
        return Path(handle["workdir"]) / "output.log" if handle.get("workdir") else None

    def watched(self) -> list[int]:
        with self._lock:
            return list(self._watch)

    # -- nodes --------------------------------------------------------------------------------
    def discover(self) -> list[DiscoveredNode]:
        """Slurm's nodes (GET /nodes or `sinfo --json`): partition, GPUs from GRES, CPUs, memory, state."""
        from aidc.core.gpus import DEFAULT_CATALOG

        raw, _ = self._call("node list", lambda r: r.nodes(), lambda c: c.nodes())
        found: dict[str, DiscoveredNode] = {}
        for n in raw:
            parts = list(n.get("partitions") or [])
            if self.partition and self.partition not in parts:
                continue
            gpus, kind = parse_gres_gpus(str(n.get("gres") or ""))
            found[n["name"]] = DiscoveredNode(
                name=n["name"], gpus=gpus, cpu_cores=int(n.get("cpus") or 0),
                ram_gib=round(float(n.get("real_memory") or 0) / 1024.0, 2),
                gpu_model=DEFAULT_CATALOG.canonical(kind) if kind else None,
                partition=self.partition or (parts[0] if parts else ""),
                state=_node_state(str(n.get("state", "")), n.get("state_flags") or []))
        return list(found.values())

    def set_node_state(self, node: str, state: Literal["drain", "resume"], reason: str) -> None:
        """Drain or resume a Slurm node with `scontrol update` (slurmrestd v0.0.38 cannot update nodes)."""
        if state not in ("drain", "resume"):
            raise AidcError(f"node state must be 'drain' or 'resume', got {state!r}")
        if not re.fullmatch(r"[\w.\-\[\],]+", node):
            raise AidcError(f"not a Slurm node name: {node!r}")
        self.cli.update_node(node, state, reason or "aidc")
        self._node_states_at_s = 0.0


def _slurm_id(handle: dict[str, Any]) -> int | None:
    """The Slurm job id of a handle, or from `<workdir>/slurm_job_id` when the handle was never saved."""
    if handle.get("slurm_job_id"):
        return int(handle["slurm_job_id"])
    if handle.get("workdir"):
        path = Path(handle["workdir"]) / "slurm_job_id"
        if path.exists() and path.read_text().strip().isdigit():
            return int(path.read_text().strip())
    return None
