"""Per-job cgroups (v2, else v1) that hold a job to its memory, CPU and process count, and kill it whole.

Groups live under the launcher's own cgroup (a delegated subtree, as systemd hands out), in
`<own>/aidc/<name>`. The launcher never joins them itself: the job's wrapper writes its own pid into
`procs_files()` right before it execs the sandbox, so everything the job starts is counted and
`kill()` finds every process, daemons included. `detect()` returns None where no hierarchy is
writable; the sandbox then falls back to prlimit and says so.
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("aidc.sandbox")
CGROUP_ROOT = Path("/sys/fs/cgroup")
V1_CONTROLLERS = ("memory", "pids", "cpu")
CPU_PERIOD_US = 100_000


@dataclass(frozen=True)
class Limits:
    memory_bytes: int | None
    cpu_cores: float | None
    max_processes: int


def _own_paths() -> dict[str, str]:
    """Controller (or '' for the v2 hierarchy) -> this process's cgroup path, from /proc/self/cgroup."""
    out: dict[str, str] = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for c in controllers.split(",") if controllers else [""]:
            out[c] = path
    return out


def _mounts() -> dict[str, Path]:
    """cgroup mount points: 'v2' -> unified mount, each v1 controller -> its mount."""
    out: dict[str, Path] = {}
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        pre, _, post = line.partition(" - ")
        fields, fstype_opts = pre.split(), post.split()
        if not fstype_opts:
            continue
        mount_point, fstype, super_opts = Path(fields[4]), fstype_opts[0], fstype_opts[-1].split(",")
        if fstype == "cgroup2":
            out.setdefault("v2", mount_point)
        elif fstype == "cgroup":
            for opt in super_opts:
                if opt in V1_CONTROLLERS:
                    out.setdefault(opt, mount_point)
    return out


def _write(path: Path, value: str) -> None:
    path.write_text(value)


class CgroupV1:
    version = "v1"

    def __init__(self, bases: dict[str, Path]) -> None:
        self.bases = bases  # controller -> <mount>/<own>/aidc

    def create(self, name: str, limits: Limits) -> None:
        for controller, base in self.bases.items():
            (base / name).mkdir(parents=True, exist_ok=True)
        mem = self.bases["memory"] / name
        if limits.memory_bytes is not None:
            _write(mem / "memory.limit_in_bytes", str(limits.memory_bytes))
            if (mem / "memory.memsw.limit_in_bytes").exists():  # no escape into swap
                _write(mem / "memory.memsw.limit_in_bytes", str(limits.memory_bytes))
        _write(self.bases["pids"] / name / "pids.max", str(limits.max_processes))
        if limits.cpu_cores is not None and "cpu" in self.bases:
            _write(self.bases["cpu"] / name / "cpu.cfs_period_us", str(CPU_PERIOD_US))
            _write(self.bases["cpu"] / name / "cpu.cfs_quota_us", str(max(1000, int(limits.cpu_cores * CPU_PERIOD_US))))

    def procs_files(self, name: str) -> list[Path]:
        return [base / name / "cgroup.procs" for base in self.bases.values()]

    def pids(self, name: str) -> list[int]:
        return _read_pids(self.bases["pids"] / name / "cgroup.procs")

    def oom_killed(self, name: str) -> bool:
        return _oom_count(self.bases["memory"] / name / "memory.oom_control", "oom_kill ") > 0

    def remove(self, name: str) -> None:
        for base in self.bases.values():
            _rmdir(base / name)


class CgroupV2:
    version = "v2"

    def __init__(self, base: Path) -> None:
        self.base = base  # <mount>/<own>/aidc, with memory, pids and cpu enabled for its children

    def create(self, name: str, limits: Limits) -> None:
        group = self.base / name
        group.mkdir(exist_ok=True)
        if limits.memory_bytes is not None:
            _write(group / "memory.max", str(limits.memory_bytes))
            if (group / "memory.swap.max").exists():
                _write(group / "memory.swap.max", "0")
        _write(group / "pids.max", str(limits.max_processes))
        if limits.cpu_cores is not None and (group / "cpu.max").exists():
            _write(group / "cpu.max", f"{max(1000, int(limits.cpu_cores * CPU_PERIOD_US))} {CPU_PERIOD_US}")

    def procs_files(self, name: str) -> list[Path]:
        return [self.base / name / "cgroup.procs"]

    def pids(self, name: str) -> list[int]:
        return _read_pids(self.base / name / "cgroup.procs")

    def oom_killed(self, name: str) -> bool:
        return _oom_count(self.base / name / "memory.events", "oom_kill ") > 0

    def remove(self, name: str) -> None:
        kill_file = self.base / name / "cgroup.kill"
        if kill_file.exists():
            try:
                _write(kill_file, "1")
            except OSError:
                pass
        _rmdir(self.base / name)


Cgroups = CgroupV1 | CgroupV2


def kill_all(groups: Cgroups, name: str, timeout_s: float = 2.0) -> None:
    """SIGKILL every process in the group until it is empty (a fork bomb forks while it is killed)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        pids = groups.pids(name)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.01)


def detect() -> Cgroups | None:
    """The writable hierarchy this host offers (v2 preferred), prepared under our own cgroup; None if none."""
    mounts, own = _mounts(), _own_paths()
    if "v2" in mounts and (mounts["v2"] / "cgroup.controllers").exists():
        v2 = _prepare_v2(mounts["v2"], own.get("", "/"))
        if v2 is not None:
            return v2
    if all(c in mounts for c in ("memory", "pids")):
        try:
            bases = {c: mounts[c] / own.get(c, "/").lstrip("/") / "aidc" for c in V1_CONTROLLERS if c in mounts}
            for base in bases.values():
                base.mkdir(parents=True, exist_ok=True)
            return CgroupV1(bases)
        except OSError as exc:
            log.info("cgroup v1 not writable here: %s", exc)
    return None


def _prepare_v2(mount: Path, own: str) -> CgroupV2 | None:
    """<own>/aidc with the controllers delegated to its children. A non-root cgroup that holds processes
    cannot delegate, so the launcher's own processes move into <own>/aidc-launcher first (what container
    runtimes do with their init process)."""
    wanted = {"memory", "pids", "cpu"}
    here = mount / own.lstrip("/")
    try:
        available = set((here / "cgroup.controllers").read_text().split())
        if not {"memory", "pids"} <= available:
            return None
        enable = " ".join(f"+{c}" for c in sorted(wanted & available))
        try:
            _write(here / "cgroup.subtree_control", enable)
        except OSError as exc:
            if exc.errno != errno.EBUSY:
                raise
            leaf = here / "aidc-launcher"
            leaf.mkdir(exist_ok=True)
            for pid in _read_pids(here / "cgroup.procs"):
                try:
                    _write(leaf / "cgroup.procs", str(pid))
                except OSError:
                    pass
            _write(here / "cgroup.subtree_control", enable)
        base = here / "aidc"
        base.mkdir(exist_ok=True)
        _write(base / "cgroup.subtree_control", enable)
        return CgroupV2(base)
    except OSError as exc:
        log.info("cgroup v2 not writable here: %s", exc)
        return None


def _read_pids(path: Path) -> list[int]:
    try:
        return [int(x) for x in path.read_text().split()]
    except (FileNotFoundError, ValueError, OSError):
        return []


def _oom_count(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _rmdir(path: Path) -> None:
    for _ in range(50):
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:  # still has processes for a moment after the kill
            time.sleep(0.01)
