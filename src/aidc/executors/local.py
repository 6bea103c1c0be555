"""The embedded default executor: runs each job isolated (executors/sandbox) as a process group on this host.

Design note. A job runs in its own session (so a cancel reaches the whole group, and the job outlives
a server killed with -9), inside the sandbox: its own uid, mount and pid namespaces, a scrubbed
environment and a cgroup. `request.workdir` is the launcher's control folder (log, pid, exit code),
never shown to the job; the job works in `<workdir>/work`. A small wrapper outside the sandbox writes
the exit code to `<workdir>/exit_code` when the command ends, so completion is read from disk, not
from `wait()`, and a job cannot forge it: that works the same for jobs this process started and for
jobs re-attached after a restart. The handle stores the pid and the process start time (from /proc),
so a recycled pid is never mistaken for the job. A job whose process is gone without an exit code was
lost (the host rebooted).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shlex
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from aidc.executors.base import Capabilities, ExecutorEvent, LaunchRequest
from aidc.executors.sandbox import Sandbox, SandboxConfig, Wrapped
from aidc.executors.sandbox.processes import signal_job

log = logging.getLogger("aidc.executors.local")
# first thing, record our pid (so a launch interrupted before the handle was saved can be found again);
# the sandboxed part joins the job's cgroup in a subshell, so the wrapper itself stays outside it
WRAPPER = ('echo $$ > {pid_file}; ({join}exec {argv}); code=$?; '
           'echo $code > {exit_tmp} && mv {exit_tmp} {exit_file}; exit $code')
JOIN = 'for f in {files}; do echo $BASHPID > "$f" || exit 125; done; '


def _proc_start_ticks(pid: int) -> int | None:
    """Process start time in clock ticks since boot (field 22 of /proc/PID/stat); None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = stat[stat.rfind(")") + 2:].split()
    return int(fields[19]) if fields[0] != "Z" else None


class LocalExecutor:
    name = "local"

    def __init__(self, multi_node: bool = True, sandbox: SandboxConfig | dict[str, Any] | None = None) -> None:
        """multi_node: run a job placed on several nodes as one process on this host with all its GPUs (the
        embedded stand-in for a cluster, as in the demo); False refuses such jobs at submit.
        sandbox: how jobs are isolated (SandboxConfig or its fields); default: bubblewrap, uid per tenant."""
        self.capabilities = Capabilities(multi_node=multi_node, preemption=True, checkpoint_restore=True,
                                         fractional_gpus=False)
        config = sandbox if isinstance(sandbox, SandboxConfig) else SandboxConfig(**_paths(sandbox or {}))
        self.sandbox = Sandbox(config)
        self._lock = threading.Lock()
        self._watch: dict[int, dict[str, Any]] = {}  # job id -> handle (+ deadline)
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        self._stopping: dict[int, tuple[dict[str, Any], float, subprocess.Popen[bytes] | None]] = {}  # pid -> ...

    @property
    def isolates_jobs(self) -> bool:
        return self.sandbox.isolates

    @property
    def runs_images(self) -> bool:
        return self.sandbox.isolates

    def describe_isolation(self) -> str:
        return self.sandbox.describe()

    def launch(self, request: LaunchRequest) -> dict[str, Any]:
        control = request.workdir
        control.mkdir(parents=True, exist_ok=True)
        os.chmod(control, 0o700)  # the launcher's: log, pid, exit code
        for name in ("exit_code", "exit_code.tmp", "pid"):
            (control / name).unlink(missing_ok=True)
        log_file = control / "output.log"
        work = control / "work"
        self.sandbox.prepare_dirs(work, self.sandbox.identity(request))
        wrapped = self.sandbox.wrap(request, work=work, cgroup_name=_cgroup_name(request))
        script = _wrapper_script(wrapped, control)
        try:
            with open(log_file, "ab") as out:
                proc = subprocess.Popen(["/bin/bash", "-c", script], cwd=work, env={"PATH": "/usr/bin:/bin"},
                                        stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        start_new_session=True)
        except OSError:
            self.sandbox.finish(wrapped.cgroup)
            raise
        handle = {"pid": proc.pid, "start_ticks": _proc_start_ticks(proc.pid), "workdir": str(control),
                  "log": str(log_file), "started_s": time.time(), "isolated": wrapped.isolated,
                  "uid": wrapped.uid, "cgroup": wrapped.cgroup}
        with self._lock:
            self._children[request.job_id] = proc
            self._watch[request.job_id] = {**handle, "deadline_s": _deadline(handle["started_s"], request.max_runtime_s)}
        return handle

    def reattach(self, job_id: int, handle: dict[str, Any], max_runtime_s: float | None = None) -> bool:
        handle = dict(handle)
        if not handle.get("pid") and handle.get("workdir"):  # launched, but the server died before saving the pid
            pid_file = Path(handle["workdir"]) / "pid"
            if pid_file.exists() and pid_file.read_text().strip().isdigit():
                handle["pid"] = int(pid_file.read_text().strip())
                handle.setdefault("log", str(Path(handle["workdir"]) / "output.log"))
        if not handle.get("pid"):
            return False
        alive = self._same_process(handle)
        if not alive and not (Path(handle["workdir"]) / "exit_code").exists():
            return False
        with self._lock:
            self._watch[job_id] = {**handle, "deadline_s": _deadline(handle.get("started_s", time.time()), max_runtime_s)}
        return True

    def cancel(self, job_id: int, handle: dict[str, Any], *, grace_s: float = 10.0) -> None:
        """SIGTERM the job's process group now; `poll` sends SIGKILL once `grace_s` has passed. Never blocks."""
        with self._lock:
            self._watch.pop(job_id, None)
            child = self._children.pop(job_id, None)
        if handle.get("pid") and self._same_process(handle):
            if not handle.get("isolated") or not signal_job(int(handle["pid"]), signal.SIGTERM):
                _kill_group(handle["pid"], signal.SIGTERM)  # unisolated, or nothing inside yet
            with self._lock:
                self._stopping[int(handle["pid"])] = (dict(handle), time.monotonic() + grace_s, child)
        elif child is not None:
            child.poll()

    def _escalate(self) -> None:
        """SIGKILL groups still alive past their grace period; forget the ones that are gone."""
        with self._lock:
            stopping = list(self._stopping.items())
        now = time.monotonic()
        for pid, (handle, deadline, child) in stopping:
            if child is not None:
                child.poll()
            if not _group_alive(pid) and not (handle.get("isolated") and signal_job(pid, 0)):
                with self._lock:  # the whole group and the job inside, not just the wrapper (a job may trap SIGTERM)
                    self._stopping.pop(pid, None)
                self.sandbox.finish(handle.get("cgroup"))
            elif now >= deadline:
                _kill_group(pid, signal.SIGKILL)  # bwrap dies; its namespace dies with it
                self.sandbox.finish(handle.get("cgroup"))

    def finish_stops(self, timeout_s: float = 10.0) -> None:
        """Before the server exits: wait for stopped jobs to end, SIGKILL what outlives `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while self.stopping() and time.monotonic() < deadline:
            time.sleep(0.02)
        with self._lock:
            left = dict(self._stopping)
            self._stopping.clear()
        for pid, (handle, _, _) in left.items():
            _kill_group(pid, signal.SIGKILL)
            self.sandbox.finish(handle.get("cgroup"))

    def stopping(self) -> int:
        """Processes sent SIGTERM and not yet gone."""
        self._escalate()
        with self._lock:
            return len(self._stopping)

    def poll(self) -> list[ExecutorEvent]:
        self._escalate()
        events: list[ExecutorEvent] = []
        with self._lock:
            watched = list(self._watch.items())
        now = time.time()
        for job_id, handle in watched:
            event = self._check(job_id, handle, now)
            if event is not None:
                events.append(event)
                with self._lock:
                    self._watch.pop(job_id, None)
                    child = self._children.pop(job_id, None)
                if child is not None:
                    child.poll()
        return events

    def _check(self, job_id: int, handle: dict[str, Any], now: float) -> ExecutorEvent | None:
        child = self._children.get(job_id)
        if child is not None:
            child.poll()  # reap, so the pid does not linger as a zombie
        exit_file = Path(handle["workdir"]) / "exit_code"
        if exit_file.exists():
            code = int(exit_file.read_text().strip() or 1)
            oom = self.sandbox.finish(handle.get("cgroup"))  # kills what the job left running, frees its cgroup
            kind = "succeeded" if code == 0 else "failed"
            reason = "" if code == 0 else f"exit code {code}" + (": killed at its memory limit" if oom else "")
            return ExecutorEvent(job_id, kind, exit_code=code, reason=reason)
        if handle.get("deadline_s") and now > handle["deadline_s"]:
            self.cancel(job_id, handle, grace_s=2.0)  # SIGTERM now, SIGKILL from a later poll
            return ExecutorEvent(job_id, "failed", exit_code=None, reason="max_runtime_s exceeded: killed")
        if not self._same_process(handle):
            if exit_file.exists():
                return self._check(job_id, handle, now)
            return ExecutorEvent(job_id, "lost", reason="process gone without an exit code")
        return None

    def log_path(self, handle: dict[str, Any]) -> Path | None:
        return Path(handle["log"]) if handle.get("log") else None

    def watched(self) -> list[int]:
        with self._lock:
            return list(self._watch)

    def _same_process(self, handle: dict[str, Any]) -> bool:
        """The pid is alive and still our job's process (not a recycled pid)."""
        pid = int(handle["pid"])
        ticks = _proc_start_ticks(pid)
        if ticks is None:
            return False
        if handle.get("start_ticks") is not None:
            return ticks == handle["start_ticks"]
        try:  # no start time recorded: recognise the job by the working directory it runs in
            control = Path(handle["workdir"]).resolve()
            return os.readlink(f"/proc/{pid}/cwd") in (str(control), str(control / "work"))
        except OSError:
            return False


def _paths(options: dict[str, Any]) -> dict[str, Any]:
    """SandboxConfig fields from JSON-able executor options (paths as strings)."""
    out = dict(options)
    for key in ("hidden_paths", "ro_paths"):
        if key in out:
            out[key] = tuple(Path(p) for p in out[key])
    if "device_dir" in out:
        out["device_dir"] = Path(out["device_dir"])
    return out


def _cgroup_name(request: LaunchRequest) -> str:
    """Unique on this host: two agents on one machine may run ranks of the same job."""
    digest = hashlib.sha1(str(request.workdir.resolve()).encode()).hexdigest()[:10]
    return f"job-{request.job_id}-{request.attempt}-{digest}"


def _wrapper_script(wrapped: Wrapped, control: Path) -> str:
    q = lambda p: shlex.quote(str(p))  # noqa: E731
    join = JOIN.format(files=" ".join(q(f) for f in wrapped.procs_files)) if wrapped.procs_files else ""
    return WRAPPER.format(join=join, argv=shlex.join(wrapped.argv), pid_file=q(control / "pid"),
                          exit_tmp=q(control / "exit_code.tmp"), exit_file=q(control / "exit_code"))


def _deadline(started_s: float, max_runtime_s: float | None) -> float | None:
    return None if max_runtime_s is None else started_s + max_runtime_s


def _group_alive(pgid: int) -> bool:
    """Any process left in the group (signal 0 checks without sending)."""
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def _kill_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
