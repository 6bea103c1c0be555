"""What a sandboxed job sees of the file system: system directories and the Python runtime read-only, its
own work directory and its tenant's volumes, a private /tmp; the launcher's data hidden."""

from __future__ import annotations

import os
import site
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from aidc.executors.base import VolumeMount

# top-level system directories mounted read-only (a symlink such as /bin -> usr/bin is recreated as one)
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
# inside /etc: never shown, even read-only (aidc's own config lives here on an installed host)
HIDDEN_SYSTEM = ("/etc/aidc",)
# NVIDIA device nodes every GPU job needs besides its own /dev/nvidiaN
NVIDIA_SHARED = ("nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset")


class MountError(Exception):
    """A mount the job asked for cannot be made safely (a symlink, a path outside its volume)."""


def runtime_paths() -> list[Path]:
    """The Python installation the launcher runs (interpreter, venv, site-packages, aidc's own source), so
    `aidc <workload>` and `python` work inside; nested and system paths collapsed."""
    import aidc

    found = {Path(p) for p in (sys.base_prefix, sys.prefix, sys.exec_prefix)}
    found.add(Path(os.path.realpath(sys.executable)).parent.parent)
    found.add(Path(aidc.__file__).resolve().parents[1])
    found.update(Path(p) for p in site.getsitepackages())
    return collapse(p.resolve() for p in found if p.exists())


def collapse(paths) -> list[Path]:  # noqa: ANN001 (any iterable of Paths)
    """Drop paths inside another one, inside a system directory, and the root itself."""
    out: list[Path] = []
    for p in sorted(set(paths), key=lambda q: len(q.parts)):
        if p == Path("/") or any(p == Path(s) or Path(s) in p.parents for s in SYSTEM_DIRS if s != "/etc"):
            continue
        if not any(q == p or q in p.parents for q in out):
            out.append(p)
    return out


def is_under(path: Path, roots: list[Path]) -> bool:
    return any(path == r or r in path.parents for r in roots)


def volume_source(volume: VolumeMount) -> Path:
    """The host directory to bind for a volume: its root, or a sub-directory reached without following a
    symlink and staying inside the volume (a job may plant symlinks in a read-write volume)."""
    root = Path(volume.host_path)
    if not root.is_dir():
        raise MountError(f"volume {volume.name!r}: {root} is not a directory on this node")
    if not volume.sub_path:
        return root.resolve()
    path = root
    for part in Path(volume.sub_path).parts:
        if part in ("..", "/", "."):
            raise MountError(f"volume {volume.name!r}: sub_path {volume.sub_path!r} leaves the volume")
        path = path / part
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            raise MountError(f"volume {volume.name!r}: {volume.sub_path!r} does not exist in the volume") from None
        if stat.S_ISLNK(mode):
            raise MountError(f"volume {volume.name!r}: {volume.sub_path!r} goes through a symlink ({path.name})")
        if not stat.S_ISDIR(mode):
            raise MountError(f"volume {volume.name!r}: {volume.sub_path!r} is not a directory")
    if root.resolve() not in Path(os.path.realpath(path)).parents:
        raise MountError(f"volume {volume.name!r}: {volume.sub_path!r} leaves the volume")
    return Path(os.path.realpath(path))


@dataclass(frozen=True)
class GpuDevices:
    """The device nodes a job gets: its own GPUs' /dev/nvidiaN and the shared control nodes."""

    binds: tuple[tuple[str, str], ...]  # (host path, path inside)
    real: bool  # the GPUs have device nodes here (else they are virtual)


def gpu_devices(device_dir: Path, gpus: list[int]) -> GpuDevices:
    own = [(device_dir / f"nvidia{i}", f"/dev/nvidia{i}") for i in gpus]
    real = bool(own) and all(src.exists() for src, _ in own)
    if not real:
        return GpuDevices((), False)
    shared = [(device_dir / n, f"/dev/{n}") for n in NVIDIA_SHARED if (device_dir / n).exists()]
    if (device_dir / "nvidia-caps").is_dir():
        shared.append((device_dir / "nvidia-caps", "/dev/nvidia-caps"))
    return GpuDevices(tuple((str(s), d) for s, d in own + shared), True)
