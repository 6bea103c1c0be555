"""A real `aidc server` process for tests and benchmarks: start, call, kill -9, stop by PID."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.server.pg import free_port

LOCAL = Path(__file__).resolve().parents[2] / "examples" / "datacenters" / "local.yaml"


class Server:
    """`aidc server` on 127.0.0.1 and a free port, with its own data and client config under `tmp`."""

    def __init__(self, tmp: Path, *, spec: Path = LOCAL, aidc: str | None = None, **env: str) -> None:
        self.tmp, self.spec = tmp, spec
        self.bin = aidc or str(Path(sys.executable).parent / "aidc")
        self.port = free_port()
        self.env = {**os.environ, "AIDC_URL": f"http://127.0.0.1:{self.port}", "AIDC_DATA_DIR": str(tmp / "data"),
                    "XDG_CONFIG_HOME": str(tmp / "config"), "AIDC_SCHEDULE_INTERVAL_S": "0.05", **env}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> "Server":
        log = open(self.tmp / f"server-{time.time_ns()}.log", "wb")
        self.proc = subprocess.Popen([self.bin, "server", "--port", str(self.port), "--datacenter", str(self.spec)],
                                     env=self.env, cwd=self.tmp, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError("server did not start")

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def aidc(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.bin, *args], env=self.env, cwd=self.tmp, capture_output=True, text=True, timeout=60)

    def token(self) -> str:
        return (self.tmp / "data" / "admin.token").read_text().strip()
