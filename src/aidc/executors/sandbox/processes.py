"""Signals for a sandboxed job: its own processes inside the pid namespace, not the sandbox's init.

SIGTERM to bubblewrap itself would kill the namespace at once (its init dies, the kernel kills the
rest) and the job could not checkpoint. So a graceful stop signals the job's processes: the
descendants of the wrapper that live in a deeper pid namespace and are not that namespace's pid 1.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path


def _status(pid: int) -> dict[str, str]:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    return dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)


def descendants(root_pid: int) -> list[int]:
    """Every process below root_pid (by parent links in /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            ppid = _status(int(entry)).get("PPid", "").strip()
            if ppid.isdigit():
                children.setdefault(int(ppid), []).append(int(entry))
    out, todo = [], [root_pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def job_processes(root_pid: int) -> list[int]:
    """The sandboxed job's own processes below its wrapper (namespaced, not the namespace's init)."""
    own_depth = len(_status(os.getpid()).get("NSpid", "1").split())
    found = []
    for pid in descendants(root_pid):
        nspid = _status(pid).get("NSpid", "").split()
        if len(nspid) > own_depth and nspid[-1] != "1":
            found.append(pid)
    return found


def signal_job(root_pid: int, sig: int) -> int:
    """Send sig to the job's processes; returns how many got it."""
    sent = 0
    for pid in job_processes(root_pid):
        try:
            os.kill(pid, sig)
            sent += 1
        except ProcessLookupError:
            pass
    return sent


__all__ = ["descendants", "job_processes", "signal", "signal_job"]
