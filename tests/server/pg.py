"""A real PostgreSQL for tests: initdb into a temp dir, start on 127.0.0.1 and a free port, stop by PID."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return Path(found[-1]).parent
    which = shutil.which("pg_ctl")
    return Path(which).parent if which else None


class Postgres:
    """Start with `start()`, connect with `url`, stop with `stop()` (pg_ctl stop, then SIGKILL by PID)."""

    def __init__(self) -> None:
        self.bin = pg_bin()
        self.dir = Path(tempfile.mkdtemp(prefix="aidc-pg-"))
        self.port = free_port()
        self.pid: int | None = None

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True)

    def start(self) -> "Postgres":
        if self.bin is None:
            raise RuntimeError("PostgreSQL binaries not found")
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        data = self.dir / "data"
        self._run("initdb", "-D", str(data), "-U", "aidc", "--auth=trust", "-E", "UTF8")
        self._run("pg_ctl", "-D", str(data), "-l", str(self.dir / "log"), "-w", "-t", "30", "-o",
                  f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off", "start")
        self.pid = int((data / "postmaster.pid").read_text().split()[0])
        return self

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://aidc@127.0.0.1:{self.port}/postgres"

    def fresh_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=aidc dbname=postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://aidc@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if self.pid is None:
            return
        try:
            self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop")
        except (subprocess.SubprocessError, OSError):
            try:
                os.kill(self.pid, 9)
            except ProcessLookupError:
                pass
        deadline = time.time() + 10
        while time.time() < deadline and Path(f"/proc/{self.pid}").exists():
            time.sleep(0.05)
        self.pid = None
        shutil.rmtree(self.dir, ignore_errors=True)
