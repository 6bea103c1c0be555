"""More placements: topology-aware gangs (node -> NVLink domain -> leaf -> spine) and power-aware packing.

`topology`: a job that fits one node is placed best-fit, as `consolidate`. A multi-node job is placed
as a gang at the lowest tier that can hold it: inside one NVLink domain if one has enough free GPUs,
else behind one leaf switch, else across the spine over the fewest leaf groups. Within the chosen
group it is best fit (the group with the least spare room that still fits) and whole nodes first,
so big holes stay open for the next big job.

`power`: as `consolidate`, but a node is used only if its rack and its power feed keep enough
headroom for the GPUs' draw (`ClusterSnapshot.power_budgets_kw`: kW still available now).
"""

from __future__ import annotations

from collections import defaultdict

from aidc.scheduling.placement import PLACERS, Consolidate, FreeState, Pairs, place_share
from aidc.scheduling.types import PendingJob


def _fill(idx: list[int], need: int, state: FreeState) -> Pairs | None:
    """Take GPUs from the nodes `idx`, emptiest (most free) first, until `need` are covered."""
    pairs: Pairs = []
    for i in sorted(idx, key=lambda i: (-state.free[i], i)):
        if need <= 0:
            break
        take = min(state.free[i], need)
        if take > 0:
            pairs.append((i, take))
            need -= take
    return pairs if need <= 0 else None


class Topology:
    """Gangs at the tightest tier: NVLink domain, then leaf switch, then spine."""

    name = "topology"

    def place(self, job: PendingJob, state: FreeState) -> Pairs | None:
        g = job.gpus
        if g <= 0:
            return place_share(job, state)
        if g <= state.node_gpus(job):
            return Consolidate().place(job, state)
        usable = [i for i, f in enumerate(state.free) if f > 0 and state.allowed(job, i)]
        if sum(state.free[i] for i in usable) < g:
            return None
        for tier in (lambda n: n.nvlink_domain, lambda n: n.leaf_group):
            groups: dict = defaultdict(list)
            for i in usable:
                groups[tier(state.nodes[i])].append(i)
            fits = [(sum(state.free[i] for i in idx), k) for k, idx in groups.items()]
            fits = [(free, str(k), k) for free, k in fits if free >= g]
            if fits:
                _, _, best = min(fits)  # least spare room that still fits
                return _fill(groups[best], g, state)
        by_leaf: dict = defaultdict(list)  # spine: fewest leaf groups, fullest groups first
        for i in usable:
            by_leaf[state.nodes[i].leaf_group].append(i)
        order = sorted(by_leaf.values(), key=lambda idx: -sum(state.free[i] for i in idx))
        return _fill([i for idx in order for i in idx], g, state)


class PowerAware:
    """Consolidated placement restricted to nodes whose rack and feed can power the GPUs."""

    name = "power"

    def place(self, job: PendingJob, state: FreeState) -> Pairs | None:
        g = job.gpus
        if g <= 0:
            return place_share(job, state)
        if not state.power_left_kw:
            return Consolidate().place(job, state)
        ok = [i for i, f in enumerate(state.free) if f > 0 and state.allowed(job, i)]
        if g <= state.node_gpus(job):
            best = [(state.free[i], i) for i in ok if state.free[i] >= g and state.power_ok(i, g)]
            return [(min(best)[1], g)] if best else None
        pairs: Pairs = []
        left = g
        for i in ok:  # whole idle nodes first, then the remainder where it fits
            cap = state.nodes[i].gpus
            if state.free[i] == cap and left >= cap and state.power_ok(i, cap):
                pairs.append((i, cap))
                left -= cap
        if left:
            rest = [(-state.free[i], i) for i in ok if i not in {p for p, _ in pairs}
                    and state.free[i] >= left and state.power_ok(i, left)]
            if not rest:
                return None
            pairs.append((min(rest)[1], left))
        return pairs


PLACERS["topology"] = Topology
PLACERS["power"] = PowerAware
