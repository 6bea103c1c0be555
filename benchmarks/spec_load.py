"""Benchmark: parse, validate and expand datacenter specs (the examples and a generated 100k-GPU site); prints JSON."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

from aidc.core.loader import datacenter_from_text, load_datacenter
from aidc.core.summary import summarize

REPO = Path(__file__).resolve().parents[1]
RUNS = 5


def huge_spec(halls: int = 16, racks_per_hall: int = 100) -> str:
    """A 102,400-GPU site: halls x racks x 8 nodes x 8 GPUs, written with counts like a person would."""
    rooms = "\n".join(
        f"    - {{name: hall-{h}, racks: [{{name: h{h}, count: {racks_per_hall}, template: rk, feeds: [f{h}]}}]}}"
        for h in range(halls))
    feeds = "\n".join(f"  - {{name: f{h}, capacity_kw: 12000, redundancy: 2N}}" for h in range(halls))
    return f"""name: huge
site:
  name: s
  rooms:
{rooms}
node_templates:
  n: {{gpu: B200, gpus: 8, height_u: 5, max_power_kw: 14.3}}
rack_templates:
  rk: {{height_u: 48, power_budget_kw: 120, cooling: {{type: liquid}}, nodes: [{{template: n, count: 8}}]}}
power_feeds:
{feeds}
"""


def median_s(fn) -> float:
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    results: dict[str, dict[str, float]] = {}
    for path in sorted((REPO / "examples" / "datacenters").glob("*.yaml")):
        dc = load_datacenter(path)
        results[path.stem] = {"gpus": dc.total_gpus, "load_and_summarize_s": median_s(lambda p=path: summarize(load_datacenter(p)))}
    text = huge_spec()
    dc = datacenter_from_text(text)
    results["generated-100k"] = {"gpus": dc.total_gpus, "load_and_summarize_s": median_s(lambda: summarize(datacenter_from_text(text)))}
    print(json.dumps({"benchmark": "spec_load", "runs": RUNS, "results": results}, indent=2))


if __name__ == "__main__":
    main()
