"""The planner's part of `aidc demo`: a training plan and a serving plan against an example datacenter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

DEFAULT_DC = Path(__file__).resolve().parents[3] / "examples" / "datacenters" / "small-h100.yaml"

# The same plans as examples/planning/{train,serve}-llama3-8b-small-h100.yaml, inline so the demo
# needs no file but the datacenter.
TRAIN = {"model": "llama-3-8b", "training_tokens": 1.0e12, "global_batch_seqs": 384, "gpu": "H100-SXM",
         "n_gpus": 96, "tenant": "research",
         "cost": {"capex_usd_per_gpu": 35000, "amortization_years": 4, "opex_usd_per_gpu_hour": 0.3}}
SERVE = {"model": "llama-3-8b", "gpu": "H100-SXM", "precision": "bf16",
         "workload": {"input_len": 1024, "output_len": 256, "requests_per_s": 50},
         "slo": {"ttft_ms": 500, "tpot_ms": 30}}


def demo_renderables(datacenter: str | Path = DEFAULT_DC) -> list[Any]:
    """Rich renderables: Llama-3-8B trained on the research tenant's H100s, then served on the same site."""
    from rich.rule import Rule

    from aidc.core.loader import load_datacenter
    from aidc.planning.planner import plan_serving, plan_training
    from aidc.planning.report import serve_renderables, train_renderables
    from aidc.planning.specs import ServeSpec, TrainSpec

    dc = load_datacenter(datacenter)
    train = plan_training(TrainSpec.model_validate(TRAIN), dc)
    serve = plan_serving(ServeSpec.model_validate(SERVE), dc)
    return [Rule(f"Capacity planning on {dc.name}"), *train_renderables(train)[:2], *serve_renderables(serve)]


def print_demo(console: Any, datacenter: str | Path = DEFAULT_DC) -> None:
    """Print the planner demo to a rich Console (aidc.cli.common.console() or any rich Console)."""
    for item in demo_renderables(datacenter):
        console.print(item)
