"""PAI-2023 fragmentation study: GPU fragmentation under consolidate, spread and fgd placement; prints JSON.

    python benchmarks/pai_fragmentation.py                 # 4 workloads x 3 placements, 3 seeds, plot
    python benchmarks/pai_fragmentation.py --quick         # default workload, 1 seed, no plot

The FGD paper's experiment (Weng et al., ATC'23) on its own trace: pods drawn at random (seeded) from
a pod list arrive one by one and never leave, until the GPUs they asked for reach `--inflate` x the
cluster's; each is placed by the shared scheduler's placer (`aidc.scheduling`, no policy in the
way; `spread`, worst fit, is a fragmentation-unaware baseline defined here) on the 1,213 GPU nodes
of `openb_node_list_gpu_node.csv.gz` (GPU models and `gpu_spec` honoured; CPU and memory ignored). A pod that fits nowhere is counted as failed and skipped.
Reported per workload and placement (median over seeds):

* `frag_pct_at_X`: fragmentation = free GPU capacity that the workload's pods could not use
  (FGD's measure: expected over the pod-type mix), in % of all GPUs, when X% of the capacity has
  arrived;
* `unallocated_pct`: GPUs left unallocated at the end (`--inflate` x capacity arrived), % of all;
* `first_failure_arrived_pct`: arrived demand (% of capacity) when the first pod could not be placed;
* `failed_pods_pct`: pods that could not be placed; `us_per_pod`: placement time (median of seeds).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import random
import statistics
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAI = REPO.parent / "shared" / "traces" / "alibaba_pai_2023"
WORKLOADS = ["default", "gpushare40", "gpushare100", "multigpu20"]
PLACEMENTS = ["consolidate", "spread", "fgd"]
CHECKPOINTS_PCT = (50, 70, 90, 100)


def read_pods(name: str) -> list[tuple[int, int, tuple[str, ...]]]:
    """(whole GPUs or 0 for a share, thousandths per GPU, allowed models) of every GPU pod of a pod list."""
    pods = []
    with gzip.open(PAI / f"openb_pod_list_{name}.csv.gz", "rt", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            gpus, milli = int(row["num_gpu"] or 0), int(row["gpu_milli"] or 0)
            if gpus == 0:
                continue  # CPU-only pod
            share = gpus == 1 and 0 < milli < 1000
            models = tuple(m for m in (row.get("gpu_spec") or "").split("|") if m)
            pods.append((0 if share else gpus, milli if share else 1000, models))
    return pods


def nodes():  # noqa: ANN201
    from aidc.sim.cluster import load_cluster

    return tuple(load_cluster(PAI / "openb_node_list_gpu_node.csv.gz").nodes)


class Spread:
    """Worst fit (the emptiest node that fits; shares on a fresh GPU there): a baseline that ignores fragmentation."""

    name = "spread"

    def place(self, job, state):  # noqa: ANN001, ANN201
        if job.gpus > state.node_gpus(job):
            from aidc.scheduling.placement import Consolidate

            return Consolidate._multi(job, state)
        need = max(job.gpus, 1)
        fits = [(-f, i) for i, f in enumerate(state.free) if f >= need and state.allowed(job, i)]
        if not fits:
            from aidc.scheduling.placement import place_share

            return place_share(job, state) if job.gpus == 0 else None
        i = min(fits)[1]
        return [(i, 0)] if job.gpus == 0 else [(i, job.gpus)]


def fragmentation_milli(state, placer, workload) -> float:  # noqa: ANN001
    """Expected free capacity (thousandths of a GPU) the workload's pods could not use, over all nodes."""
    total = 0.0
    for i, n in enumerate(state.nodes):
        shares = tuple(state.shares(i)) if (n.free_gpu_milli or i in state._shares) else ()
        total += placer.node_frag_milli(n.gpu_model, n.gpus, state.free[i], shares, workload)
    return total


def inflate(pods: list, placement: str, seed: int, factor: float) -> dict:
    """One arrival sequence until `factor` x capacity has arrived; the figures of the module docstring."""
    from aidc.scheduling import FreeState, PendingJob, get_placer
    from aidc.scheduling.placement_fgd import FGD, workload_of
    from aidc.scheduling.policies import start_job

    ns = nodes()
    cap_milli = sum(n.gpus for n in ns) * 1000
    jobs = [PendingJob(k, g, 0.0, gpu_milli=m, gpu_models=models) for k, (g, m, models) in enumerate(pods)]
    mix = workload_of(jobs)
    meter = FGD(workload=mix)  # only to measure fragmentation the same way for every placement
    placer = FGD(workload=mix) if placement == "fgd" else Spread() if placement == "spread" else get_placer(placement)
    state = FreeState(ns)
    rng = random.Random(seed)
    arrived = used = 0
    failed, first_fail, frag, place_s, n_pods = 0, None, {}, 0.0, 0
    marks = list(CHECKPOINTS_PCT)
    while arrived < factor * cap_milli:
        job = jobs[rng.randrange(len(jobs))]
        demand = job.gpus * 1000 if job.gpus else job.gpu_milli
        arrived += demand
        n_pods += 1
        t0 = time.perf_counter()
        pairs = placer.place(job, state)
        place_s += time.perf_counter() - t0
        if pairs is None:
            failed += 1
            if first_fail is None:
                first_fail = 100 * arrived / cap_milli
        else:
            start_job(job, pairs, state)
            used += demand
        while marks and arrived >= marks[0] / 100 * cap_milli:
            frag[f"frag_pct_at_{marks.pop(0)}"] = round(100 * fragmentation_milli(state, meter, mix) / cap_milli, 2)
    return frag | {"unallocated_pct": round(100 * (1 - used / cap_milli), 2),
                   "first_failure_arrived_pct": None if first_fail is None else round(first_fail, 1),
                   "failed_pods_pct": round(100 * failed / n_pods, 2), "us_per_pod": round(1e6 * place_s / n_pods, 1)}


def median_of(runs: list[dict]) -> dict:
    out = {}
    for k in runs[0]:
        vals = [r[k] for r in runs if r[k] is not None]
        out[k] = round(statistics.median(vals), 2) if vals else None
    return out


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    x = list(range(len(results)))
    width = 0.8 / len(PLACEMENTS)
    for k, p in enumerate(PLACEMENTS):
        axes[0].bar([i + k * width for i in x], [results[w][p]["frag_pct_at_90"] for w in results], width, label=p)
        axes[1].bar([i + k * width for i in x], [results[w][p]["unallocated_pct"] for w in results], width, label=p)
    for ax, title in zip(axes, ("fragmented GPUs at 90% arrived (% of GPUs)", "unallocated GPUs at the end (% of GPUs)")):
        ax.set_xticks([i + width for i in x], list(results))
        ax.set_title(title, fontsize=10)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(PLACEMENTS), fontsize=9, frameon=False)
    fig.suptitle("PAI-2023 (openb, 1,213 nodes, 6,212 GPUs): placement vs fragmentation")
    fig.tight_layout(rect=(0, 0.07, 1, 1))  # room for the legend under the charts, never over the bars
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--inflate", type=float, default=1.3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--plot", default=str(REPO / "docs" / "img" / "pai_fragmentation.png"))
    a = ap.parse_args()
    if not (PAI / "openb_node_list_gpu_node.csv.gz").exists():
        print(json.dumps({"skipped": f"{PAI} not found"}))
        return
    workloads, seeds = (["default"], 1) if a.quick else (WORKLOADS, a.seeds)
    results: dict = {}
    for w in workloads:
        pods = read_pods(w)
        results[w] = {p: median_of([inflate(pods, p, s, a.inflate) for s in range(seeds)]) for p in PLACEMENTS}
        best = min(r["unallocated_pct"] for p, r in results[w].items() if p != "fgd")
        fgd = results[w]["fgd"]["unallocated_pct"]
        results[w]["fgd_unallocated_vs_best_other_pct"] = round(100 * (fgd / best - 1), 1) if best else None
    out = {"inflate": a.inflate, "seeds": seeds, "results": results}
    if not a.quick and a.plot:
        Path(a.plot).parent.mkdir(parents=True, exist_ok=True)
        plot(results, Path(a.plot))
        out["plot"] = a.plot
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
