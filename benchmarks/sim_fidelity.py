"""Digital-twin fidelity: our figures next to the peer simulators' on Philly; prints JSON.

    python benchmarks/sim_fidelity.py                    # peers' figures, then the no-oracle policies at x4
    python benchmarks/sim_fidelity.py --only no_oracle   # gittins / psrtf / oracle SRTF vs Tiresias, x4
    python benchmarks/sim_fidelity.py --only information # SRTF on estimates of a given quality, x4, week by week
    python benchmarks/sim_fidelity.py --only rolling     # options chosen on past weeks only, scored on the next (x4)

Peer figures are copied from ../shared/traces/README.md (Helios artifact on the whole 2017-10/11
file at default sizes and at x4 load; Lucid simulator on the first week at x4 load). Each of our
runs uses the reference semantics: the VC table as the cluster (isolated VCs), consolidated
placement, the peer's restart overheads, true durations for SJF/SRTF. `error_pct` is
100 * (ours - peer) / peer; targets: within 2% (whole file, default) and 5% (first week, x4).
"""

from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PHILLY = REPO.parent / "shared" / "traces" / "philly"
METRICS = ("avg_jct_s", "p50_jct_s", "p99_jct_s", "avg_queue_s")

PEERS = {  # (window, scale, overheads, target %) -> {policy: (avg JCT, p50, p99, avg queue)}
    ("whole", 1.0, "helios", 2.0): {
        "fifo": (11_585, 1_430, 221_002, 104.6),
        "sjf": (11_543, 1_424, 221_002, 62.7),
        "srtf": (11_533, 1_416, 221_875, 51.1),
    },
    ("week1", 0.25, "lucid", 5.0): {
        "fifo": (28_018, 5_082, 607_202, 20_189),
        "sjf": (19_262, 2_308, 480_983, 11_433),
        "srtf": (15_206, 1_837, 259_967, 7_366),
        "tiresias": (21_421, 4_002, 496_300, 13_588),
    },
    ("whole", 0.25, "helios", None): {  # reported for information; no target in the issue
        "fifo": (193_055, 7_031, 2_210_594, 181_574),
        "sjf": (28_781, 2_459, 483_686, 17_301),
    },
}


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=("peers", "no_oracle", "information", "rolling"), help="run one part (default: peers, no_oracle)")
    only = ap.parse_args().only
    from aidc.sim.cluster import load_cluster
    from aidc.sim.engine import SimConfig, simulate
    from aidc.sim.metrics import summary
    from aidc.sim.readers import read_trace
    from aidc.sim.runner import parse_when

    if not (PHILLY / "philly_2017-10_11.csv.gz").exists():
        print(json.dumps({"skipped": "../shared/traces/philly not found"}))
        return
    trace = read_trace(PHILLY / "philly_2017-10_11.csv.gz", "philly")
    windows = {"whole": trace, "week1": trace.window(None, parse_when("2017-10-08", trace))}
    out, worst = {}, {}
    if only == "information":
        print(json.dumps(information(trace, load_cluster(PHILLY / "philly_vc_nodes.csv", scale_nodes=0.25)), indent=2))
        return
    if only == "rolling":
        print(json.dumps(rolling(trace, load_cluster(PHILLY / "philly_vc_nodes.csv", scale_nodes=0.25)), indent=2))
        return
    for (window, scale, overheads, target), peers in (PEERS.items() if only in (None, "peers") else ()):
        cluster = load_cluster(PHILLY / "philly_vc_nodes.csv", scale_nodes=scale)
        key = f"{window}_x{round(1 / scale)}_{overheads}"
        out[key] = {}
        for policy, peer in peers.items():
            ours = summary(simulate(windows[window], cluster, SimConfig(policy=policy, restart_overhead=overheads)))
            errs = {m: round(100 * (ours[m] - p) / p, 2) for m, p in zip(METRICS, peer)}
            out[key][policy] = {"ours": {m: ours[m] for m in METRICS} | {"preemptions_per_job": ours["preemptions_per_job"],
                                                                          "wall_s": ours["wall_s"]},
                                "peer": dict(zip(METRICS, peer)), "error_pct": errs}
            if target is not None:
                worst[key] = max(worst.get(key, 0.0), max(abs(e) for e in errs.values()))
        if target is not None:
            out[key]["_target_pct"] = target
            out[key]["_worst_error_pct"] = worst[key]
            out[key]["_met"] = worst[key] <= target
    if only in (None, "no_oracle"):
        out["no_oracle_x4"] = no_oracle(trace, load_cluster(PHILLY / "philly_vc_nodes.csv", scale_nodes=0.25))
    print(json.dumps(out, indent=2))


NO_ORACLE_RUNS = (("tiresias", "tiresias", "oracle"), ("psrtf", "psrtf", "history"), ("gittins", "gittins", "history"),
                  ("srtf_oracle", "srtf", "oracle"))


def no_oracle(trace, cluster) -> dict:  # noqa: ANN001
    """psrtf and gittins (run times learned from finished jobs, no oracle) against Tiresias at x4 load,
    Lucid restart overheads: the whole file, then week by week.

    Target (issue): average JCT at least 20% better than Tiresias with p99 no worse. gittins' defaults
    were chosen on weeks 1-4 only; weeks 5-9 are held out. Oracle SRTF is shown as what a clairvoyant
    policy reaches, and `lower_bound` (aidc.sim.bounds) as what no policy can beat: where its
    `max_gain_pct` is under 20, the target cannot be met on that window by any policy at all.
    """
    from aidc.sim.runner import parse_when

    out = {"whole": _versus_tiresias(trace, cluster)}
    nov = parse_when("2017-11-01", trace)  # the two calendar months (November is wholly held out)
    out["october"] = _versus_tiresias(trace.window(None, nov), cluster)
    out["november"] = _versus_tiresias(trace.window(nov, None), cluster)
    for name, window in _weeks(trace):
        out[name] = _versus_tiresias(window, cluster)
    return out


def _weeks(trace):  # noqa: ANN001, ANN202
    """("week1", window), ... for the weeks of the Philly file that have jobs."""
    week_s = 7 * 86400
    for w in range(9):
        window = trace.window(w * week_s, (w + 1) * week_s)
        if window.jobs:
            yield f"week{w + 1}", window


def _change_pct(value: float, base: float) -> float:
    return round(100 * (value / base - 1), 1)


def _versus_tiresias(trace, cluster) -> dict:  # noqa: ANN001
    from aidc.sim.bounds import jct_lower_bound
    from aidc.sim.engine import SimConfig, simulate
    from aidc.sim.gap import oracle_gap_share
    from aidc.sim.metrics import summary

    runs = {name: summary(simulate(trace, cluster, SimConfig(policy=pol, restart_overhead="lucid", estimator=est)))
            for name, pol, est in NO_ORACLE_RUNS}
    t = runs["tiresias"]
    row = {n: {"avg_jct_s": r["avg_jct_s"], "p99_jct_s": r["p99_jct_s"], "preemptions_per_job": r["preemptions_per_job"],
               "wall_s": r["wall_s"]} for n, r in runs.items()}
    for n in ("psrtf", "gittins", "srtf_oracle"):
        row[n]["avg_jct_vs_tiresias_pct"] = _change_pct(runs[n]["avg_jct_s"], t["avg_jct_s"])
        row[n]["p99_jct_vs_tiresias_pct"] = _change_pct(runs[n]["p99_jct_s"], t["p99_jct_s"])
    bound = jct_lower_bound(trace, cluster)
    row["lower_bound"] = {"avg_jct_s": round(bound.avg_jct_s), "max_gain_pct": bound.max_gain_pct(t["avg_jct_s"])}
    o = runs["srtf_oracle"]["avg_jct_s"]
    for n in ("psrtf", "gittins", "srtf_oracle"):  # share of the Tiresias-to-oracle gap (aidc.sim.gap)
        share = oracle_gap_share(runs[n]["avg_jct_s"], t["avg_jct_s"], o)
        row[n]["oracle_gap_share"] = None if share is None else round(share, 3)
    bound_share = oracle_gap_share(bound.avg_jct_s, t["avg_jct_s"], o)
    row["lower_bound"]["oracle_gap_share"] = None if bound_share is None else round(bound_share, 3)
    row["_feasible"] = row["lower_bound"]["max_gain_pct"] >= 20
    row["_met"] = row["gittins"]["avg_jct_vs_tiresias_pct"] <= -20 and row["gittins"]["p99_jct_vs_tiresias_pct"] <= 0
    return row


CANDIDATES = {  # name -> (policy, options): what rolling-origin tuning may choose among (no oracle in any)
    "gittins": ("gittins", {}),
    "gittins_th300": ("gittins", {"thresholds_gpu_s": (300.0, 18_000.0)}),
    "gittins_hyst0": ("gittins", {"hysteresis_s": 0.0}),
    "gittins_hyst1800": ("gittins", {"hysteresis_s": 1800.0}),
    "gittins_reindex": ("gittins", {"reindex_running": True}),
    "psrtf": ("psrtf", {}),
}


def rolling(trace, cluster) -> dict:  # noqa: ANN001
    """Rolling origin at x4 (Lucid overheads): each week is scored with the candidate whose past weeks
    went best (mean share of the oracle gap, less 0.5 per window with p99 worse than Tiresias), never
    with what the scored week itself would have taught; week 1 gets the defaults. Then the same for the
    two months: October with the defaults, November with what October taught. Every candidate's share
    on every window is printed too, so any other choice rule can be checked from this output."""
    from aidc.sim.gap import Scored, rolling_origin
    from aidc.sim.runner import parse_when

    nov = parse_when("2017-11-01", trace)
    windows = dict(_weeks(trace)) | {"october": trace.window(None, nov), "november": trace.window(nov, None)}
    runs = {"tiresias": ("tiresias", "oracle", {}), "srtf": ("srtf", "oracle", {})}
    runs |= {n: (p, "history", o) for n, (p, o) in CANDIDATES.items()}
    done = _replay_all(windows, cluster, runs)  # every (window, run) once, on every core

    def score(window: str, candidate: str) -> Scored:
        base, oracle, got = done[window, "tiresias"], done[window, "srtf"], done[window, candidate]
        return Scored(got["avg_jct_s"], got["p99_jct_s"], base["avg_jct_s"], base["p99_jct_s"], oracle["avg_jct_s"])

    weeks = [w for w in windows if w.startswith("week")]
    return {"candidates": {n: {"policy": p, "options": o} for n, (p, o) in CANDIDATES.items()},
            "weeks": rolling_origin(weeks, list(CANDIDATES), score, default="gittins").as_dict(),
            "months": rolling_origin(["october", "november"], list(CANDIDATES), score, default="gittins").as_dict()}


_JOBS: dict = {}  # what the forked replay workers read (windows, cluster, runs)


def _replay_one(key: tuple[str, str]) -> tuple[tuple[str, str], dict]:
    from aidc.sim.engine import SimConfig, simulate
    from aidc.sim.metrics import summary

    window, name = key
    policy, est, params = _JOBS["runs"][name]
    cfg = SimConfig(policy=policy, restart_overhead="lucid", estimator=est, policy_params=params)
    return key, summary(simulate(_JOBS["windows"][window], _JOBS["cluster"], cfg))


def _replay_all(windows: dict, cluster, runs: dict) -> dict:  # noqa: ANN001
    """{(window, run name): summary} for every pair, replayed in forked processes (one per core)."""
    import multiprocessing as mp
    import os

    _JOBS.update(windows=windows, cluster=cluster, runs=runs)
    keys = [(w, n) for w in windows for n in runs]
    with mp.get_context("fork").Pool(max(1, min(len(keys), os.cpu_count() or 1))) as pool:
        return dict(pool.imap_unordered(_replay_one, keys))


QUALITIES = (0.68, 0.8, 0.9)  # log-correlation of the estimates with the truth; 0.68 is what History reaches


def information(trace, cluster) -> dict:  # noqa: ANN001
    """How good must run-time estimates be? Week by week at x4, SRTF told estimates whose log has
    correlation rho with the truth and errors independent from job to job (log d + N(0, s), seed 0),
    next to Tiresias and gittins. History's estimates reach rho = 0.68 too, but every job of one VC and
    size gets the same one; independent errors of that size still order the jobs inside a class.
    """
    import numpy as np

    from aidc.sim.engine import SimConfig, simulate
    from aidc.sim.metrics import summary

    out = {}
    for name, window in _weeks(trace):
        base = summary(simulate(window, cluster, SimConfig(policy="tiresias", restart_overhead="lucid")))["avg_jct_s"]
        git = summary(simulate(window, cluster, SimConfig(policy="gittins", restart_overhead="lucid", estimator="history")))
        row = {"tiresias_avg_jct_s": base, "gittins_vs_tiresias_pct": _change_pct(git["avg_jct_s"], base)}
        log_d = np.log(np.maximum([j.duration_s for j in window.jobs], 1.0))
        for rho in QUALITIES:
            noise = np.random.default_rng(0).normal(0.0, log_d.std() * (1 / rho**2 - 1) ** 0.5, len(log_d))
            for job, est in zip(window.jobs, np.exp(log_d + noise)):
                job.given_estimate_s = float(est)  # what the scheduler is told (the oracle path passes it on)
            res = summary(simulate(window, cluster, SimConfig(policy="srtf", restart_overhead="lucid")))
            row[f"srtf_rho{rho}_vs_tiresias_pct"] = _change_pct(res["avg_jct_s"], base)
        for job in window.jobs:
            job.given_estimate_s = None
        out[name] = row
    return out


if __name__ == "__main__":
    main()
