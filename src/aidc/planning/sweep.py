"""Time-to-train against GPU count for several GPU types, and the per-GPU memory breakdown, as data and as a PNG."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aidc.core.errors import AidcError, UnknownNameError, did_you_mean
from aidc.core.gpus import DEFAULT_CATALOG
from aidc.planning.planner import plan_training
from aidc.planning.specs import TrainSpec


@dataclass
class SweepPoint:
    gpu: str
    n_gpus: int
    wall_days: float | None
    iter_time_s: float | None
    mfu: float | None
    parallelism: str
    memory_gib: dict[str, float] = field(default_factory=dict)
    error: str | None = None


def run_sweep(spec: TrainSpec, gpus: list[str], counts: list[int]) -> list[SweepPoint]:
    """One plan per (GPU type, count); a count that cannot work is a point with an error, not a crash."""
    if spec.training_tokens is None:
        raise AidcError("a sweep needs training_tokens in the spec (time-to-train is its y axis)")
    for gpu in gpus:
        if gpu not in DEFAULT_CATALOG:
            raise UnknownNameError(f"unknown GPU model {gpu!r}{did_you_mean(gpu, DEFAULT_CATALOG.names())}")
    points = []
    for gpu in gpus:
        variant = spec.model_copy(update={"gpu": gpu, "n_gpus": None})
        for n in counts:
            try:
                e = plan_training(variant, n_gpus=n).estimate
                points.append(SweepPoint(gpu, n, e.wall_days, e.iter_time_s, e.mfu, e.cfg.short(),
                                         e.result.memory.as_dict()))
            except AidcError as exc:
                points.append(SweepPoint(gpu, n, None, None, None, "", error=str(exc)))
    return points


def plot_sweep(points: list[SweepPoint], title: str, out: Path) -> None:
    """Left: days to train vs GPUs (log-log) per GPU type. Right: memory per GPU at the median count."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gpus = list(dict.fromkeys(p.gpu for p in points))
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    for gpu in gpus:
        ok = [p for p in points if p.gpu == gpu and p.wall_days is not None]
        if ok:
            left.plot([p.n_gpus for p in ok], [p.wall_days for p in ok], marker="o", label=gpu)
    left.set_xscale("log", base=2)
    left.set_yscale("log")
    left.set_xlabel("GPUs")
    left.set_ylabel("days to train (incl. goodput)")
    left.set_title("Time to train")
    left.grid(True, which="both", alpha=0.3)
    left.legend()
    _memory_bars(right, points, gpus)
    fig.suptitle(title)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)


def _memory_bars(ax: Any, points: list[SweepPoint], gpus: list[str]) -> None:
    counts = sorted({p.n_gpus for p in points})
    ref = counts[len(counts) // 2]
    parts = ("weights", "grads", "optimizer", "activations")
    bottoms = [0.0] * len(gpus)
    for part in parts:
        values = []
        for gpu in gpus:
            match = [p for p in points if p.gpu == gpu and p.n_gpus == ref and p.memory_gib]
            values.append(match[0].memory_gib[part] if match else 0.0)
        ax.bar(gpus, values, bottom=bottoms, label=part)
        bottoms = [b + v for b, v in zip(bottoms, values)]
    for i, gpu in enumerate(gpus):
        ax.hlines(DEFAULT_CATALOG.get(gpu).memory_gb, i - 0.4, i + 0.4, colors="black", linewidth=2, zorder=3,
                  label="HBM capacity" if i == 0 else None)
    ax.set_ylabel("GiB per GPU")
    ax.set_ylim(0, 1.15 * max([*bottoms, *(DEFAULT_CATALOG.get(g).memory_gb for g in gpus)]))
    ax.set_title(f"Memory per GPU at {ref:,} GPUs (chosen layout)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=5, fontsize=8, frameon=False)


def sweep_dicts(points: list[SweepPoint]) -> list[dict[str, Any]]:
    return [dict(p.__dict__) for p in points]
