"""`schedule()`: resolve the policy and placement, split isolated partitions, merge their plans."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from aidc.core.errors import UnknownNameError, did_you_mean
from aidc.scheduling.placement import Placer, get_placer
from aidc.scheduling.policies import POLICIES, Policy
from aidc.scheduling.types import ClusterSnapshot, SchedulingPlan


def list_policies() -> list[str]:
    _load_plugins()
    return sorted(POLICIES)


def get_policy(name: str, **params: object) -> Policy:
    """A policy by registry name; `params` go to its constructor (e.g. thresholds_gpu_s=(...))."""
    _load_plugins()
    if name not in POLICIES:
        raise UnknownNameError(f"unknown policy {name!r}{did_you_mean(name, list(POLICIES))}")
    return POLICIES[name](**params)


def _load_plugins() -> None:
    import aidc.scheduling.gittins  # noqa: F401  (registers gittins)
    import aidc.scheduling.policies_more  # noqa: F401  (registers fairshare, easy, psrtf)


def schedule(snapshot: ClusterSnapshot, *, policy: str | Policy = "fifo", placement: str | Placer = "consolidate") -> SchedulingPlan:
    """Decide what starts and what is preempted now. Pure and deterministic; idempotent for a snapshot.

    With `snapshot.isolated_partitions`, each partition (nodes whose `partition` equals the jobs'
    tenant) is scheduled on its own and the plans are concatenated; jobs whose tenant owns no node
    are reported unschedulable.
    """
    pol = get_policy(policy) if isinstance(policy, str) else policy
    placer = get_placer(placement) if isinstance(placement, str) else placement
    if not snapshot.isolated_partitions:
        return pol.plan(snapshot, placer)
    parts = split_partitions(snapshot)
    plans = [_explicit(part, pol.plan(part, placer)) for part in parts]
    return _merge(plans, _orphans(snapshot))


def split_partitions(snapshot: ClusterSnapshot) -> list[ClusterSnapshot]:
    """One snapshot per partition (non-isolated), with that partition's nodes and jobs."""
    nodes, pending, running = defaultdict(list), defaultdict(list), defaultdict(list)
    for n in snapshot.nodes:
        nodes[n.partition].append(n)
    for p in snapshot.pending:
        pending[p.tenant].append(p)
    for r in snapshot.running:
        running[r.tenant].append(r)
    return [
        replace(snapshot, nodes=tuple(ns), pending=tuple(pending[k]), running=tuple(running[k]), isolated_partitions=False)
        for k, ns in nodes.items()
    ]


def _orphans(snapshot: ClusterSnapshot) -> list[tuple[object, str]]:
    owners = {n.partition for n in snapshot.nodes}
    return [(p.job_id, f"tenant {p.tenant!r} owns no nodes") for p in snapshot.pending if p.tenant not in owners]


def _explicit(part: ClusterSnapshot, plan: SchedulingPlan) -> SchedulingPlan:
    """Spell the partition's default reason out per job, since merged plans cannot share one."""
    if not plan.default_reason:
        return plan
    return replace(plan, unschedulable=tuple(plan.reasons(part).items()), default_reason="")


def _merge(plans: list[SchedulingPlan], extra: list[tuple[object, str]]) -> SchedulingPlan:
    rechecks = [p.recheck_at_s for p in plans if p.recheck_at_s is not None]
    why = [w for p in plans for w in p.unschedulable] + extra
    return SchedulingPlan(
        to_start=tuple(s for p in plans for s in p.to_start),
        to_preempt=tuple(j for p in plans for j in p.to_preempt),
        unschedulable=tuple(why),
        recheck_at_s=min(rechecks) if rechecks else None,
        impossible=tuple(j for p in plans for j in p.impossible) + tuple(j for j, _ in extra),
    )
