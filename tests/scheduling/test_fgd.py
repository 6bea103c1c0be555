"""Fragmentation-aware placement (fgd) and GPU shares in every placer."""

from __future__ import annotations

import pytest

from aidc.scheduling import NodeState, PendingJob, get_placer
from aidc.scheduling.placement import Consolidate, FreeState
from aidc.scheduling.placement_fgd import FGD, type_frag_milli, workload_of


def nodes(*free: int, milli: tuple[tuple[int, ...], ...] = ()) -> tuple[NodeState, ...]:
    return tuple(NodeState(f"n{i}", 8, f, free_gpu_milli=milli[i] if milli else ()) for i, f in enumerate(free))


def test_type_fragmentation_by_hand() -> None:
    # node: 3 whole GPUs free, two shared GPUs with 300 and 600 thousandths free
    assert type_frag_milli(None, 8, 3, (300, 600), (0, 500, (), 1.0)) == 300  # a half-GPU share can use the 600
    assert type_frag_milli(None, 8, 3, (300, 600), (2, 1000, (), 1.0)) == 900  # whole GPUs: the shared ones are lost
    assert type_frag_milli(None, 8, 3, (300, 600), (4, 1000, (), 1.0)) == 3900  # does not fit: all of it
    assert type_frag_milli("T4", 8, 3, (), (1, 1000, ("V100",), 1.0)) == 3000  # wrong model: all of it


def test_keeps_a_hole_the_workload_needs() -> None:
    # consolidate (best fit) puts 1 GPU on n0 (4 free), breaking the only 4-GPU hole; fgd keeps it
    state = FreeState(nodes(4, 5))
    job = PendingJob(1, 1, 0.0)
    assert Consolidate().place(job, state) == [(0, 1)]
    assert FGD(workload=((4, 1000, (), 1.0),)).place(job, state) == [(1, 1)]


def test_shares_pile_onto_shared_gpus() -> None:
    state = FreeState(nodes(8, 2, milli=((), (500,))))
    share = PendingJob(1, 0, 0.0, gpu_milli=400)
    assert FGD(workload=((1, 1000, (), 0.5), (0, 400, (), 0.5))).place(share, state) == [(1, -1)]  # join n1's GPU 0


def test_workload_of_weights_sum_to_one() -> None:
    mix = workload_of([PendingJob(1, 1, 0.0), PendingJob(2, 1, 0.0), PendingJob(3, 0, 0.0, gpu_milli=250)])
    assert mix[0] == (1, 1000, (), pytest.approx(2 / 3)) and sum(t[3] for t in mix) == pytest.approx(1.0)


@pytest.mark.parametrize("name", ["consolidate", "topology", "power", "fgd"])
def test_every_placer_places_a_share(name: str) -> None:
    state = FreeState(nodes(0, 1))
    assert get_placer(name).place(PendingJob(1, 0, 0.0, gpu_milli=250), state) == [(1, 0)]
