"""The one place a job's identity, namespaces, environment, limits, devices and mounts are set.

Both the local executor (the embedded default) and the node agent launch through `Sandbox.wrap`. A job
runs as:

    bwrap (mount, pid, ipc namespaces; read-only system and Python runtime; its work dir, its
           tenant's volumes, a private /tmp; its own GPUs' device nodes; no /sys)
      setpriv (the tenant's uid/gid, no supplementary groups, no capabilities, no_new_privs)   [root only]
        prlimit (process count and data size)                       [only where no cgroup is writable]
          env -i (an allow-listed environment)  bash -c <command>

inside a per-job cgroup (memory, pids, cpu) the wrapper joins before it execs bwrap. bubblewrap runs
privileged when the launcher is root (it must read a Python installed under /root) and drops nothing
itself: setpriv does, after the mounts are made and before the job's first instruction. A launcher
that is not root gets an unprivileged user namespace from bwrap and keeps its uid (mapped). The job's
environment is applied by `env` after setpriv, so LD_PRELOAD and friends never run with privilege.
See docs/security.md.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from aidc.executors.base import JobIdentity, LaunchRequest
from aidc.executors.sandbox import cgroups
from aidc.executors.sandbox.environment import job_environment
from aidc.executors.sandbox.images import HostTools, ImageError, RootFs, host_tools, root_fs, top_level_binds
from aidc.executors.sandbox.mounts import (HIDDEN_SYSTEM, SYSTEM_DIRS, MountError, collapse, gpu_devices, is_under,
                                           runtime_paths, volume_source)

__all__ = ["MountError", "Sandbox", "SandboxConfig", "SandboxError", "Wrapped"]
log = logging.getLogger("aidc.sandbox")
DEFAULT_UID_BASE = 200_000  # tenant t runs as uid/gid DEFAULT_UID_BASE + 1 + t unless its tenant names one
NOBODY_OFFSET = 0  # a job with no tenant (a bare executor) runs as uid_base itself


class SandboxError(Exception):
    """A job cannot be isolated as asked here (no bwrap, an unsafe mount): said with the fix."""


@dataclass(frozen=True)
class SandboxConfig:
    mode: str = "bwrap"  # "bwrap" (isolated) or "off" (scrubbed environment and limits only)
    uid_base: int = DEFAULT_UID_BASE
    hidden_paths: tuple[Path, ...] = ()  # the launcher's data: never visible, even if under a shown path
    ro_paths: tuple[Path, ...] = ()  # more read-only directories every job sees (e.g. /opt/models)
    device_dir: Path = Path("/dev")
    use_cgroups: bool = True
    max_processes: int = 1024  # pids in one job (cgroup pids.max, else RLIMIT_NPROC per uid)
    default_memory_gib: float | None = None  # a job that asks for none gets this (None: unlimited)

    def __post_init__(self) -> None:
        if self.mode not in ("bwrap", "off"):
            raise SandboxError(f"sandbox mode {self.mode!r}: expected 'bwrap' (isolated) or 'off'")


@dataclass(frozen=True)
class Wrapped:
    """What the executor runs: argv (a shell word list), the cgroup to join first, and facts for the handle."""

    argv: list[str]
    cgroup: str | None
    procs_files: list[str] = field(default_factory=list)
    uid: int | None = None
    isolated: bool = False


class Sandbox:
    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.is_root = os.geteuid() == 0
        self.bwrap = shutil.which("bwrap")
        self.setpriv = shutil.which("setpriv")
        self.prlimit = shutil.which("prlimit")
        self.cgroups = cgroups.detect() if self.config.use_cgroups else None
        self.runtime = runtime_paths()
        self._host_tools: HostTools | None = None

    # -- what the operator is told at start ------------------------------------------------------
    def describe(self) -> str:
        if self.config.mode == "off":
            how = "OFF (AIDC_SANDBOX=off): jobs share this host's files and processes; environment scrubbed"
        elif not self.available:
            how = f"UNAVAILABLE: {self.unavailable_reason()}"
        else:
            who = "uid per tenant (setpriv)" if self.is_root else "this uid, mapped in a user namespace"
            how = f"bubblewrap (mount, pid, ipc namespaces), {who}"
        limits = (f"cgroup {self.cgroups.version} (memory, pids, cpu)" if self.cgroups is not None
                  else "prlimit (no writable cgroup here: process count and data size only, no CPU cap)")
        return f"job isolation: {how}; limits: {limits}"

    @property
    def available(self) -> bool:
        return self.config.mode == "off" or not self.unavailable_reason()

    def unavailable_reason(self) -> str:
        if self.bwrap is None:
            return ("bubblewrap (bwrap) is not installed: install the Debian package 'bubblewrap', "
                    "or set AIDC_SANDBOX=off to run jobs unisolated (never on a shared host)")
        if self.is_root and self.setpriv is None:
            return "setpriv (util-linux) is not installed: it drops a job to its tenant's uid"
        return ""

    @property
    def isolates(self) -> bool:
        return self.config.mode != "off" and not self.unavailable_reason()

    # -- one job -----------------------------------------------------------------------------------
    def identity(self, request: LaunchRequest) -> JobIdentity:
        if request.identity is not None:
            return request.identity
        if request.tenant_id is None:
            uid = self.config.uid_base + NOBODY_OFFSET
            return JobIdentity(uid=uid, gid=uid, user="aidc-job")
        uid = self.config.uid_base + 1 + request.tenant_id
        return JobIdentity(uid=uid, gid=uid, user=f"aidc-{request.tenant or request.tenant_id}"[:32])

    def prepare_dirs(self, work: Path, identity: JobIdentity) -> None:
        """The job's work dir, owned by the job's uid (the control dir around it stays the launcher's)."""
        work.mkdir(parents=True, exist_ok=True)
        if self.is_root and self.isolates:
            os.chown(work, identity.uid, identity.gid)
            os.chmod(work, 0o700)

    def wrap(self, request: LaunchRequest, *, work: Path, cgroup_name: str) -> Wrapped:
        """The argv that runs `request.command` isolated, and the cgroup prepared for it."""
        if self.config.mode != "off" and self.unavailable_reason():
            raise SandboxError(self.unavailable_reason())
        if request.isolation == "required" and not self.isolates:
            raise SandboxError(f"tenant {request.tenant or '?'} requires isolated jobs and this host runs them "
                               f"unisolated ({self.unavailable_reason() or 'AIDC_SANDBOX=off'})")
        if request.image and not self.isolates:
            raise SandboxError("image: needs the sandbox (bubblewrap); it is off here")
        identity = self.identity(request)
        try:
            rootfs = root_fs(request.image) if request.image else None
        except ImageError as exc:
            raise SandboxError(str(exc)) from None
        gpus = [i for _, idx in request.placement for i in idx]
        devices = gpu_devices(self.config.device_dir, gpus) if self.isolates else gpu_devices(Path("/nonexistent"), [])
        fixed = self._fixed_env(request, identity, work, gpus, devices.real, in_image=rootfs is not None)
        env = job_environment(launcher=os.environ, job_env=request.env, fixed=fixed)
        group, procs = self._cgroup(request, cgroup_name)
        inner = self._inner(identity, env, request.command, with_prlimit=group is None, memory=self._memory(request),
                            rootfs=rootfs)
        if not self.isolates:
            return Wrapped(inner, group, procs, None, False)
        outer = self._bwrap_args(request, work, devices, rootfs)
        return Wrapped(outer + ["--"] + inner, group, procs, identity.uid if self.is_root else os.getuid(), True)

    def finish(self, cgroup_name: str | None) -> bool:
        """After the job's wrapper ended: kill what is left in its cgroup, remove it. True if it hit OOM."""
        if self.cgroups is None or not cgroup_name:
            return False
        oom = self.cgroups.oom_killed(cgroup_name)
        cgroups.kill_all(self.cgroups, cgroup_name)
        self.cgroups.remove(cgroup_name)
        return oom

    # -- pieces -------------------------------------------------------------------------------------
    def _memory(self, request: LaunchRequest) -> int | None:
        gib = request.memory_gib if request.memory_gib is not None else self.config.default_memory_gib
        return None if gib is None else int(gib * 2**30)

    def _cgroup(self, request: LaunchRequest, name: str) -> tuple[str | None, list[str]]:
        if self.cgroups is None:
            return None, []
        limits = cgroups.Limits(memory_bytes=self._memory(request), cpu_cores=request.cpu_cores,
                                max_processes=self.config.max_processes)
        try:
            self.cgroups.create(name, limits)
        except OSError as exc:
            raise SandboxError(f"cannot create the job's cgroup {name}: {exc}") from None
        return name, [str(p) for p in self.cgroups.procs_files(name)]

    def _fixed_env(self, request: LaunchRequest, identity: JobIdentity, work: Path, gpus: list[int],
                   real_devices: bool, *, in_image: bool) -> dict[str, str]:
        bin_dirs = ["/usr/local/sbin", "/usr/sbin", "/sbin"] if in_image else [str(Path(sys.prefix) / "bin")]
        visible = ",".join(str(i) for i in range(len(gpus))) if real_devices else ",".join(map(str, gpus))
        return {"PATH": ":".join(bin_dirs + ["/usr/local/bin", "/usr/bin", "/bin"]), "HOME": str(work),
                "USER": identity.user, "LOGNAME": identity.user, "TMPDIR": "/tmp", "CUDA_VISIBLE_DEVICES": visible,
                "AIDC_GPUS": ",".join(map(str, gpus)), "AIDC_JOB_ID": str(request.job_id), "AIDC_JOB_NAME": request.name,
                "AIDC_NODES": ",".join(n for n, _ in request.placement),
                **({"AIDC_JOB_TOKEN": request.job_token} if request.job_token else {}),
                **({"AIDC_SERVER": request.server_url} if request.server_url else {})}

    def _tool(self, path: str, rootfs: RootFs | None) -> list[str]:
        """argv prefix running a host tool: directly, or inside an image through the host's loader."""
        if rootfs is None:
            return [path]
        return self.host_tools().prefix(path)

    def host_tools(self) -> HostTools:
        if self._host_tools is None:
            self._host_tools = host_tools([t for t in (self.setpriv, self.prlimit) if t])
        return self._host_tools

    def _inner(self, identity: JobIdentity, env: dict[str, str], command: str, *, with_prlimit: bool,
               memory: int | None, rootfs: RootFs | None = None) -> list[str]:
        argv: list[str] = []
        if self.isolates and self.is_root:
            argv += self._tool(self.setpriv or "setpriv", rootfs) + [f"--reuid={identity.uid}", f"--regid={identity.gid}", "--clear-groups",
                     "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
        if with_prlimit and self.prlimit:
            argv += self._tool(self.prlimit, rootfs) + [f"--nproc={self.config.max_processes}"]
            if memory is not None:
                argv.append(f"--data={memory}")
            argv.append("--")
        env_bin, shell = (rootfs.env, rootfs.shell) if rootfs else ("/usr/bin/env", "/bin/bash")
        argv += [env_bin, "-i"] + [f"{k}={v}" for k, v in env.items()] + [shell, "-c", command]
        return argv

    def _bwrap_args(self, request: LaunchRequest, work: Path, devices, rootfs: RootFs | None) -> list[str]:  # noqa: ANN001
        args = [self.bwrap or "bwrap", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                "--die-with-parent", "--new-session"]
        if not self.is_root:
            args.append("--unshare-user")
        hidden = self._hidden()
        if rootfs is not None:  # the image's directories, and the host's helpers under /.aidc
            args += top_level_binds(rootfs.path) + self.host_tools().binds()
        else:
            args += [a for top in SYSTEM_DIRS for a in _system_dir(top)]
        # the private scratch dirs first: a runtime or work dir under /tmp is mounted on top of them
        args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/dev/shm", "--tmpfs", "/tmp", "--tmpfs", "/var/tmp",
                 "--tmpfs", "/run"]
        if rootfs is None:
            args += self._runtime_view(hidden)
        for src, dest in devices.binds:
            args += ["--dev-bind", src, dest]
        args += _traversable_parents([work] + [Path(v.mount_path) for v in request.volumes])
        for volume in request.volumes:
            source = volume_source(volume)
            args += ["--ro-bind" if volume.read_only else "--bind", str(source), volume.mount_path]
            # a volume that holds the launcher's data shows it as an empty dir (hidden again, over the volume)
            for path in hidden:
                if path.is_dir() and is_under(path, [source]):
                    args += ["--tmpfs", str(Path(volume.mount_path) / path.relative_to(source))]
        args += ["--bind", str(work), str(work)]  # last: the job's own dir lies inside the hidden data dir
        args += ["--chdir", str(work)]
        return args

    def _hidden(self) -> list[Path]:
        return [Path(h) for h in HIDDEN_SYSTEM] + [Path(h).resolve() for h in self.config.hidden_paths]

    def _runtime_view(self, hidden: list[Path]) -> list[str]:
        """The Python runtime (and configured ro_paths) read-only; hidden paths under them or the system
        directories emptied."""
        args: list[str] = []
        shown = [Path(top) for top in SYSTEM_DIRS if Path(top).is_dir() and not Path(top).is_symlink()]
        runtime = [p for p in collapse(list(self.runtime) + [Path(x).resolve() for x in self.config.ro_paths])
                   if p.exists()]
        args += _traversable_parents(runtime)
        for p in runtime:
            args += ["--ro-bind", str(p), str(p)]
            shown.append(p)
        return args + _over(hidden, shown)


def _system_dir(top: str) -> list[str]:
    """A host system directory read-only (a symlink such as /bin -> usr/bin recreated as one)."""
    p = Path(top)
    if p.is_symlink():
        return ["--symlink", os.readlink(p), top]
    if p.is_dir():
        return ["--ro-bind", top, top]
    return []


def _over(hidden: list[Path], shown: list[Path]) -> list[str]:
    """An empty tmpfs over each hidden directory that a shown mount would expose."""
    args: list[str] = []
    for path in hidden:
        if path.is_dir() and is_under(path, shown):
            args += ["--tmpfs", str(path)]
    return args


def _traversable_parents(paths: list[Path]) -> list[str]:
    """bwrap makes the missing parents of a mount point 0700 root; the job must pass through them (they
    hold nothing but the mount points), so they are made 0755 first."""
    parents: list[Path] = []
    for path in paths:
        for parent in reversed(path.parents):
            if parent != Path("/") and parent not in parents and not is_under(parent, [Path(d) for d in SYSTEM_DIRS]):
                parents.append(parent)
    args: list[str] = []
    for parent in sorted(parents, key=lambda q: len(q.parts)):
        args += ["--perms", "0755", "--dir", str(parent)]
    return args
