"""Synthetic traces: Poisson arrivals with Philly-like job sizes and heavy-tailed run times, at a target load."""

from __future__ import annotations

import numpy as np

from aidc.sim.jobs import SimJob, Trace

GPU_MIX = ((1, 0.80), (2, 0.06), (4, 0.07), (8, 0.05), (16, 0.015), (32, 0.005))  # (GPUs, share of jobs)


def synthetic_trace(n_jobs: int, cluster_gpus: int, *, load: float = 0.7, median_s: float = 1200.0,
                    sigma: float = 1.2, max_s: float = 3 * 86400, seed: int = 0, tenants: int = 1) -> Trace:
    """`n_jobs` jobs whose offered GPU load is `load` of `cluster_gpus` (lognormal run times, 1 s .. max_s)."""
    rng = np.random.default_rng(seed)
    sizes, shares = zip(*GPU_MIX)
    gpus = rng.choice(np.array(sizes), size=n_jobs, p=np.array(shares) / sum(shares))
    dur = np.clip(np.round(rng.lognormal(np.log(median_s), sigma, n_jobs)), 1, max_s)
    rate_per_s = load * cluster_gpus / float((gpus * dur).mean())
    submit = np.floor(np.cumsum(rng.exponential(1 / rate_per_s, n_jobs)))
    submit -= submit[0]
    names = [f"t{k}" for k in range(tenants)] if tenants > 1 else [None]
    who = rng.integers(0, len(names), n_jobs)
    jobs = [SimJob(i, float(s), float(d), int(g), names[w]) for i, (s, d, g, w) in enumerate(zip(submit, dur, gpus, who))]
    return Trace(jobs, f"synthetic({n_jobs} jobs, load {load})", "t=0 at the first submit",
                 sorted(n for n in names if n is not None))
