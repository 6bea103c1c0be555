"""Planning against a real inventory: whether and where a job fits."""

from __future__ import annotations

from pathlib import Path

import pytest

from aidc.core.loader import load_datacenter
from aidc.planning.placement import place
from aidc.planning.planner import plan_training
from aidc.planning.specs import TrainSpec

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def small():  # type: ignore[no-untyped-def]
    return load_datacenter(REPO / "examples" / "datacenters" / "small-h100.yaml")


def test_fits_on_whole_nodes_of_the_tenant(small) -> None:  # type: ignore[no-untyped-def]
    p = place(small, "H100-SXM", 96, tenant="research")
    assert p.fits and len(p.nodes) == 12 and p.gpus_available == 128
    assert p.racks == ["h100-01", "h100-02", "h100-03"]


def test_too_big_is_a_clear_no(small) -> None:  # type: ignore[no-untyped-def]
    p = place(small, "H100-SXM", 1024)
    assert not p.fits and "needs 1024" in p.message and "has 128" in p.message


def test_wrong_gpu_names_what_is_there(small) -> None:  # type: ignore[no-untyped-def]
    p = place(small, "B200", 8)
    assert not p.fits and "H100-SXM: 128" in p.message


def test_training_plan_uses_the_datacenter(small) -> None:  # type: ignore[no-untyped-def]
    spec = TrainSpec(model="llama-3-8b", global_batch_seqs=128, training_tokens=1e11, tenant="research")
    plan = plan_training(spec, small)  # n_gpus defaults to the tenant's H100s
    assert plan.estimate.n_gpus == 128 and plan.placement is not None and plan.placement.fits
    assert plan.estimate.costing.pue == 1.25


def test_cost_from_capex_opex_and_power(small) -> None:  # type: ignore[no-untyped-def]
    spec = TrainSpec(model="llama-3-8b", global_batch_seqs=96, training_tokens=1e11, n_gpus=96,
                     cost={"capex_usd_per_gpu": 35064, "amortization_years": 4, "opex_usd_per_gpu_hour": 0.5})
    e = plan_training(spec, small).estimate
    hours, mwh = e.gpu_hours, e.energy_mwh
    assert mwh == pytest.approx(hours * 0.7 / 1000 * 1.25)  # TDP x the site's PUE
    expected = hours * (35064 / (4 * 8766) + 0.5) + mwh * 1000 * 0.12  # the site's electricity price
    assert e.cost_usd == pytest.approx(expected)
