"""From a stored job and its tenant to what an executor launches: identity, volumes, limits, job token.

`check` runs at submit (a job naming a volume its tenant lacks, or checkpointing outside a writable
volume, is refused with the field at fault); `request` runs at launch with the same rules, so a tenant
whose volumes changed in between cannot hand a job more than the tenant now has.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from aidc.core.jobs import JobSpec
from aidc.core.tenancy import TenantSandbox, VolumeSpec, inside
from aidc.executors.base import JobIdentity, LaunchRequest, VolumeMount
from aidc.server.errors import BadRequest
from aidc.server.models import JobModel, TenantModel


def mounts(spec: JobSpec, sandbox: TenantSandbox, tenant: str) -> tuple[VolumeMount, ...]:
    """The job's volumes as mounts: the ones it names (default: all the tenant's), access as declared
    (a job may narrow rw to ro, never widen)."""
    declared = {v.name: v for v in sandbox.volumes}
    if spec.volumes is None:
        return tuple(_mount(v, read_only=v.access == "ro", sub_path="") for v in sandbox.volumes)
    out = []
    for i, use in enumerate(spec.volumes):
        volume = declared.get(use.name)
        if volume is None:
            have = ", ".join(sorted(declared)) or "none"
            raise BadRequest(f"volumes[{i}].name: tenant {tenant} has no volume {use.name!r} (it has {have})",
                             field=f"volumes.{i}.name")
        out.append(_mount(volume, read_only=use.read_only or volume.access == "ro", sub_path=use.sub_path))
    names = [m.name for m in out]
    if len(set(names)) != len(names):
        raise BadRequest("volumes: a volume is named twice", field="volumes")
    return tuple(out)


def _mount(volume: VolumeSpec, *, read_only: bool, sub_path: str) -> VolumeMount:
    return VolumeMount(name=volume.name, host_path=volume.host_path, mount_path=volume.target, read_only=read_only,
                       sub_path=sub_path)


def check(spec: JobSpec, tenant: TenantModel, executor: Any) -> tuple[VolumeMount, ...]:
    """Submit-time checks of what the job may touch; returns its mounts."""
    sandbox = tenant.sandbox
    volumes = mounts(spec, sandbox, tenant.name)
    if spec.checkpoint_dir is not None:
        check_checkpoint_dir(spec.checkpoint_dir, volumes, tenant.name)
    if executor is not None and sandbox.isolation == "required" and not getattr(executor, "isolates_jobs", False):
        raise BadRequest(f"tenant {tenant.name} requires isolated jobs and the {executor.name} executor cannot isolate "
                         "one job from another (use the local, agent or slurm executor, or set the tenant's "
                         "isolation to best_effort)", field="tenant")
    if spec.image is not None and not getattr(executor, "runs_images", False):
        raise BadRequest(f"image: the {getattr(executor, 'name', '?')} executor does not run images here",
                         field="image")
    if spec.image is not None:  # the executor runs images (above): directory root filesystems, as the sandbox does
        from aidc.executors.sandbox.images import ImageError, parse_image

        try:
            parse_image(spec.image)
        except ImageError as exc:
            raise BadRequest(f"image: {exc}", field="image") from None
    return volumes


def check_checkpoint_dir(path: str, volumes: tuple[VolumeMount, ...], tenant: str) -> None:
    """A checkpoint outlives the attempt, so it must lie in a read-write volume (the work dir is per attempt)."""
    if not path.startswith("/") or ".." in path.split("/"):
        raise BadRequest(f"checkpoint_dir: give an absolute path without '..', got {path!r}", field="checkpoint_dir")
    for m in volumes:
        root = m.mount_path + ("/" + m.sub_path if m.sub_path else "")
        if inside(path, root):
            if m.read_only:
                raise BadRequest(f"checkpoint_dir: {path} is in volume {m.name}, mounted read-only for this job",
                                 field="checkpoint_dir")
            return
    writable = ", ".join(f"{m.name} ({m.mount_path})" for m in volumes if not m.read_only) or "none"
    raise BadRequest(f"checkpoint_dir: {path} is not inside a read-write volume of tenant {tenant} (its writable "
                     f"volumes: {writable}; an admin declares one with PUT /api/v1/tenants/{tenant}/sandbox)",
                     field="checkpoint_dir")


def request(job: JobModel, tenant: TenantModel, *, workdir: Path, token: str | None,
            server_url: str | None) -> LaunchRequest:
    """The executor's launch request for a job's current attempt."""
    spec = JobSpec.model_validate(job.spec)
    sandbox = tenant.sandbox
    command = spec.command or "aidc " + shlex.quote(spec.workload or "")
    env = dict(spec.env)
    if spec.checkpoint_dir:
        env["AIDC_CHECKPOINT_DIR"] = spec.checkpoint_dir
    identity = None
    if sandbox.unix_uid is not None:
        identity = JobIdentity(uid=sandbox.unix_uid, gid=sandbox.unix_uid, user=f"aidc-{tenant.name}"[:32])
    return LaunchRequest(job_id=job.id, name=job.name, command=command, workdir=workdir,
                         placement=tuple((n, tuple(i)) for n, i in job.placement), env=env,
                         max_runtime_s=spec.max_runtime_s, attempt=job.attempts, tenant=tenant.name,
                         tenant_id=tenant.id, identity=identity, volumes=mounts(spec, sandbox, tenant.name),
                         cpu_cores=spec.cpu_cores, memory_gib=spec.memory_gib, image=spec.image,
                         isolation=sandbox.isolation, job_token=token, server_url=server_url)
