"""Executors carry a plan out: launch, cancel and watch jobs on some engine (local host, Slurm, Ray, node agents)."""

from __future__ import annotations

import importlib
from typing import Any

from aidc.executors.base import Capabilities, DiscoveredNode, ExecutorEvent, Executor, LaunchRequest

__all__ = ["Capabilities", "DiscoveredNode", "Executor", "ExecutorEvent", "LaunchRequest", "REGISTRY", "get_executor"]

# registry name -> "module:Class"; imported only when chosen (Ray is heavy)
REGISTRY: dict[str, str] = {
    "local": "aidc.executors.local:LocalExecutor",
    "slurm": "aidc.executors.slurm:SlurmExecutor",
    "ray": "aidc.executors.ray:RayExecutor",
    "agent": "aidc.executors.agent:AgentExecutor",
}


def get_executor(name: str, **options: Any) -> Executor:
    """An executor by registry name, built with its options; unknown names and options get a clear error."""
    from aidc.core.errors import AidcError, UnknownNameError, did_you_mean

    if name not in REGISTRY:
        raise UnknownNameError(f"unknown executor {name!r}{did_you_mean(name, list(REGISTRY))}")
    module_name, cls_name = REGISTRY[name].split(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    try:
        return cls(**options)
    except TypeError as exc:
        raise AidcError(f"executor {name!r}: bad options {sorted(options)}: {exc}") from None
