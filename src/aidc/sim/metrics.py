"""Replay metrics: JCT and queueing percentiles, makespan, utilization and queue over time, fairness, energy."""

from __future__ import annotations

import math

import numpy as np

from aidc.sim.results import SimResult, StepLog


def quantile(values: np.ndarray, q: float) -> float:
    """Linear interpolation, as pandas `quantile` (the peers' figures use it)."""
    return float(np.quantile(values, q)) if len(values) else math.nan


def _span(res: SimResult) -> tuple[float, float]:
    o = res.jobs
    t0 = float(o.submit_s.min()) if len(o.submit_s) else 0.0
    done = o.done
    t1 = float(o.end_s[done].max()) if done.any() else t0
    return t0, max(t1, t0 + 1e-9)


def _busy_gpu_s(res: SimResult) -> float:
    """GPU-seconds held by jobs (restart overheads and lost work included)."""
    o = res.jobs
    d = o.done
    return float((o.gpus[d] * (o.end_s[d] - o.submit_s[d] - o.queue_s[d])).sum())


def summary(res: SimResult) -> dict:
    """The `--json` figures of `aidc sim run` (times in seconds)."""
    o = res.jobs
    d = o.done
    jct = o.end_s[d] - o.submit_s[d]
    queue = o.queue_s[d]
    t0, t1 = _span(res)
    return {
        "jobs": int(d.sum()),
        "avg_jct_s": round(float(jct.mean()), 1) if len(jct) else math.nan,
        "p50_jct_s": round(quantile(jct, 0.5), 1),
        "p99_jct_s": round(quantile(jct, 0.99), 1),
        "avg_queue_s": round(float(queue.mean()), 1) if len(queue) else math.nan,
        "p99_queue_s": round(quantile(queue, 0.99), 1),
        "makespan_s": round(t1 - t0, 1),
        "gpu_utilization": round(_busy_gpu_s(res) / (res.cluster_gpus * (t1 - t0)), 4) if res.cluster_gpus else 0.0,
        "preemptions_per_job": round(float(o.preemptions[d].sum()) / max(int(d.sum()), 1), 4),
        "never_started": len(res.never_started),
        "wall_s": round(res.wall_s, 3),
    }


def details(res: SimResult) -> dict:
    """Beyond the summary: goodput, fragmentation, energy, per-tenant fairness, jobs that never started."""
    o = res.jobs
    d = o.done
    t0, t1 = _span(res)
    busy = _busy_gpu_s(res)
    useful = float((o.gpus[d] * o.duration_s[d]).sum())
    idle = res.cluster_gpus * (t1 - t0) - busy
    return {
        "never_started": len(res.never_started),
        "goodput": round(useful / busy, 4) if busy else 1.0,
        "restarts_after_failure": int(o.restarts[d].sum()),
        "avg_stranded_gpus": round(_time_avg(res.stranded_log, t0, t1), 2),
        "energy_mwh": round((busy * res.gpu_busy_kw + idle * res.gpu_idle_kw) / 3.6e6, 3),
        "tenants": per_tenant(res),
    }


def per_tenant(res: SimResult) -> dict[str, dict]:
    """Average JCT, queueing and slowdown per tenant, and Jain's fairness index of the slowdowns."""
    o = res.jobs
    tenants = np.array([str(t) for t in o.tenant])
    out: dict[str, dict] = {}
    for t in sorted(set(tenants.tolist())):
        m = (tenants == t) & o.done
        if not m.any():
            continue
        jct = o.end_s[m] - o.submit_s[m]
        out[t] = {"jobs": int(m.sum()), "avg_jct_s": round(float(jct.mean()), 1),
                  "avg_queue_s": round(float(o.queue_s[m].mean()), 1),
                  "avg_slowdown": round(float((jct / np.maximum(o.duration_s[m], 1.0)).mean()), 3)}
    xs = [v["avg_slowdown"] for v in out.values()]
    if xs:
        out["_jain_fairness"] = {"index": round(sum(xs) ** 2 / (len(xs) * sum(x * x for x in xs)), 4)}
    return out


def _time_avg(log: StepLog, t0: float, t1: float) -> float:
    """Time average of a step function over [t0, t1]."""
    if not len(log) or t1 <= t0:
        return 0.0
    times, levels = log.arrays()
    edges = np.append(np.clip(times, t0, t1), t1)
    return float((levels * np.diff(edges)).sum() / (t1 - t0))


def series(log: StepLog, step_s: float, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
    """A step function sampled every `step_s` from t0 to t1 (the value just after each sample time)."""
    grid = np.arange(t0, t1 + step_s, step_s)
    if not len(log):
        return grid, np.zeros_like(grid)
    times, levels = log.arrays()
    idx = np.searchsorted(times, grid, side="right") - 1
    return grid, np.where(idx >= 0, levels[np.clip(idx, 0, None)], 0.0)
