"""Reports of replays: rich tables, per-job CSV, and matplotlib figures (Agg, imported lazily)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from aidc.sim.results import SimResult
from aidc.sim.metrics import series, summary

if TYPE_CHECKING:
    from aidc.sim.bounds import JctBound

COLUMNS = [  # (summary key, header, format)
    ("jobs", "jobs", "{:,.0f}"), ("avg_jct_s", "avg JCT s", "{:,.0f}"), ("p50_jct_s", "p50 JCT s", "{:,.0f}"),
    ("p99_jct_s", "p99 JCT s", "{:,.0f}"), ("avg_queue_s", "avg queue s", "{:,.1f}"), ("p99_queue_s", "p99 queue s", "{:,.0f}"),
    ("makespan_s", "makespan s", "{:,.0f}"), ("gpu_utilization", "GPU util", "{:.1%}"),
    ("preemptions_per_job", "preempt/job", "{:.3f}"), ("wall_s", "wall s", "{:.2f}"),
]


def table(rows: dict[str, dict], title: str = "", bound: JctBound | None = None,
          shares: dict[str, float | None] | None = None):  # -> rich.table.Table
    """One row per policy; with `bound`, a caption saying how low any policy could take the average JCT;
    with `shares`, a column of each policy's share of the Tiresias-to-oracle gap ("-" where too small)."""
    from rich.table import Table

    caption = None
    if bound is not None and bound.jobs:
        best = min((s["avg_jct_s"] for s in rows.values()), default=0.0)
        caption = (f"no policy can average below {bound.avg_jct_s:,.0f} s JCT here (run times and fluid SRPT); "
                   f"the best policy above is {best / bound.avg_jct_s:.2f}x the bound")
    t = Table(title=title or None, caption=caption)
    t.add_column("policy", style="bold")
    for _, head, _ in COLUMNS:
        t.add_column(head, justify="right")
    if shares:
        t.add_column("gap share", justify="right")
    for name, s in rows.items():
        cells = [fmt.format(s[key]) for key, _, fmt in COLUMNS]
        if shares:
            share = shares.get(name)
            cells.append("-" if share is None else f"{share:.2f}")
        t.add_row(name, *cells)
    return t


def write_jobs_csv(res: SimResult, path: str | Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["job_id", "tenant", "gpus", "submit_s", "duration_s", "start_s", "end_s", "queue_s", "jct_s", "preemptions"])
        o = res.jobs
        for k in range(len(o.job_id)):
            start, end = _num(o.start_s[k]), _num(o.end_s[k])
            jct = "" if end == "" else _num(o.end_s[k] - o.submit_s[k])
            w.writerow([o.name[k] or int(o.job_id[k]), o.tenant[k] or "", int(o.gpus[k]), _num(o.submit_s[k]), _num(o.duration_s[k]),
                        start, end, _num(o.queue_s[k]), jct, int(o.preemptions[k])])


def _num(x: float) -> str:
    """Seconds as the shortest exact text ('' for never)."""
    if np.isnan(x):
        return ""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def plot(results: dict[str, SimResult], path: str | Path, title: str = "") -> None:
    """JCT CDF, GPU utilization over time and pending jobs over time, one curve per policy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(17, 4.8))
    # time axes end when 99% of jobs have finished: the last few weeks-long jobs would flatten the curves
    t1 = max(float(np.quantile(r.jobs.end_s[r.jobs.done], 0.99)) if r.jobs.done.any() else 1.0 for r in results.values())
    step_s = max(60.0, t1 / 600)
    hours = None
    for name, res in results.items():
        s = summary(res)
        d = res.jobs.done
        jct = np.sort(res.jobs.end_s[d] - res.jobs.submit_s[d])
        axes[0].plot(np.maximum(jct, 1), np.arange(1, len(jct) + 1) / len(jct), label=f"{name} (avg {s['avg_jct_s']:,.0f} s)")
        grid, busy = series(res.busy_log, step_s, 0.0, t1)
        _, queue = series(res.queue_log, step_s, 0.0, t1)
        hours = grid / 3600
        axes[1].plot(hours, _smooth(busy / res.cluster_gpus * 100), label=name, lw=1)
        axes[2].plot(hours, queue, label=name, lw=1)
    axes[0].set(xscale="log", xlabel="job completion time, s (log)", ylabel="fraction of jobs", title="JCT CDF")
    axes[1].set(xlabel="hours since the first submit (to 99% of jobs done)", ylabel="GPUs busy, % (smoothed)",
                title="GPU utilization", ylim=(0, 100))
    axes[2].set(xlabel="hours since the first submit (to 99% of jobs done)", ylabel="jobs pending", title="Queue length")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _smooth(values: np.ndarray, width: int = 5) -> np.ndarray:
    if len(values) < width:
        return values
    return np.convolve(values, np.ones(width) / width, mode="same")
