"""Driver-side helpers of the Ray executor: option checks, joining Ray, actor and group names, node names."""

from __future__ import annotations

import logging
import re
import socket
from pathlib import Path
from typing import Any

from aidc.core.errors import AidcError
from aidc.executors import ray_part

PLACEMENTS = ("aidc", "ray")
NODE_RESOURCE_PREFIX = "aidc_node:"


def _check_options(*, address: str, namespace: str, placement: str, cpus_per_part: float,
                   connect_timeout_s: float) -> None:
    if not isinstance(address, str) or not address:
        raise AidcError(f"ray executor option address: a Ray address such as '127.0.0.2:6379' or 'auto', "
                        f"got {address!r}")
    if not isinstance(namespace, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", namespace):
        raise AidcError(f"ray executor option namespace: letters, digits, '_', '.', '-' only, got {namespace!r}")
    if placement not in PLACEMENTS:
        raise AidcError(f"ray executor option placement: one of {list(PLACEMENTS)}, got {placement!r}")
    if isinstance(cpus_per_part, bool) or not isinstance(cpus_per_part, int | float) or cpus_per_part < 0:
        raise AidcError(f"ray executor option cpus_per_part: a number >= 0, got {cpus_per_part!r}")
    if isinstance(connect_timeout_s, bool) or not isinstance(connect_timeout_s, int | float) or connect_timeout_s <= 0:
        raise AidcError(f"ray executor option connect_timeout_s: a number of seconds > 0, got {connect_timeout_s!r}")


def _connect(address: str, namespace: str, node_ip_address: str | None, timeout_s: float) -> Any:
    """Connect this process to Ray as a driver (once per process); a clear error naming the option."""
    import ray

    if ray.is_initialized():
        current = ray.get_runtime_context().namespace
        if current != namespace:
            raise AidcError(f"ray executor option namespace: this process is already connected to Ray in "
                            f"namespace {current!r}, not {namespace!r}")
        return ray
    host, _, port = address.rpartition(":")
    if address != "auto" and not address.startswith("ray://"):
        if not host or not port.isdigit():
            raise AidcError(f"ray executor option address: HOST:PORT of the Ray head's GCS, got {address!r}")
        try:
            socket.create_connection((host, int(port)), timeout=timeout_s).close()
        except OSError as exc:
            raise AidcError(f"ray executor option address: nothing answers at {address} ({exc})") from None
        if node_ip_address is None and host.startswith("127."):
            node_ip_address = host  # on loopback, the driver joins through the head's own address
    kwargs: dict[str, Any] = {"address": address, "namespace": namespace, "log_to_driver": False,
                              "logging_level": logging.WARNING}
    if node_ip_address:
        kwargs["_node_ip_address"] = node_ip_address
    # the actor class travels by value, so Ray nodes need ray but not aidc installed
    ray.cloudpickle.register_pickle_by_value(ray_part)
    try:
        ray.init(**kwargs)
    except Exception as exc:  # noqa: BLE001 (any failure to join is a configuration problem to report)
        raise AidcError(f"ray executor option address: cannot connect to Ray at {address!r}: {exc}") from None
    return ray


def _attempt(workdir: Path) -> str:
    """The attempt token in actor names: N of a workdir named attempt-N, else a sanitized folder name."""
    m = re.fullmatch(r"attempt-(\d+)", workdir.name)
    return m.group(1) if m else re.sub(r"[^A-Za-z0-9]+", "_", workdir.name)[:40] or "0"


def _part_names(job_id: int, attempt: str, nparts: int) -> list[str]:
    return [f"aidc-job-{job_id}-{attempt}-{rank}" for rank in range(nparts)]


def _pg_name(job_id: int, attempt: str) -> str:
    return f"aidc-job-{job_id}-{attempt}"


def _stop_key(job_id: int, handle: dict[str, Any]) -> str:
    """Stops are tracked per attempt (by placement group): a new attempt's cancel is not taken for an old one's."""
    return str(handle.get("pg") or f"aidc-job-{job_id}")


def _deadline(started_s: float, max_runtime_s: float | None) -> float | None:
    return None if max_runtime_s is None else started_s + max_runtime_s


def _node_names(records: list[dict[str, Any]]) -> dict[str, str]:
    """Ray node id -> stable name: `aidc_node:<name>` resource, else the Ray node name, else hostname or IP."""
    hostnames = [r.get("NodeManagerHostname", "") for r in records if r["Alive"]]
    out = {}
    for rec in records:
        custom = [r[len(NODE_RESOURCE_PREFIX):] for r in rec.get("Resources", {}) if r.startswith(NODE_RESOURCE_PREFIX)]
        node_name = rec.get("NodeName") or ""
        hostname = rec.get("NodeManagerHostname") or ""
        if custom:
            out[rec["NodeID"]] = custom[0]
        elif node_name and node_name != rec["NodeManagerAddress"]:
            out[rec["NodeID"]] = node_name
        elif hostname and hostnames.count(hostname) == 1:
            out[rec["NodeID"]] = hostname
        else:
            out[rec["NodeID"]] = rec["NodeManagerAddress"]
    return out


def _gpu_model(resources: dict[str, float]) -> str | None:
    """aidc's catalog name for Ray's `accelerator_type:X` resource, when the catalog knows X."""
    from aidc.core.errors import UnknownNameError
    from aidc.core.gpus import get_gpu

    for key in resources:
        if key.startswith("accelerator_type:"):
            try:
                return get_gpu(key.split(":", 1)[1]).name
            except UnknownNameError:
                return None
    return None


def _creation_failed(exc: Exception) -> bool:
    """The actor's constructor raised (a bad workdir, say): the job failed, it was not lost."""
    return bool(getattr(exc, "actor_init_failed", False))


def _short(exc: Exception, limit: int = 2000) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit] + "..."
