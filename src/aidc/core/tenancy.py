"""What a tenant's jobs may touch: its declared volumes, its Unix identity and how strictly it is isolated."""

from __future__ import annotations

import posixpath
from typing import Literal

from pydantic import Field, field_validator, model_validator

from aidc.core.strict import StrictModel

# a volume may neither come from nor be mounted over these: the sandbox's own tools and kernel interfaces
FORBIDDEN_ROOTS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/proc", "/sys", "/dev",
                   "/boot", "/run", "/var/run")
VOLUME_NAME = r"^[a-z0-9][a-z0-9._-]{0,63}$"
Isolation = Literal["required", "best_effort"]


def check_volume_path(path: str, what: str) -> str:
    """An absolute, normalised path outside the system directories (the sandbox runs its tools from them)."""
    if "\0" in path or any(ord(c) < 32 for c in path):
        raise ValueError(f"{what} has a control character")
    if not path.startswith("/"):
        raise ValueError(f"{what} must be absolute, got {path!r}")
    if ".." in path.split("/") or posixpath.normpath(path) != path.rstrip("/") or path == "/":
        raise ValueError(f"{what} must be a plain absolute path without '..', '.', '//' or a trailing '/': {path!r}")
    for root in FORBIDDEN_ROOTS:
        if path == root or path.startswith(root + "/"):
            raise ValueError(f"{what} {path!r} is inside {root}, which jobs see only as the system's")
    return path


class VolumeSpec(StrictModel):
    """A directory on every node a tenant's jobs may mount: datasets, checkpoints, models."""

    name: str = Field(pattern=VOLUME_NAME)
    host_path: str = Field(max_length=4096, description="absolute directory on the nodes")
    mount_path: str | None = Field(default=None, max_length=4096, description="where jobs see it (default: host_path)")
    access: Literal["ro", "rw"] = Field(default="ro", description="ro: jobs only read it; rw: jobs may write")

    @field_validator("host_path")
    @classmethod
    def _host(cls, v: str) -> str:
        return check_volume_path(v, "host_path")

    @field_validator("mount_path")
    @classmethod
    def _mount(cls, v: str | None) -> str | None:
        return None if v is None else check_volume_path(v, "mount_path")

    @property
    def target(self) -> str:
        return self.mount_path or self.host_path


class TenantSandbox(StrictModel):
    """The isolation part of a tenant: volumes, the Unix uid its jobs run as, and how strict to be."""

    volumes: list[VolumeSpec] = Field(default_factory=list, max_length=64)
    unix_uid: int | None = Field(default=None, ge=1000, le=2**31 - 2,
                                 description="uid/gid its jobs run as (default: the executor's base + tenant id)")
    isolation: Isolation = Field(default="best_effort", description="required: never on an executor that cannot isolate")

    @model_validator(mode="after")
    def _distinct(self) -> "TenantSandbox":
        names = [v.name for v in self.volumes]
        if len(set(names)) != len(names):
            raise ValueError(f"volume names repeat: {sorted(n for n in set(names) if names.count(n) > 1)}")
        targets = sorted(v.target for v in self.volumes)
        for a, b in zip(targets, targets[1:]):
            if a == b or b.startswith(a + "/"):
                raise ValueError(f"volume mount paths nest or repeat: {a} and {b}")
        return self


class JobVolume(StrictModel):
    """A job's use of one of its tenant's volumes."""

    name: str = Field(pattern=VOLUME_NAME)
    read_only: bool = Field(default=False, description="mount a read-write volume read-only for this job")
    sub_path: str = Field(default="", max_length=1024, description="only this directory inside the volume")

    @field_validator("sub_path")
    @classmethod
    def _sub(cls, v: str) -> str:
        if v and (v.startswith("/") or ".." in v.split("/") or "\0" in v or posixpath.normpath(v) != v.rstrip("/")):
            raise ValueError(f"sub_path must be a plain relative path inside the volume, got {v!r}")
        return v


def inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")
