"""Status transition tables: the allowed edges, the refused ones, and that every status is covered."""

from __future__ import annotations

import pytest

from aidc.core.status import JOB_TRANSITIONS, NODE_TRANSITIONS, InvalidTransition, JobStatus, NodeStatus, check_transition


def test_every_status_has_a_row() -> None:
    assert set(JOB_TRANSITIONS) == set(JobStatus)
    assert set(NODE_TRANSITIONS) == set(NodeStatus)


@pytest.mark.parametrize("edge", [("pending", "starting"), ("starting", "running"), ("running", "succeeded"),
                                  ("running", "pending"), ("failed", "pending"), ("pending", "cancelled")])
def test_allowed_job_edges(edge: tuple[str, str]) -> None:
    check_transition("job", *edge)


def test_refused_edge_names_what_is_allowed() -> None:
    with pytest.raises(InvalidTransition) as info:
        check_transition("job", "succeeded", "running")
    assert str(info.value) == "job cannot go from succeeded to running (allowed: pending)"


def test_node_must_pass_through_a_check_after_down() -> None:
    with pytest.raises(InvalidTransition):
        check_transition("node", "down", "cordoned")
    check_transition("node", "down", "maintenance")
    check_transition("node", "draining", "maintenance")
