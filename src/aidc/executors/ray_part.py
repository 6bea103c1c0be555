"""The Ray actor that runs one part of a job, with its watchdog; shipped to Ray workers by value."""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

# The part's process: record the pid, start a watchdog that kills the group when the actor's
# worker process is gone, run the command, write the exit code atomically.
WRAPPER = ('echo $$ > {pid_file}; '
           '( while kill -0 {actor_pid} 2>/dev/null; do sleep 1; done; kill -KILL 0 ) & '
           'bash -c {cmd}; code=$?; kill $! 2>/dev/null; '
           'echo $code > {exit_tmp} && mv {exit_tmp} {exit_file}; exit $code')


# -- the actor (runs on a Ray worker; only the standard library and ray) ---------------------------
class JobPart:
    """One part (rank) of a job on one Ray node: starts the command at creation, reports, stops it."""

    def __init__(self, spec: dict[str, Any]) -> None:
        import ray

        self.spec = spec
        self.node_ip: str = ray.util.get_node_ip_address()
        self.node_id: str = ray.get_runtime_context().get_node_id()
        self.port: int | None = _free_port(self.node_ip) if spec["rank"] == 0 else None
        gpu_ids = [str(g) for g in ray.get_gpu_ids()]
        master_ip, master_port = (self.node_ip, self.port) if spec["rank"] == 0 else _rank0_address(spec)
        workdir = Path(spec["workdir"])
        workdir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **spec["env"], "CUDA_VISIBLE_DEVICES": ",".join(gpu_ids),
               "AIDC_MASTER_ADDR": str(master_ip), "AIDC_MASTER_PORT": str(master_port)}
        exit_file = spec["exit_file"]
        script = WRAPPER.format(cmd=shlex.quote(spec["command"]), actor_pid=os.getpid(),
                                pid_file=shlex.quote(spec["pid_file"]), exit_tmp=shlex.quote(exit_file + ".tmp"),
                                exit_file=shlex.quote(exit_file))
        with open(spec["log"], "ab") as out:
            self.proc = subprocess.Popen(["bash", "-c", script], cwd=workdir, env=env, stdout=out,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        self._info = {"pid": self.proc.pid, "node_ip": self.node_ip, "node_id": self.node_id, "gpus": gpu_ids,
                      "hostname": socket.gethostname(), "master": f"{master_ip}:{master_port}",
                      "started_s": time.time()}

    def info(self) -> dict[str, Any]:
        return self._info

    def address(self) -> tuple[str, int | None]:
        return self.node_ip, self.port

    def wait(self) -> int:
        """Block until the command ends; its exit code (128+N when killed by signal N)."""
        code = self.proc.wait()
        return code if code >= 0 else 128 - code

    def stop(self, grace_s: float) -> bool:
        """SIGTERM the process group, SIGKILL what is left after grace_s; True when the group is gone."""
        pgid = self.proc.pid
        _signal_group(pgid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            self.proc.poll()  # reap the leader, so a zombie does not count as alive
            if not _group_alive(pgid):
                return True
            time.sleep(0.05)
        _signal_group(pgid, signal.SIGKILL)
        self.proc.poll()
        return not _group_alive(pgid)


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _rank0_address(spec: dict[str, Any], timeout_s: float = 120.0) -> tuple[str, int]:
    """Rank 0's node IP and port, asked from rank 0's actor (created first, in the same placement group)."""
    import ray

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            rank0 = ray.get_actor(spec["rank0"], namespace=spec["namespace"])
            ip, port = ray.get(rank0.address.remote(), timeout=timeout_s)
            return str(ip), int(port)
        except ValueError:  # not registered yet
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


# These two mirror executors/local.py's _kill_group/_group_alive on purpose: this module is pickled by value
# onto Ray workers, which need not have aidc installed, so it imports nothing of aidc.
def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False
