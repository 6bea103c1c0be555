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


def synthetic_history(n_jobs: int, *, users: int = 24, tenants: int = 4, seed: int = 0, span_s: float = 30 * 86400):
    """A control-plane job history whose run times depend on who runs what (for the run-time predictor).

    Each user has a few kinds of job (a name, a command, a GPU count and a typical run time spread over
    four orders of magnitude); a run lasts its kind's typical time x lognormal(0, 0.35). Users ask for
    their run time as people do (Tsafrir et al. 2007): most round the truth up, 1-10x, to the next
    hour; a quarter give none. Tenants mix many users and kinds, so (tenant, GPUs) alone is a poor
    guide. Returns JobRecords in submit order, each with its run time.
    """
    from aidc.scheduling.predictor import JobRecord

    rng = np.random.default_rng(seed)
    kinds = []
    for u in range(users):
        for task in ("train", "eval", "prep", "sweep", "serve")[:int(rng.integers(2, 6))]:
            gpus = int(rng.choice([1, 1, 1, 2, 4, 8]))
            typical_s = float(np.exp(rng.uniform(np.log(60), np.log(2 * 86400))))
            kinds.append((f"user{u}", f"team{u % tenants}", f"{task}-{u}", f"python {task}.py --config c{u}.yaml",
                          gpus, typical_s))
    shy = set(rng.choice(users, size=users // 4, replace=False).tolist())
    submit = np.sort(rng.uniform(0, span_s, n_jobs))
    out = []
    for t in submit:
        user, tenant, name, command, gpus, typical_s = kinds[int(rng.integers(len(kinds)))]
        run_s = float(np.clip(typical_s * rng.lognormal(0.0, 0.35), 10, 7 * 86400))
        asked = None if int(user[4:]) in shy else float(np.ceil(run_s * rng.uniform(1, 10) / 3600) * 3600)
        out.append(JobRecord(submit_s=float(t), gpus=gpus, user=user, tenant=tenant, name=name,
                             command=f"{command} --seed {int(rng.integers(1000))}", requested_s=asked,
                             max_runtime_s=7 * 86400.0, gpu_model="A100", runtime_s=run_s))
    return out
