"""The scheduler's contract: a frozen `ClusterSnapshot` in, a frozen `SchedulingPlan` out.

Everything a policy may look at is in the snapshot, including the time (`now_s`); nothing else
(clock, database, network) is read. The simulator and the control plane both build snapshots
and carry plans out, so the same snapshot always yields the same plan.

Time-varying job state is stored so that it does not change while a job runs: a running job
carries what it had when it (re)started (`remaining_at_start_s`, `attained_at_start_gpu_s`) and
`remaining_s(now_s)` / `attained_gpu_s(now_s)` derive the current values. A builder never has to
rewrite running jobs to advance time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Collection, Hashable

JobId = Hashable  # str in the control plane, int in the simulator


@dataclass(frozen=True, slots=True)
class NodeState:
    """One node as the scheduler sees it: capacity, what is free, and its labels."""

    name: str
    gpus: int  # GPUs installed
    free_gpus: int  # whole GPUs with nothing on them; 0 when the node is not schedulable
    gpu_model: str | None = None
    partition: str | None = None  # tenant / virtual cluster that owns the node; None = shared
    nvlink_domain: str = ""  # nodes sharing a scale-up domain
    leaf_group: int = 0  # nodes behind one leaf switch
    rack: str = ""
    feed: str = ""  # power feed of the rack
    gpu_power_kw: float = 0.0  # draw of one busy GPU (node share included), for power budgets
    free_gpu_milli: tuple[int, ...] = ()  # per partly-used GPU, free thousandths; () = none shared
    schedulable: bool = True  # False while down or drained for maintenance


@dataclass(frozen=True, slots=True)
class PendingJob:
    """A job waiting to start (new, or preempted and waiting to resume)."""

    job_id: JobId
    gpus: int  # whole GPUs; 0 with gpu_milli < 1000 for a fractional job
    submit_s: float
    tenant: str | None = None
    priority: int = 0  # larger = more important (strict-priority policy)
    duration_estimate_s: float | None = None  # total run time, true or predicted; None = unknown
    remaining_estimate_s: float | None = None  # what is left of it (after restarts); None = unknown
    attained_gpu_s: float = 0.0  # GPU-seconds of service received so far (2D-LAS)
    gpu_milli: int = 1000  # per GPU, thousandths (< 1000: a GPU share)
    gpu_models: tuple[str, ...] = ()  # allowed GPU models; () = any
    preemptions: int = 0
    wait_since_s: float | None = None  # when it last became pending (submit, or preemption)
    # Run times (s, ascending) of finished jobs like this one (same tenant and size), known when it was
    # submitted: the evidence behind `duration_estimate_s`, for policies that rank by a distribution
    # (gittins). () = none. Builders share one tuple between the jobs of a class.
    runtime_samples_s: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class RunningJob:
    """A job holding GPUs. Values are as of `started_s`; use the methods for the current ones."""

    job_id: JobId
    gpus: int
    submit_s: float
    started_s: float  # when it last (re)started
    placement: tuple[tuple[str, int], ...]  # (node name, GPUs) pairs
    tenant: str | None = None
    priority: int = 0
    remaining_at_start_s: float | None = None  # estimate of what was left at started_s
    attained_at_start_gpu_s: float = 0.0
    gpu_milli: int = 1000
    preemptible: bool = True
    runtime_samples_s: tuple[float, ...] = ()  # as PendingJob.runtime_samples_s

    def remaining_s(self, now_s: float) -> float | None:
        if self.remaining_at_start_s is None:
            return None
        return max(0.0, self.remaining_at_start_s - (now_s - self.started_s))

    def attained_gpu_s(self, now_s: float) -> float:
        return self.attained_at_start_gpu_s + self.gpus * max(0.0, now_s - self.started_s)


@dataclass(frozen=True, slots=True)
class Quota:
    """A tenant's share: `gpus` guaranteed; it may borrow idle GPUs up to `max_gpus` (None = no cap)."""

    tenant: str
    gpus: int
    max_gpus: int | None = None
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class ClusterSnapshot:
    """All a policy may read. Never mutated; a cycle works on its own copies of the free counts.

    `pending` is in arrival order (submit time, then id). With `isolated_partitions` a job runs only
    on nodes whose `partition` equals its tenant (Philly's virtual clusters).

    `pending` and `running` are collections a policy iterates (tuples from the control plane; the
    simulator passes read-only views of its own tables, valid until it carries the plan out, so a
    cycle costs nothing per job that the policy does not look at).
    """

    now_s: float
    nodes: tuple[NodeState, ...]
    pending: Collection[PendingJob] = ()
    running: Collection[RunningJob] = ()
    quotas: tuple[Quota, ...] = ()
    isolated_partitions: bool = False
    origin_s: float = 0.0  # start of the decision grid for policies that decide on a fixed interval
    power_budgets_kw: tuple[tuple[str, float], ...] = ()  # (rack or feed name, kW available to GPUs)
    # Optional denormalized view: `free_gpus[i] == nodes[i].free_gpus`. A builder that keeps this
    # vector anyway (the simulator) passes it so a cycle on thousands of nodes need not re-read them.
    free_gpus: tuple[int, ...] | None = None


@dataclass(frozen=True, slots=True)
class Placement:
    """Start `job_id` on these (node name, GPUs) pairs.

    A fractional job (`gpu_milli` < 1000) has one pair (node, 0) and `shared_gpu`: the index of the
    partly used GPU in that node's `free_gpu_milli` it joins, or -1 to carve a share out of a free GPU.
    """

    job_id: JobId
    nodes: tuple[tuple[str, int], ...]
    gpu_milli: int = 1000
    shared_gpu: int = -1


@dataclass(frozen=True, slots=True)
class SchedulingPlan:
    """What to do now. Carrying it out: preempt first, then start. Pending jobs not started get a reason."""

    to_start: tuple[Placement, ...] = ()
    to_preempt: tuple[JobId, ...] = ()
    unschedulable: tuple[tuple[JobId, str], ...] = ()  # (job, why it did not start)
    recheck_at_s: float | None = None  # run again then even if nothing happens; None = only on events
    impossible: tuple[JobId, ...] = ()  # pending jobs that can never start on these nodes: reject them
    # Reason for every pending job neither started nor listed in `unschedulable` (the jobs a blocking
    # pass never examined: they all wait for the same thing). Keeps a cycle O(examined jobs).
    default_reason: str = ""

    def reasons(self, snapshot: ClusterSnapshot) -> dict[JobId, str]:
        """Why each pending job of `snapshot` did not start (jobs that start are left out)."""
        started = {p.job_id for p in self.to_start}  # (impossible jobs are in `unschedulable` too)
        out = {j.job_id: self.default_reason for j in snapshot.pending if j.job_id not in started}
        out.update(self.unschedulable)
        return out
