"""What a replay returns: per-job outcomes as arrays, and the step functions of busy GPUs, queue and stranded GPUs."""

from __future__ import annotations

from array import array
from dataclasses import dataclass

import numpy as np

from aidc.sim.jobs import SimJob


class StepLog:
    """(time, change) pairs of a step function, stored compactly (16 bytes a change)."""

    __slots__ = ("times", "deltas")

    def __init__(self) -> None:
        self.times, self.deltas = array("d"), array("d")

    def add(self, t: float, delta: float) -> None:
        self.times.append(t)
        self.deltas.append(delta)

    def __len__(self) -> int:
        return len(self.times)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(times, levels): the value of the step function just after each change, in time order."""
        t = np.frombuffer(self.times, dtype=float) if len(self.times) else np.zeros(0)
        d = np.frombuffer(self.deltas, dtype=float) if len(self.deltas) else np.zeros(0)
        order = np.argsort(t, kind="stable")
        return t[order], np.cumsum(d[order])


@dataclass
class Outcomes:
    """Per-job results of one replay, copied out of the trace (which the next replay reuses)."""

    job_id: np.ndarray  # int: index in the trace, by submit time
    name: list[str]  # the trace's own job id, "" if none
    tenant: list[str | None]
    gpus: np.ndarray  # GPUs held (a fraction for a GPU share)
    submit_s: np.ndarray
    duration_s: np.ndarray
    start_s: np.ndarray  # NaN: never started
    end_s: np.ndarray  # NaN: never finished
    queue_s: np.ndarray
    preemptions: np.ndarray
    restarts: np.ndarray

    @classmethod
    def of(cls, jobs: list[SimJob]) -> Outcomes:
        nan = float("nan")
        return cls(
            np.array([j.jid for j in jobs], dtype=np.int64), [j.name for j in jobs], [j.tenant for j in jobs],
            np.array([j.gpu_equiv for j in jobs], dtype=float), np.array([j.submit_s for j in jobs], dtype=float),
            np.array([j.duration_s for j in jobs], dtype=float),
            np.array([nan if j.start_s is None else j.start_s for j in jobs], dtype=float),
            np.array([nan if j.end_s is None else j.end_s for j in jobs], dtype=float),
            np.array([j.queue_s for j in jobs], dtype=float), np.array([j.preemptions for j in jobs], dtype=float),
            np.array([j.restarts for j in jobs], dtype=float),
        )

    @property
    def done(self) -> np.ndarray:
        return ~np.isnan(self.end_s)


@dataclass
class SimResult:
    jobs: Outcomes
    cluster_gpus: int
    policy: str
    placement: str
    wall_s: float
    busy_log: StepLog  # changes in busy GPUs
    queue_log: StepLog  # changes in pending jobs
    stranded_log: StepLog  # changes in free GPUs that no pending job could use
    never_started: list[tuple[int, str]]  # jobs that could never start, with why
    gpu_busy_kw: float = 0.25
    gpu_idle_kw: float = 0.05
