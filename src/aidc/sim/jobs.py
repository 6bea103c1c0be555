"""The simulator's job record and trace container (one object per job, mutated as it runs)."""

from __future__ import annotations

from dataclasses import dataclass, field


class SimJob:
    """One job of a trace plus what happened to it in a replay. Times in seconds from the trace origin."""

    __slots__ = (
        "jid", "submit_s", "duration_s", "gpus", "tenant", "gpu_milli", "gpu_models", "priority", "user", "name",
        "estimate_s", "given_estimate_s", "start_s", "end_s", "queue_s", "wait_since_s", "preemptions", "restarts", "remaining_s",
        "est_remaining_s", "attained_gpu_s", "last_start_s", "placement", "version", "part", "lost_s", "share",
        "runtime_samples_s",
    )

    def __init__(
        self, jid: int, submit_s: float, duration_s: float, gpus: int, tenant: str | None = None, *,
        gpu_milli: int = 1000, gpu_models: tuple[str, ...] = (), priority: int = 0, user: str = "", name: str = "",
        estimate_s: float | None = None,
    ) -> None:
        self.jid, self.submit_s, self.duration_s, self.gpus, self.tenant = jid, submit_s, duration_s, gpus, tenant
        self.gpu_milli, self.gpu_models, self.priority, self.user, self.name = gpu_milli, gpu_models, priority, user, name
        self.given_estimate_s = estimate_s  # from the trace, if it has one
        self.reset()

    def reset(self) -> None:
        """Forget a previous replay (a trace can be replayed under several policies)."""
        # what the scheduler is told: the trace's estimate, else the truth (an estimator may replace it)
        self.estimate_s = self.duration_s if self.given_estimate_s is None else self.given_estimate_s
        self.start_s: float | None = None  # first start
        self.end_s: float | None = None
        self.queue_s = 0.0  # all time spent waiting, including after preemptions
        self.wait_since_s = self.submit_s
        self.preemptions = 0
        self.restarts = 0  # after node failures
        self.remaining_s = self.duration_s  # true work left, restart overheads included
        self.est_remaining_s = self.estimate_s
        self.attained_gpu_s = 0.0
        self.last_start_s = 0.0
        self.placement: tuple[tuple[str, int], ...] = ()
        self.version = 0  # bumped when a scheduled end becomes stale (preemption, failure)
        self.part = None
        self.lost_s = 0.0  # work lost to failures (since the last checkpoint)
        self.share: list[int] | None = None  # the shared-GPU slot of a fractional job while it runs
        self.runtime_samples_s: tuple[float, ...] = ()  # run times of similar finished jobs (estimator's evidence)

    @property
    def gpu_equiv(self) -> float:
        """GPUs held: whole GPUs, or the fraction of one for a GPU share."""
        return self.gpus if self.gpus else self.gpu_milli / 1000

    @property
    def jct_s(self) -> float | None:
        return None if self.end_s is None else self.end_s - self.submit_s


@dataclass
class Trace:
    """Jobs sorted by submit time (ties keep file order), with where they came from."""

    jobs: list[SimJob]
    source: str = ""
    origin: str = ""  # what t=0 is, for people (e.g. "2017-10-01 00:00:45 local")
    tenants: list[str] = field(default_factory=list)
    origin_epoch_s: float | None = None  # epoch seconds of t=0 when the trace has dates (Philly)
    skipped: list[str] = field(default_factory=list)  # rows left out by skip_bad_rows, each with why

    def __len__(self) -> int:
        return len(self.jobs)

    def window(self, start_s: float | None = None, end_s: float | None = None) -> Trace:
        """Jobs submitted in [start_s, end_s), renumbered, times kept."""
        lo = -float("inf") if start_s is None else start_s
        hi = float("inf") if end_s is None else end_s
        keep = [j for j in self.jobs if lo <= j.submit_s < hi]
        return Trace(_clone(keep), self.source, self.origin, self.tenants, self.origin_epoch_s, self.skipped)

    def scaled_load(self, factor: float) -> Trace:
        """Divide every inter-arrival gap by `factor` (a load knob for traces without a VC table)."""
        out = _clone(self.jobs)
        for j in out:
            j.submit_s /= factor
            j.reset()
        return Trace(out, self.source, self.origin, self.tenants, None)

    def reset(self) -> None:
        for j in self.jobs:
            j.reset()


def _clone(jobs: list[SimJob]) -> list[SimJob]:
    return [
        SimJob(i, j.submit_s, j.duration_s, j.gpus, j.tenant, gpu_milli=j.gpu_milli, gpu_models=j.gpu_models,
               priority=j.priority, user=j.user, name=j.name, estimate_s=j.given_estimate_s)
        for i, j in enumerate(jobs)
    ]
