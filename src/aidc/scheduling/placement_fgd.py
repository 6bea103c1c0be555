"""Fragmentation-aware placement (`fgd`): Fragmentation Gradient Descent (Weng et al., ATC'23).

A node's fragmentation for a workload is the GPU capacity it has free that a job of the workload
could not use there, averaged over the workload's job types (weights = how often each type comes):
all of it when the type cannot run on the node (wrong GPU model, too few GPUs), else the partly
used GPUs too small for it (a whole-GPU job cannot use any partly used GPU). `fgd` puts a job where
that expected fragmentation grows least (ties: the fuller node, then the lower index), so shares
pile onto GPUs already shared and whole GPUs stay whole.

The workload is `FGD(workload=((gpus, gpu_milli, models, weight), ...))`, e.g. the type mix of the
trace being placed (`workload_of`); without one, the job's own type stands in for it (keep room for
more jobs like this one). Jobs larger than a node go on whole nodes, as `consolidate`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable

from aidc.scheduling.placement import PLACERS, Consolidate, FreeState, Pairs
from aidc.scheduling.types import PendingJob

JobType = tuple[int, int, tuple[str, ...], float]  # (whole GPUs, 0 = a share; thousandths per GPU; models; weight)


def workload_of(jobs: Iterable[PendingJob]) -> tuple[JobType, ...]:
    """The type mix of `jobs` (weights sum to 1), for `FGD(workload=...)`."""
    counts = Counter((j.gpus, j.gpu_milli if j.gpus == 0 else 1000, tuple(j.gpu_models)) for j in jobs)
    total = sum(counts.values()) or 1
    return tuple((g, m, models, n / total) for (g, m, models), n in sorted(counts.items(), key=lambda kv: -kv[1]))


def type_frag_milli(model: str | None, gpus: int, free: int, shares: tuple[int, ...], t: JobType) -> float:
    """Free capacity (thousandths of a GPU) of one node that a job of type `t` could not use."""
    g, m, models, _ = t
    partial = sum(shares)
    if models and model not in models:
        return free * 1000 + partial
    if g == 0:
        return sum(s for s in shares if s < m)
    if g <= gpus:
        return partial + (0 if free >= g else free * 1000)
    return partial + (0 if free == gpus else free * 1000)  # spans nodes: only a wholly free node helps


@dataclass(frozen=True)
class FGD:
    """Place where the workload's expected fragmentation grows least (see the module docstring)."""

    workload: tuple[JobType, ...] = ()
    name: str = "fgd"
    _memo: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    def node_frag_milli(self, model: str | None, gpus: int, free: int, shares: tuple[int, ...],
                        workload: tuple[JobType, ...]) -> float:
        """Expected fragmentation of one node state under `workload` (memoized by node state)."""
        key = (model, gpus, free, tuple(sorted(shares)), workload)
        hit = self._memo.get(key)
        if hit is None:
            if len(self._memo) > 200_000:
                self._memo.clear()
            hit = self._memo[key] = sum(t[3] * type_frag_milli(model, gpus, free, shares, t) for t in workload)
        return hit

    def place(self, job: PendingJob, state: FreeState) -> Pairs | None:
        g = job.gpus
        if g > state.node_gpus(job):
            return Consolidate._multi(job, state)
        workload = self.workload or ((g, job.gpu_milli if g == 0 else 1000, tuple(job.gpu_models), 1.0),)
        best: tuple[float, int, int] | None = None
        pairs: Pairs | None = None
        for i, f in enumerate(state.free):
            if not state.allowed(job, i):
                continue
            n = state.nodes[i]
            shares = tuple(state.shares(i)) if (n.free_gpu_milli or i in state._shares) else ()
            for code, f2, s2 in _options(job, f, shares):
                before = self.node_frag_milli(n.gpu_model, n.gpus, f, shares, workload)
                after = self.node_frag_milli(n.gpu_model, n.gpus, f2, s2, workload)
                rank = (after - before, f2 * 1000 + sum(s2), i)
                if best is None or rank < best:
                    best, pairs = rank, [(i, code)]
        return pairs


def _options(job: PendingJob, free: int, shares: tuple[int, ...]) -> list[tuple[int, int, tuple[int, ...]]]:
    """Ways to put `job` on one node: (pair code, free whole GPUs after, shared GPUs' free thousandths after).

    A whole-GPU job's code is its GPU count; a share's is -1 - k to join shared GPU k, or 0 for a
    new share of a free GPU (the `place_share` convention)."""
    if job.gpus > 0:
        return [(job.gpus, free - job.gpus, shares)] if free >= job.gpus else []
    need, out, seen = job.gpu_milli, [], set()
    for k, s in enumerate(shares):
        if s >= need and s not in seen:  # GPUs with the same room are interchangeable: try one
            seen.add(s)
            out.append((-1 - k, free, shares[:k] + (s - need,) + shares[k + 1:]))
    if free >= 1:
        out.append((0, free - 1, shares + (1000 - need,)))
    return out


PLACERS["fgd"] = FGD
