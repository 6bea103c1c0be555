"""Job and node statuses and the one table of allowed transitions for each.

Every status change in aidc goes through `check_transition` (the server's services call it before
writing, and write an event with actor and reason for each change), so an impossible change such as
`succeeded -> running` is refused in one place.
"""

from __future__ import annotations

from enum import StrEnum

from aidc.core.errors import AidcError


class JobStatus(StrEnum):
    PENDING = "pending"  # accepted, waiting for GPUs (new, requeued or preempted)
    STARTING = "starting"  # placed; the executor is launching it
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class NodeStatus(StrEnum):
    ACTIVE = "active"  # schedulable
    CORDONED = "cordoned"  # runs what it has, takes nothing new
    DRAINING = "draining"  # its jobs are being requeued; takes nothing new
    MAINTENANCE = "maintenance"  # empty and out of service on purpose
    DOWN = "down"  # lost (no heartbeat, failed health check)


TERMINAL_JOB = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})

JOB_TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    # the scheduler placed it; a cancel before launch ends it
    JobStatus.PENDING: frozenset({JobStatus.STARTING, JobStatus.CANCELLED, JobStatus.FAILED}),
    # the executor confirmed the launch, or could not launch (failed), or it was requeued/cancelled meanwhile
    JobStatus.STARTING: frozenset({JobStatus.RUNNING, JobStatus.PENDING, JobStatus.FAILED, JobStatus.CANCELLED,
                                   JobStatus.SUCCEEDED}),
    # ends, or goes back to the queue: preempted, node drained or lost, server restarted without it
    JobStatus.RUNNING: frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.PENDING}),
    # terminal statuses only leave through an explicit requeue by a person
    JobStatus.SUCCEEDED: frozenset({JobStatus.PENDING}),
    JobStatus.FAILED: frozenset({JobStatus.PENDING}),
    JobStatus.CANCELLED: frozenset({JobStatus.PENDING}),
}

NODE_TRANSITIONS: dict[NodeStatus, frozenset[NodeStatus]] = {
    NodeStatus.ACTIVE: frozenset({NodeStatus.CORDONED, NodeStatus.DRAINING, NodeStatus.MAINTENANCE, NodeStatus.DOWN}),
    NodeStatus.CORDONED: frozenset({NodeStatus.ACTIVE, NodeStatus.DRAINING, NodeStatus.MAINTENANCE, NodeStatus.DOWN}),
    # a drain ends in maintenance (empty) or back to active (uncordon)
    NodeStatus.DRAINING: frozenset({NodeStatus.MAINTENANCE, NodeStatus.ACTIVE, NodeStatus.DOWN}),
    NodeStatus.MAINTENANCE: frozenset({NodeStatus.ACTIVE, NodeStatus.DOWN}),
    # a lost node returns only after it passes a check (to maintenance first, or straight to active)
    NodeStatus.DOWN: frozenset({NodeStatus.MAINTENANCE, NodeStatus.ACTIVE}),
}


class InvalidTransition(AidcError):
    """A status change the transition table does not allow."""


def check_transition(entity: str, current: str, new: str) -> None:
    """Raise InvalidTransition unless `current -> new` is allowed for `entity` ('job' or 'node')."""
    table: dict = JOB_TRANSITIONS if entity == "job" else NODE_TRANSITIONS
    enum = JobStatus if entity == "job" else NodeStatus
    cur, nxt = enum(current), enum(new)
    if nxt not in table[cur]:
        allowed = ", ".join(sorted(s.value for s in table[cur])) or "none"
        raise InvalidTransition(f"{entity} cannot go from {cur.value} to {nxt.value} (allowed: {allowed})")
