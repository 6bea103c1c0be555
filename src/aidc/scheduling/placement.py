"""Placement plugins: where a job that the policy chose to start goes, on one cycle's free GPUs.

A placer gets a `FreeState` (this cycle's mutable copy of the free GPUs of the snapshot's nodes)
and returns (node index, GPUs) pairs or None. It never mutates the state itself; the caller
commits with `FreeState.take`, so a policy can try a placement and move on.

`consolidate` follows the published simulators on Philly exactly (Helios/Lucid `ConsolidatePlacement`):
a job of at most one node's GPUs goes to the fullest node that still fits it (best fit, lowest index
on ties); a larger job takes whole idle nodes in index order, and a remainder of fewer than a node's
GPUs goes on the node with the most free GPUs. `topology` and `power` live in placement_more.py.
"""

from __future__ import annotations

import math
import operator
from typing import Callable, Protocol, Sequence

from aidc.scheduling.types import ClusterSnapshot, NodeState, PendingJob

Pairs = list[tuple[int, int]]  # (node index in FreeState, GPUs)
_FREE = operator.attrgetter("free_gpus")
# _AT_LEAST[g] maps a byte v to 1 if v >= g else 0 (bytes.translate table)
_AT_LEAST = [bytes(1 if v >= g else 0 for v in range(256)) for g in range(256)]


class FreeState:
    """Free GPUs of a snapshot's nodes during one cycle (mutable working copy; the snapshot is not)."""

    __slots__ = ("nodes", "free", "_index", "_total_gpus", "_max_node_gpus", "power_left_kw", "_shares", "_installed")

    def __init__(self, nodes: Sequence[NodeState], power_budgets_kw: Sequence[tuple[str, float]] = (),
                 free_gpus: Sequence[int] | None = None) -> None:
        self.nodes = nodes
        self.power_left_kw = dict(power_budgets_kw) if power_budgets_kw else {}  # rack/feed -> kW left for GPUs
        # A node that is not schedulable reports 0 free. A bytearray when every count fits a byte
        # (always, for GPUs per node): best fit is then a few memchr calls, fast on 10,000 nodes.
        vec = free_gpus if free_gpus is not None else list(map(_FREE, nodes))
        try:
            self.free: bytearray | list[int] = bytearray(vec)
        except ValueError:
            self.free = list(vec)
        self._index: dict[str, int] | None = None  # the rest is computed on first use: a cycle
        self._total_gpus = -1  # that starts one small job should not pay for it
        self._max_node_gpus = -1
        self._installed = -1
        self._shares: dict[int, list[int]] = {}  # node -> free thousandths of its shared GPUs (this cycle)

    def shares(self, i: int) -> list[int]:
        if i not in self._shares:
            self._shares[i] = list(self.nodes[i].free_gpu_milli)
        return self._shares[i]

    def take_share(self, i: int, code: int, milli: int) -> int:
        """Commit a fractional placement; returns the shared GPU index (-1 = a new share of a free GPU)."""
        if code < 0:
            k = -1 - code
            assert self.shares(i)[k] >= milli, f"over-allocation of a GPU share on {self.nodes[i].name}"
            self.shares(i)[k] -= milli
            return k
        assert self.free[i] >= 1, f"over-allocation on {self.nodes[i].name}"
        self.free[i] -= 1
        self.shares(i).append(1000 - milli)  # visible to later jobs of this cycle, as index len-1
        return -1

    @classmethod
    def of(cls, snap: ClusterSnapshot) -> FreeState:
        return cls(snap.nodes, snap.power_budgets_kw, snap.free_gpus)

    @property
    def index(self) -> dict[str, int]:
        if self._index is None:
            self._index = {n.name: i for i, n in enumerate(self.nodes)}
        return self._index

    @property
    def total_gpus(self) -> int:
        """GPUs of the schedulable nodes (busy or not)."""
        if self._total_gpus < 0:
            self._total_gpus = sum(n.gpus for n in self.nodes if n.schedulable)
        return self._total_gpus

    def node_gpus(self, job: PendingJob) -> int:
        """GPUs of the largest node `job` may use (a job up to this size stays on one node)."""
        if job.gpu_models:
            return max((n.gpus for n in self.nodes if n.gpu_model in job.gpu_models), default=0)
        if self._max_node_gpus < 0:
            self._max_node_gpus = max((n.gpus for n in self.nodes), default=0)
        return self._max_node_gpus

    def take(self, pairs: Pairs) -> None:
        for i, g in pairs:
            assert self.free[i] >= g, f"over-allocation on {self.nodes[i].name}"
            self.free[i] -= g
            if self.power_left_kw:
                self._draw(i, g * self.nodes[i].gpu_power_kw)

    def _draw(self, i: int, kw: float) -> None:
        n = self.nodes[i]
        for key in (n.rack, n.feed):
            if key in self.power_left_kw:
                self.power_left_kw[key] -= kw

    def power_ok(self, i: int, gpus: int) -> bool:
        """Would `gpus` more busy GPUs on node i keep its rack and feed within budget?"""
        n = self.nodes[i]
        kw = gpus * n.gpu_power_kw
        return all(self.power_left_kw.get(k, math.inf) >= kw - 1e-9 for k in (n.rack, n.feed))

    def give(self, placement: Sequence[tuple[str, int]]) -> None:
        """Return a running job's GPUs (it is being preempted this cycle)."""
        for name, g in placement:
            i = self.index.get(name)
            if i is not None:
                self.free[i] += g
                if self.power_left_kw:
                    self._draw(i, -g * self.nodes[i].gpu_power_kw)

    def never_fits(self, job: PendingJob) -> bool:
        """True if `job` could not start even on an empty cluster of these nodes (too big, no such model)."""
        if not job.gpu_models:  # installed GPUs: a node down now may come back
            if self._installed < 0:
                self._installed = sum(n.gpus for n in self.nodes)
            return max(job.gpus, 1) > self._installed
        cap = sum(n.gpus for i, n in enumerate(self.nodes) if self.allowed(job, i))
        return max(job.gpus, 1) > cap

    def allowed(self, job: PendingJob, i: int) -> bool:
        return not job.gpu_models or self.nodes[i].gpu_model in job.gpu_models

    def names(self, pairs: Pairs) -> tuple[tuple[str, int], ...]:
        return tuple((self.nodes[i].name, g) for i, g in pairs)


class Placer(Protocol):
    name: str

    def place(self, job: PendingJob, state: FreeState) -> Pairs | None:
        """Where `job` fits now, or None. Pure: reads `state`, never changes it."""
        ...


def why_not(job: PendingJob, state: FreeState) -> str:
    """A person-readable reason `job` could not be placed on `state` (cheap: C-level scans only)."""
    if job.gpu_models:
        usable = [i for i in range(len(state.free)) if state.allowed(job, i)]
        cap = sum(state.nodes[i].gpus for i in usable if state.nodes[i].schedulable)
        free = sum(state.free[i] for i in usable)
        largest = max((state.free[i] for i in usable), default=0)
    else:
        cap, free, largest = state.total_gpus, sum(state.free), max(state.free, default=0)
    need = job.gpus if job.gpus else 1
    if need > cap:
        model = f" of models {'|'.join(job.gpu_models)}" if job.gpu_models else ""
        return f"needs {job.gpus} GPUs{model}; its partition has only {cap}: it can never start"
    if job.gpus == 0:
        return f"needs {job.gpu_milli}/1000 of a GPU; no GPU has that much room"
    if job.gpus > free:
        return f"needs {job.gpus} GPUs, {free} free"
    return f"needs {job.gpus} GPUs; {free} are free but scattered (largest block {largest} on one node)"


def place_share(job: PendingJob, state: FreeState) -> Pairs | None:
    """A fractional job: the partly used GPU with the least room that fits it (packing shares, as
    the PAI/FGD baselines), else a new share on the fullest node with a free GPU.

    Returns [(node, -1 - shared GPU index)] or [(node, 0)] for a new share (see `Placement`)."""
    need = job.gpu_milli
    best = None
    for i, n in enumerate(state.nodes):
        if (n.free_gpu_milli or i in state._shares) and state.allowed(job, i):
            for k, m in enumerate(state.shares(i)):
                if m >= need and (best is None or m < best[0]):
                    best = (m, i, k)
    if best is not None:
        return [(best[1], -1 - best[2])]
    whole = [(f, i) for i, f in enumerate(state.free) if f >= 1 and state.allowed(job, i)]
    return [(min(whole)[1], 0)] if whole else None


class Consolidate:
    """Best fit on one node when the job fits a node; whole idle nodes otherwise (peer-exact)."""

    name = "consolidate"

    def place(self, job: PendingJob, state: FreeState) -> Pairs | None:
        g = job.gpus
        if g <= 0:
            return place_share(job, state)
        free = state.free
        if job.gpu_models:
            return self._filtered(job, state)
        if isinstance(free, bytearray) and g < 256:
            if free.translate(_AT_LEAST[g]).find(1) >= 0:  # some node has >= g free
                for f in range(g, 256):  # best fit: the fullest node that fits, lowest index on ties
                    i = free.find(f)
                    if i >= 0:
                        return [(i, g)]
        else:
            for f in range(g, max(free, default=0) + 1):
                if f in free:
                    return [(free.index(f), g)]
        if g > state.node_gpus(job):  # larger than any node: whole nodes
            return self._multi(job, state)
        return None

    def _filtered(self, job: PendingJob, state: FreeState) -> Pairs | None:
        g, best_i, best_f = job.gpus, -1, 1 << 30
        for i, f in enumerate(state.free):
            if g <= f < best_f and state.allowed(job, i):
                best_i, best_f = i, f
        if best_i >= 0:
            return [(best_i, g)]
        return self._multi(job, state) if g > state.node_gpus(job) else None

    @staticmethod
    def _multi(job: PendingJob, state: FreeState) -> Pairs | None:
        left = job.gpus
        if sum(state.free) < left:
            return None
        pairs: Pairs = []
        for i, f in enumerate(state.free):
            cap = state.nodes[i].gpus
            if f == cap and cap and left >= cap and state.allowed(job, i):
                pairs.append((i, cap))
                left -= cap
                if left == 0:
                    return pairs
        if left == 0:
            return pairs
        taken = {i for i, _ in pairs}
        rest = [(-f, i) for i, f in enumerate(state.free) if i not in taken and state.allowed(job, i)]
        if not rest or left >= max(state.nodes[i].gpus for _, i in rest):
            return None  # not enough whole idle nodes
        negf, i = min(rest)
        return pairs + [(i, left)] if -negf >= left else None


PLACERS: dict[str, Callable[[], Placer]] = {"consolidate": Consolidate}


def get_placer(name: str) -> Placer:
    from aidc.core.errors import UnknownNameError, did_you_mean

    _load_plugins()
    if name not in PLACERS:
        raise UnknownNameError(f"unknown placement {name!r}{did_you_mean(name, list(PLACERS))}")
    return PLACERS[name]()


def _load_plugins() -> None:
    import aidc.scheduling.placement_fgd  # noqa: F401  (registers fgd)
    import aidc.scheduling.placement_more  # noqa: F401  (registers topology, power)
