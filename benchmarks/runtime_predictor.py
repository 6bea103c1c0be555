"""Run-time predictor (issue 15 part 3): its error on control-plane histories, and what it buys the scheduler; prints JSON.

    python benchmarks/runtime_predictor.py            # 3 synthetic histories (seeds 0-2), medians
    python benchmarks/runtime_predictor.py --seeds 1  # one, quicker

Histories come from `aidc.sim.synthetic.synthetic_history`: run times that depend on who runs what
(user, job name, command), users' requested run times as people give them (rounded up, 1-10x; a
quarter give none), tenants that mix many users. Two parts:

* `accuracy`: the predictor fitted on each history and scored on its later 25% (out of sample):
  median absolute error and share within 2x, beside the (tenant, GPUs) history median (what a
  trace-only estimator knows) and the users' own estimates.
* `replay`: the same kind of history replayed by the twin on one shared pool sized for an offered
  load of `LOAD`; the predictor is trained online on the jobs finished so far (estimator
  `predictor`). EASY backfill on the users' estimates (the time limit where a user gave none, as
  Slurm does) against EASY on predictions: jobs started early (ahead of a job submitted before
  them), average wait and JCT. Then gittins and SRTF on predictions against gittins on the (tenant,
  GPUs) history, each as its share of the Tiresias-to-oracle-SRTF gap (aidc.sim.gap).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics

import numpy as np

LOADS = (0.8, 0.95, 1.05)  # offered GPU load of the replayed pool: light, busy, over (a queue that grows)
JOBS = 4000
RUNS = {  # name -> (policy, estimator, trace with the users' estimates?, policy options)
    "tiresias": ("tiresias", "oracle", False, {}),
    "srtf_oracle": ("srtf", "oracle", False, {}),
    "easy_user_estimates": ("easy", "oracle", True, {}),
    "easy_predicted": ("easy", "predictor", True, {}),
    "easy_exact": ("easy", "oracle", False, {}),
    "easy_sjbf_user_estimates": ("easy", "oracle", True, {"backfill_order": "shortest"}),
    "easy_sjbf_predicted": ("easy", "predictor", True, {"backfill_order": "shortest"}),
    "gittins_history": ("gittins", "history", True, {}),
    "gittins_predicted": ("gittins", "predictor", True, {}),
    "srtf_predicted": ("srtf", "predictor", True, {}),
}


def accuracy(seed: int) -> dict:
    from aidc.scheduling.predictor import RuntimePredictor
    from aidc.sim.synthetic import synthetic_history

    return RuntimePredictor().fit(synthetic_history(6000, seed=seed)).as_dict()


def _trace(history: list, with_estimates: bool):  # noqa: ANN202
    from aidc.sim.jobs import SimJob, Trace

    jobs = [SimJob(i, r.submit_s, r.runtime_s, r.gpus, r.tenant, user=r.user or "", name=r.name or "",
                   estimate_s=(r.requested_s or r.max_runtime_s) if with_estimates else None)
            for i, r in enumerate(history)]
    return Trace(jobs, "synthetic history", "t=0 at the first submit", sorted({r.tenant for r in history}))


def started_early(res) -> int:  # noqa: ANN001 (a SimResult)
    """Jobs that started before some job submitted ahead of them (what backfilling does)."""
    o = res.jobs
    order = np.argsort(o.submit_s, kind="stable")
    start = np.where(np.isnan(o.start_s[order]), np.inf, o.start_s[order])
    ahead = np.maximum.accumulate(np.concatenate([[-np.inf], start[:-1]]))
    return int((start < ahead).sum())


def replay(seed: int, load: float) -> dict:
    from aidc.sim.cluster import vc_table
    from aidc.sim.engine import SimConfig, simulate
    from aidc.sim.gap import oracle_gap_share
    from aidc.sim.metrics import summary
    from aidc.sim.synthetic import synthetic_history

    history = synthetic_history(JOBS, seed=seed + 100)
    span_s = history[-1].submit_s - history[0].submit_s
    gpu_s = sum(r.gpus * r.runtime_s for r in history)
    cluster = vc_table([("pool", max(1, math.ceil(gpu_s / span_s / load / 8)))], isolate=False)
    traces = {True: _trace(history, True), False: _trace(history, False)}
    out = {}
    for name, (policy, est, with_estimates, params) in RUNS.items():
        cfg = SimConfig(policy=policy, estimator=est, restart_overhead="lucid", policy_params=params)
        res = simulate(traces[with_estimates], cluster, cfg)
        s = summary(res)
        out[name] = {"avg_jct_s": round(s["avg_jct_s"]), "p99_jct_s": round(s["p99_jct_s"]),
                     "avg_queue_s": round(s["avg_queue_s"]), "started_early": started_early(res)}
    base, oracle = out["tiresias"]["avg_jct_s"], out["srtf_oracle"]["avg_jct_s"]
    for name in ("gittins_history", "gittins_predicted", "srtf_predicted"):
        share = oracle_gap_share(out[name]["avg_jct_s"], base, oracle)
        out[name]["oracle_gap_share"] = None if share is None else round(share, 3)
    out["_cluster_gpus"] = cluster.gpus
    return out


def _median(rows: list[dict]) -> dict:
    """Key-wise median of a list of flat or one-level nested dicts of numbers."""
    out = {}
    for key in rows[0]:
        vals = [r[key] for r in rows]
        if isinstance(vals[0], dict):
            out[key] = _median(vals)
        elif all(isinstance(v, (int, float)) for v in vals if v is not None) and any(v is not None for v in vals):
            out[key] = round(statistics.median(v for v in vals if v is not None), 3)
        else:
            out[key] = vals[0]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    seeds = range(ap.parse_args().seeds)
    acc = [accuracy(s) for s in seeds]
    report: dict = {"accuracy": _median(acc), "accuracy_per_seed": acc, "ratios": {
        "mae_vs_history": round(med_ratio(acc, "median_abs_error_s", "baseline_median_abs_error_s"), 3),
        "mae_vs_user_estimates": round(med_ratio(acc, "median_abs_error_s", "user_estimate_median_abs_error_s"), 3)}}
    for load in LOADS:
        rep = [replay(s, load) for s in seeds]
        med = _median(rep)
        report[f"replay_load{load}"] = med
        report["ratios"][f"load{load}"] = {
            f"{order}_started_early_predicted_vs_user": round(
                med[f"easy{tag}_predicted"]["started_early"] / max(med[f"easy{tag}_user_estimates"]["started_early"], 1), 3)
            for order, tag in (("easy", ""), ("sjbf", "_sjbf"))} | {
            f"{order}_avg_wait_predicted_vs_user": round(
                med[f"easy{tag}_predicted"]["avg_queue_s"] / max(med[f"easy{tag}_user_estimates"]["avg_queue_s"], 1), 3)
            for order, tag in (("easy", ""), ("sjbf", "_sjbf"))} | {
            "gittins_share_predicted": med["gittins_predicted"]["oracle_gap_share"],
            "gittins_share_history": med["gittins_history"]["oracle_gap_share"]}
    print(json.dumps(report, indent=2))


def med_ratio(rows: list[dict], num: str, den: str) -> float:
    return statistics.median(r[num] / r[den] for r in rows if r[num] is not None and r[den])


if __name__ == "__main__":
    main()
