"""What a node agent measures: GPUs through NVML (nvidia-ml-py) when present, else declared virtual GPUs;
CPU, memory and disk from /proc; plus fault drills (injected XIDs, ECC errors, heat) to rehearse the
health loop on any machine."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

VIRTUAL_IDLE_W = 60.0
VIRTUAL_TDP_W = 300.0


class NvmlProbe:
    """Real GPUs. Raises at construction when NVML is not there (no driver, no nvidia-ml-py)."""

    virtual = False

    def __init__(self) -> None:
        import pynvml  # nvidia-ml-py

        pynvml.nvmlInit()
        self.nvml = pynvml
        self.handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
        self.names = [_text(pynvml.nvmlDeviceGetName(h)) for h in self.handles]
        self.events = None
        try:  # XIDs arrive as NVML events; not every driver/GPU supports the event set
            self.events = pynvml.nvmlEventSetCreate()
            for h in self.handles:
                pynvml.nvmlDeviceRegisterEvents(h, pynvml.nvmlEventTypeXidCriticalError, self.events)
        except pynvml.NVMLError:
            self.events = None

    @property
    def count(self) -> int:
        return len(self.handles)

    def sample(self, busy: set[int]) -> list[dict[str, Any]]:
        nv = self.nvml
        xids = self._xids()
        out = []
        for i, h in enumerate(self.handles):
            mem = nv.nvmlDeviceGetMemoryInfo(h)
            out.append({"index": i, "name": self.names[i],
                        "util_pct": float(_try(lambda: nv.nvmlDeviceGetUtilizationRates(h).gpu, 0)),
                        "mem_used_gib": mem.used / 2**30, "mem_total_gib": mem.total / 2**30,
                        "power_w": _try(lambda: nv.nvmlDeviceGetPowerUsage(h) / 1000.0, 0.0),
                        "temp_c": float(_try(lambda: nv.nvmlDeviceGetTemperature(h, nv.NVML_TEMPERATURE_GPU), 0)),
                        "ecc_uncorrected": int(_try(lambda: nv.nvmlDeviceGetTotalEccErrors(
                            h, nv.NVML_MEMORY_ERROR_TYPE_UNCORRECTED, nv.NVML_VOLATILE_ECC), 0)),
                        "xids": xids.get(i, [])})
        return out

    def _xids(self) -> dict[int, list[int]]:
        found: dict[int, list[int]] = {}
        while self.events is not None:
            try:
                data = self.nvml.nvmlEventSetWait(self.events, 0)
            except self.nvml.NVMLError:
                break
            index = next((i for i, h in enumerate(self.handles) if h == data.device), -1)
            found.setdefault(index, []).append(int(data.eventData))
        return found


class VirtualProbe:
    """Declared GPUs on a machine without any: busy GPUs read as fully used, drawing and warming accordingly."""

    virtual = True

    def __init__(self, count: int, name: str = "VGPU") -> None:
        self.count, self.names = count, [name] * count

    def sample(self, busy: set[int]) -> list[dict[str, Any]]:
        out = []
        for i in range(self.count):
            util = 100.0 if i in busy else 0.0
            out.append({"index": i, "name": self.names[i], "util_pct": util, "mem_used_gib": 0.0, "mem_total_gib": 0.0,
                        "power_w": VIRTUAL_IDLE_W + util / 100 * (VIRTUAL_TDP_W - VIRTUAL_IDLE_W),
                        "temp_c": 30.0 + 0.35 * util, "ecc_uncorrected": 0, "xids": []})
        return out


def probe_gpus(declared: int | None, name: str | None) -> NvmlProbe | VirtualProbe:
    """NVML when it answers (and `declared` is not forced), else `declared` virtual GPUs."""
    if declared is None:
        try:
            return NvmlProbe()
        except Exception:  # noqa: BLE001 (no driver, no library, no GPU: all mean "no real GPUs here")
            return VirtualProbe(0)
    return VirtualProbe(declared, name or "VGPU")


@dataclass
class Drills:
    """Faults injected from a JSON-lines file (one object per line), consumed when read:
    {"gpu": 2, "xid": 79} | {"gpu": 0, "temp_c": 95, "heartbeats": 4} | {"gpu": 1, "ecc_uncorrected": 2}
    | {"check": "fail"} | {"pause_heartbeats_s": 5}."""

    path: Path | None
    heat: dict[int, tuple[float, int]] = field(default_factory=dict)  # gpu -> (temp, heartbeats left)
    xids: dict[int, list[int]] = field(default_factory=dict)
    ecc: dict[int, int] = field(default_factory=dict)
    fail_checks: int = 0
    pause_s: float = 0.0

    def read(self) -> None:
        if self.path is None or not self.path.exists():
            return
        taken = self.path.with_suffix(self.path.suffix + ".taken")
        os.replace(self.path, taken)
        for line in taken.read_text().splitlines():
            if line.strip():
                self._add(json.loads(line))

    def _add(self, d: dict[str, Any]) -> None:
        gpu = int(d.get("gpu", 0))
        if "xid" in d:
            self.xids.setdefault(gpu, []).append(int(d["xid"]))
        if "temp_c" in d:
            self.heat[gpu] = (float(d["temp_c"]), int(d.get("heartbeats", 1)))
        if "ecc_uncorrected" in d:
            self.ecc[gpu] = int(d["ecc_uncorrected"])
        if d.get("check") == "fail":
            self.fail_checks += int(d.get("times", 1))
        if "pause_heartbeats_s" in d:
            self.pause_s = float(d["pause_heartbeats_s"])

    def apply(self, gpus: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Overlay this heartbeat's faults; XIDs are reported once, heat for its heartbeats."""
        for g in gpus:
            i = g["index"]
            if i in self.xids:
                g["xids"] = list(g.get("xids") or []) + self.xids.pop(i)
            if i in self.heat:
                temp, left = self.heat[i]
                g["temp_c"] = temp
                self.heat[i] = (temp, left - 1)
                if left <= 1:
                    del self.heat[i]
            if i in self.ecc:
                g["ecc_uncorrected"] = self.ecc[i]  # stays until a repair clears it (`check` resets)
        return gpus

    def take_check_failure(self) -> bool:
        if self.fail_checks > 0:
            self.fail_checks -= 1
            return True
        return False


@dataclass
class HostProbe:
    """CPU busy share since the last sample, memory and disk, from /proc and statvfs."""

    disk_path: Path
    _last: tuple[int, int] | None = None

    def sample(self) -> dict[str, Any]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle, total = fields[3] + (fields[4] if len(fields) > 4 else 0), sum(fields)
        cpu_pct = 0.0
        if self._last is not None and total > self._last[1]:
            cpu_pct = 100.0 * (1 - (idle - self._last[0]) / (total - self._last[1]))
        self._last = (idle, total)
        mem = _meminfo()
        disk = shutil.disk_usage(self.disk_path)
        return {"cpu_pct": round(cpu_pct, 1), "load1": os.getloadavg()[0],
                "mem_total_gib": mem.get("MemTotal", 0) / 2**20,
                "mem_used_gib": (mem.get("MemTotal", 0) - mem.get("MemAvailable", 0)) / 2**20,
                "disk_used_pct": round(100.0 * disk.used / disk.total, 1) if disk.total else 0.0}


def machine_facts(disk_path: Path) -> dict[str, Any]:
    """What the agent registers: CPUs, memory, disks."""
    mem = _meminfo()
    disk = shutil.disk_usage(disk_path)
    return {"cpu_cores": os.cpu_count() or 1, "ram_gib": round(mem.get("MemTotal", 0) / 2**20, 1),
            "disks": [{"path": str(disk_path), "total_gib": round(disk.total / 2**30, 1)}]}


def _meminfo() -> dict[str, int]:
    out = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        key, _, rest = line.partition(":")
        out[key] = int(rest.split()[0]) if rest.split() else 0
    return out  # kB


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _try(fn, default):  # noqa: ANN001, ANN202 (NVML calls some GPUs do not support)
    try:
        return fn()
    except Exception:  # noqa: BLE001
        return default
