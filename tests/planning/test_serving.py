"""GPUs for a serving target: the plan meets the SLO and carries the load; impossible targets are explained."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from aidc.core.errors import AidcError
from aidc.planning.planner import plan_serving
from aidc.planning.specs import ServeSpec, load_serve_spec


def test_plan_meets_targets_and_load(fixtures: Path) -> None:
    spec = load_serve_spec(fixtures / "serve-8b.yaml")
    plan = plan_serving(spec)
    assert plan.best.ttft_ms <= 500 and plan.best.tpot_ms <= 40
    assert plan.replicas == math.ceil(40 / plan.best.requests_per_s - 1e-9)
    assert plan.gpus_needed == plan.replicas * plan.best.tp
    assert plan.best.batch <= plan.best.max_concurrency


def test_more_load_needs_more_gpus(fixtures: Path) -> None:
    spec = load_serve_spec(fixtures / "serve-8b.yaml")
    heavier = spec.model_copy(update={"workload": spec.workload.model_copy(update={"requests_per_s": 400})})
    assert plan_serving(heavier).gpus_needed > plan_serving(spec).gpus_needed


def test_weights_that_do_not_fit_are_explained(fixtures: Path) -> None:
    with pytest.raises(AidcError, match="weights need .* GiB per GPU"):
        plan_serving(load_serve_spec(fixtures / "serve-impossible.yaml"))


def test_unreachable_latency_is_explained() -> None:
    spec = ServeSpec(model="llama-3-70b", gpu="A100-80GB", workload={"input_len": 8192, "output_len": 64},
                     slo={"ttft_ms": 1, "tpot_ms": 1})
    with pytest.raises(AidcError, match="best reachable"):
        plan_serving(spec)
