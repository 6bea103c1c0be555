"""The one scheduler: `schedule(snapshot, policy=..., placement=...)` -> `SchedulingPlan`, pure.

The simulator and the control plane both call this; neither has a copy of its logic. Policies and
placements are plugins looked up by name (`POLICIES`, `PLACERS`); pass an instance to configure one
(for example `Tiresias(thresholds_gpu_s=(3600, 36000))`).
"""

from __future__ import annotations

from aidc.scheduling.core import get_policy, list_policies, schedule, split_partitions
from aidc.scheduling.placement import PLACERS, FreeState, Placer, get_placer
from aidc.scheduling.policies import POLICIES, Policy
from aidc.scheduling.types import (
    ClusterSnapshot,
    NodeState,
    PendingJob,
    Placement,
    Quota,
    RunningJob,
    SchedulingPlan,
)

__all__ = [
    "ClusterSnapshot", "FreeState", "NodeState", "PLACERS", "POLICIES", "PendingJob", "Placement", "Placer",
    "Policy", "Quota", "RunningJob", "SchedulingPlan", "get_placer", "get_policy", "list_policies", "schedule",
    "split_partitions",
]
