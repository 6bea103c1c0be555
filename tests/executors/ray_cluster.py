"""A real multi-node Ray cluster on loopback: `ray start --block` per node on its own 127.0.0.N, stopped by PID.

The head runs on 127.0.0.2 with no GPUs (nothing is placed there but drivers); each worker node runs
on its own address (127.0.0.3, 127.0.0.4, ...) with `num_gpus=8` fake GPUs and `--node-name
ray-wN`, which is the name the Ray executor discovers and maps aidc node names to. Every port is
chosen free and passed explicitly, the temp dir is short (Unix socket paths), there is no
dashboard, the object stores are 80 MB, and GCS health checks are fast, so a killed node is
declared dead in about two seconds. Never `ray stop`: each node is one `ray start --block` process
in its own session, stopped with SIGTERM to that PID (it stops its node's processes) and then
SIGKILL to that process group.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

GPUS_PER_WORKER = 8
OBJECT_STORE_BYTES = 80 * 1024 * 1024
# a killed raylet is declared dead after period x threshold (Ray's defaults: 3 s x 5)
SYSTEM_CONFIG = {"health_check_period_ms": 500, "health_check_failure_threshold": 3,
                 "health_check_initial_delay_ms": 1000}


_TAKEN: set[int] = set()  # ports handed out in this process: two components never get the same one


def free_port(host: str) -> int:
    while True:
        with socket.socket() as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        if port not in _TAKEN:
            _TAKEN.add(port)
            return port


def ray_bin() -> str:
    candidate = Path(sys.executable).parent / "ray"
    return str(candidate) if candidate.exists() else (shutil.which("ray") or "ray")


@dataclass
class RayNode:
    name: str
    ip: str
    proc: subprocess.Popen[bytes]
    log: Path

    def raylet_pids(self) -> list[int]:
        """The raylet(s) this node's `ray start` process started (direct children named raylet)."""
        return [pid for pid in _children(self.proc.pid) if _comm(pid).startswith("raylet")]

    def alive(self) -> bool:
        return self.proc.poll() is None


@dataclass
class RayCluster:
    """Start with `start(workers=2)`; `address` is the GCS address to give the executor."""

    head_ip: str = "127.0.0.2"
    temp_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="ar", dir="/tmp")))
    nodes: list[RayNode] = field(default_factory=list)
    port: int = 0

    @property
    def address(self) -> str:
        return f"{self.head_ip}:{self.port}"

    def start(self, workers: int = 2, first_worker_ip: int = 3, prefix: str = "ray") -> "RayCluster":
        """Head `<prefix>-head`, then workers `<prefix>-w1`.. on 127.0.0.<first_worker_ip>.. (8 GPUs each)."""
        self.port = free_port(self.head_ip)
        self._start_node(f"{prefix}-head", self.head_ip, gpus=0, head=True)
        self.wait_for_nodes(1)
        for i in range(workers):  # one at a time: nodes starting together in one session dir can hang
            self.add_worker(f"{prefix}-w{i + 1}", f"127.0.0.{first_worker_ip + i}")
            self.wait_for_nodes(2 + i)
        return self

    def add_worker(self, name: str, ip: str, gpus: int = GPUS_PER_WORKER) -> RayNode:
        return self._start_node(name, ip, gpus=gpus, head=False)

    def _start_node(self, name: str, ip: str, *, gpus: int, head: bool) -> RayNode:
        log = self.temp_dir / f"{name}.log"
        args = [ray_bin(), "start", "--block", "--disable-usage-stats", f"--node-ip-address={ip}",
                f"--node-name={name}", f"--temp-dir={self.temp_dir}", "--num-cpus=4", f"--num-gpus={gpus}",
                f"--object-store-memory={OBJECT_STORE_BYTES}", f"--node-manager-port={free_port(ip)}",
                f"--object-manager-port={free_port(ip)}", f"--dashboard-agent-listen-port={free_port(ip)}",
                f"--dashboard-agent-grpc-port={free_port(ip)}", f"--runtime-env-agent-port={free_port(ip)}",
                f"--metrics-export-port={free_port(ip)}", "--min-worker-port=0", "--max-worker-port=0"]
        if head:
            args += ["--head", f"--port={self.port}", "--include-dashboard=false",
                     f"--ray-client-server-port={free_port(ip)}", f"--system-config={json.dumps(SYSTEM_CONFIG)}"]
        else:
            args += [f"--address={self.address}"]
        env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_DEDUP_LOGS": "0",
               "RAY_raylet_start_wait_time_s": "120"}  # a busy 2-core host registers nodes slowly
        with open(log, "ab") as out:
            proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                    start_new_session=True)
        node = RayNode(name, ip, proc, log)
        self.nodes.append(node)
        if head:
            self._wait_port(self.head_ip, self.port, node)
        return node

    def _wait_port(self, host: str, port: int, node: RayNode, timeout_s: float = 60.0) -> None:
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            if not node.alive():
                raise RuntimeError(f"ray node {node.name} exited: {node.log.read_text()[-3000:]}")
            with socket.socket() as s:
                s.settimeout(0.5)
                if s.connect_ex((host, port)) == 0:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"ray head did not listen on {host}:{port}")

    def wait_for_nodes(self, count: int, timeout_s: float = 90.0) -> None:
        """Until `count` nodes are alive in the GCS (read with a GCS client, no driver connected)."""
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            for node in self.nodes:
                if not node.alive():
                    raise RuntimeError(f"ray node {node.name} exited: {node.log.read_text()[-3000:]}")
            if len(self.alive_node_names()) >= count:
                return
            time.sleep(0.3)
        raise RuntimeError(f"fewer than {count} ray nodes came up: {self.alive_node_names()}")

    def alive_node_names(self) -> list[str]:
        import ray._private.state
        from ray._raylet import GcsClientOptions

        state = ray._private.state.GlobalState()
        state._initialize_global_state(GcsClientOptions.create(self.address, None, allow_cluster_id_nil=True,
                                                               fetch_cluster_id_if_nil=False))
        try:
            return [n["NodeName"] for n in state.node_table() if n["Alive"]]
        finally:
            state.disconnect()

    def node(self, name: str) -> RayNode:
        return next(n for n in self.nodes if n.name == name)

    def kill_node(self, name: str) -> list[int]:
        """A node failure: SIGKILL its raylet(s); its `ray start` then tears down the node's other processes."""
        node = self.node(name)
        self.nodes.remove(node)  # no longer waited for or stopped
        pids = node.raylet_pids()
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        try:
            node.proc.wait(30)
        except subprocess.TimeoutExpired:
            _kill_group(node.proc.pid, signal.SIGKILL)
            node.proc.wait(10)
        return pids

    def stop(self) -> None:
        """Workers first, then the head: SIGTERM to each `ray start` PID, SIGKILL to its group after 15 s."""
        for node in reversed(self.nodes):
            if node.alive():
                node.proc.send_signal(signal.SIGTERM)
        deadline = time.time() + 15
        for node in reversed(self.nodes):
            try:
                node.proc.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                pass
            _kill_group(node.proc.pid, signal.SIGKILL)  # stragglers of this node's own process group
            try:
                node.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rfind(")") + 2:].split()[1]) == pid:
                out.append(int(entry))
    return out


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _kill_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass




def datacenter_yaml(node_names: list[str], gpus: int = GPUS_PER_WORKER) -> str:
    """An aidc datacenter spec whose nodes are named like the Ray nodes (virtual GPUs, one rack)."""
    from tests.specs import named_nodes_yaml

    return named_nodes_yaml("loopback-ray", node_names, gpus=gpus)


def ray_importable() -> bool:
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayCluster]:
    """Head on 127.0.0.2, workers ray-w1 on 127.0.0.3 and ray-w2 on 127.0.0.4 (8 fake GPUs each)."""
    if not ray_importable():
        pytest.skip("ray is not installed: pip install 'ray[default]>=2.40,<3' (the dev extra has it)")
    cluster = RayCluster()
    try:
        cluster.start(workers=2)
        yield cluster
    finally:
        cluster.stop()
