"""Executors carry a plan out: launch, cancel and watch jobs on some engine (local host, Slurm, Ray)."""

from __future__ import annotations

from aidc.executors.base import Capabilities, ExecutorEvent, Executor, LaunchRequest

__all__ = ["Capabilities", "Executor", "ExecutorEvent", "LaunchRequest", "get_executor"]


def get_executor(name: str, **kwargs: object) -> Executor:
    """An executor by registry name; unknown names get a suggestion."""
    from aidc.core.errors import UnknownNameError, did_you_mean

    if name == "local":
        from aidc.executors.local import LocalExecutor

        return LocalExecutor(**kwargs)  # type: ignore[arg-type]
    raise UnknownNameError(f"unknown executor {name!r}{did_you_mean(name, ['local'])}")
