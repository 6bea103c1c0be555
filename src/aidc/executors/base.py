"""The executor contract every engine implements: launch, cancel, poll events, re-attach, capabilities.

Failures come back as events (`ExecutorEvent(kind="failed"|"lost", ...)`), never as exceptions
across threads. An executor keeps no state the control plane cannot rebuild: `launch` returns a
JSON-able `handle` that the server stores with the job and hands back to `reattach` after a restart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol


@dataclass(frozen=True)
class Capabilities:
    multi_node: bool = False
    preemption: bool = True
    checkpoint_restore: bool = False  # can ask a job to checkpoint before it stops
    fractional_gpus: bool = False


@dataclass(frozen=True)
class VolumeMount:
    """A tenant volume as one job mounts it: host directory, path inside the sandbox, access."""

    name: str
    host_path: str  # absolute, normalised (checked when the tenant declared it)
    mount_path: str  # where the job sees it (default: the host path)
    read_only: bool = True
    sub_path: str = ""  # only this directory of the volume (relative, no '..'; resolved without symlinks)


@dataclass(frozen=True)
class JobIdentity:
    """The Unix identity a job runs under: its tenant's, never the server's or agent's."""

    uid: int
    gid: int
    user: str  # USER / LOGNAME inside the job


@dataclass(frozen=True)
class LaunchRequest:
    job_id: int
    name: str
    command: str
    workdir: Path  # the job's own folder: logs, exit code, scratch
    placement: tuple[tuple[str, tuple[int, ...]], ...]  # (node, GPU indices) pairs
    env: dict[str, str] = field(default_factory=dict)
    max_runtime_s: float | None = None
    attempt: int = 1  # the job's launch count: an executor never starts the same attempt twice
    # isolation (executors/sandbox): who the job runs as, what it may see, what it may use
    tenant: str = ""
    tenant_id: int | None = None  # with no identity, the job runs as the sandbox's uid base + tenant_id
    identity: JobIdentity | None = None  # None: the executor's default job identity
    volumes: tuple[VolumeMount, ...] = ()
    cpu_cores: float | None = None
    memory_gib: float | None = None
    image: str | None = None  # a directory root filesystem ("dir:/path") or an OCI image name
    isolation: str = "best_effort"  # the tenant's: "required" refuses an executor that cannot isolate
    job_token: str | None = None  # AIDC_JOB_TOKEN: this attempt's own API token (never stored by an executor)
    server_url: str | None = None  # AIDC_SERVER: where the job reaches the API with it


@dataclass(frozen=True)
class ExecutorEvent:
    job_id: int
    kind: Literal["running", "succeeded", "failed", "lost"]
    exit_code: int | None = None
    reason: str = ""
    nodes: tuple[str, ...] = ()  # where the engine actually put it, when the engine placed it ("running")
    attempt: int | None = None  # set by executors that can report late: an event for an older attempt is dropped


@dataclass(frozen=True)
class DiscoveredNode:
    """A node an engine already knows (Slurm node, Ray node), to import into aidc's inventory."""

    name: str
    gpus: int
    cpu_cores: int
    ram_gib: float
    gpu_model: str | None = None  # aidc catalog name when the engine says which GPU it is
    partition: str = ""  # Slurm partition / Ray node group; becomes the rack name in the inventory
    state: Literal["active", "draining", "down"] = "active"


class Executor(Protocol):
    name: str
    capabilities: Capabilities

    def launch(self, request: LaunchRequest) -> dict[str, Any]:
        """Start the job; return its handle (JSON-able). Raises only for a launch that cannot happen at all."""

    def cancel(self, job_id: int, handle: dict[str, Any], *, grace_s: float = 10.0) -> None:
        """Stop the job: ask now (SIGTERM), force after grace_s (SIGKILL, from a later poll). Returns at
        once, so a caller holding a database connection never waits on a job. Idempotent."""

    def reattach(self, job_id: int, handle: dict[str, Any], max_runtime_s: float | None = None) -> bool:
        """After a server restart: resume watching a job launched before. False when it is gone."""

    def poll(self) -> list[ExecutorEvent]:
        """Events since the last poll: jobs that ended, with exit codes. Never blocks."""

    def log_path(self, handle: dict[str, Any]) -> Path | None:
        """Where the job's combined stdout/stderr is written."""


class DiscoversNodes(Protocol):
    """Optional: an executor whose engine has its own node list (Slurm, Ray)."""

    def discover(self) -> list[DiscoveredNode]:
        """The engine's nodes now, with GPUs, CPUs and memory."""


class ManagesNodes(Protocol):
    """Optional: an executor that mirrors aidc's node drains into the engine (Slurm drain/resume)."""

    def set_node_state(self, node: str, state: Literal["drain", "resume"], reason: str) -> None:
        """Drain (no new work; running jobs go on until aidc requeues them) or resume a node."""
