"""Turn plans into JSON-ready dicts and rich renderables (tables with the reasoning shown)."""

from __future__ import annotations

from typing import Any

from aidc.planning.planner import TrainPlan
from aidc.planning.serving import ServePlan
from aidc.planning.site import SiteReport


def _fmt(value: float | None, spec: str = ",.1f", unit: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{unit}"


def train_dict(plan: TrainPlan) -> dict[str, Any]:
    e = plan.estimate
    t = e.result.time
    return {
        "model": e.job.arch.name, "params_b": e.job.arch.total_params() / 1e9, "gpu": e.job.hw.gpu.name,
        "n_gpus": e.n_gpus, "precision": e.job.precision, "parallelism": e.cfg.as_dict(), "searched": e.searched,
        "layouts_evaluated": e.result.evaluated, "layouts_fitting": e.result.feasible,
        "iter_time_s": e.iter_time_s, "tokens_per_step": e.tokens_per_step,
        "tokens_per_s_per_gpu": e.tokens_per_s_per_gpu, "model_tflops_per_gpu": e.model_tflops_per_gpu,
        "mfu": e.mfu, "hfu": e.hfu, "time_breakdown_s": t.as_dict(),
        "memory_gib_per_gpu": e.result.memory.as_dict(),
        "goodput": e.goodput, "steady_state_gpu_hours": e.steady_gpu_hours, "gpu_hours": e.gpu_hours,
        "wall_days": e.wall_days, "energy_mwh": e.energy_mwh, "cost_usd": e.cost_usd, "cost_basis": e.cost_basis,
        "pue": e.costing.pue, "gpu_power_w": e.gpu_power_w,
        "runners_up": [{"parallelism": c.short(), "iter_time_s": s} for s, c in e.result.runners_up],
        "datacenter": plan.datacenter, "placement": plan.placement.as_dict() if plan.placement else None,
    }


def train_renderables(plan: TrainPlan) -> list[Any]:
    from rich.table import Table

    d, e = train_dict(plan), plan.estimate
    head = Table(title=f"Training plan: {d['model']} ({d['params_b']:.1f}B) on {d['n_gpus']:,} x {d['gpu']}",
                 show_header=False, title_justify="left")
    head.add_column(style="bold")
    head.add_column()
    how = "searched" if e.searched else "as given"
    head.add_row("layout", f"{e.cfg.short()}  ({how}: {d['layouts_evaluated']:,} layouts tried, "
                           f"{d['layouts_fitting']:,} fit and were timed)")
    for alt in d["runners_up"][:2]:
        head.add_row("next best", f"{alt['parallelism']}: {alt['iter_time_s']:.3f} s/iteration")
    head.add_row("iteration", f"{d['iter_time_s']:.3f} s for {d['tokens_per_step']:,.0f} tokens")
    head.add_row("throughput", f"{d['tokens_per_s_per_gpu']:,.0f} tokens/s/GPU, {d['model_tflops_per_gpu']:.0f} TFLOP/s/GPU")
    head.add_row("utilization", f"MFU {d['mfu']:.1%}  HFU {d['hfu']:.1%}")
    if d["gpu_hours"] is not None:
        head.add_row("steady state", f"{d['steady_state_gpu_hours']:,.0f} GPU-hours")
        head.add_row("project", f"{d['gpu_hours']:,.0f} GPU-hours at goodput {d['goodput']:.1%} "
                                f"(failures, restarts, evaluation) = {d['wall_days']:.1f} days")
        head.add_row("energy", f"{d['energy_mwh']:,.0f} MWh ({d['gpu_power_w']:.0f} W/GPU x PUE {d['pue']:.2f})")
        head.add_row("cost", f"{_fmt(d['cost_usd'], ',.0f', ' USD')} ({e.cost_basis})")
    if plan.placement is not None:
        head.add_row("datacenter", _fit_line(plan))
    return [head, _time_table(d), _memory_table(d, e.job.hw.memory_gib)]


def _time_table(d: dict[str, Any]) -> Any:
    from rich.table import Table

    t = d["time_breakdown_s"]
    table = Table(title="Where an iteration goes", title_justify="left")
    table.add_column("part")
    table.add_column("seconds", justify="right")
    table.add_column("share", justify="right")
    rows = [("compute (slowest stage, all micro-batches)", t["compute_s"]),
            ("tensor/sequence-parallel comm (exposed)", t["tp_comm_s"]), ("pipeline bubble", t["pp_bubble_s"]),
            ("pipeline sends", t["pp_p2p_s"]), ("data-parallel reduction (exposed)", t["dp_exposed_s"]),
            ("optimizer step", t["optimizer_s"])]
    for name, sec in rows:
        table.add_row(name, f"{sec:.3f}", f"{sec / t['iter_time_s']:.1%}")
    return table


def _memory_table(d: dict[str, Any], hbm_gib: float) -> Any:
    from rich.table import Table

    m = d["memory_gib_per_gpu"]
    table = Table(title=f"Memory per GPU (most loaded stage, of {hbm_gib:.0f} GiB)", title_justify="left")
    table.add_column("part")
    table.add_column("GiB", justify="right")
    for key in ("weights", "grads", "optimizer", "activations", "total"):
        table.add_row(key, f"{m[key]:.1f}")
    return table


def serve_dict(plan: ServePlan) -> dict[str, Any]:
    b, wl = plan.best, plan.spec.workload
    return {
        "model": str(plan.spec.model if isinstance(plan.spec.model, str) else plan.spec.model.name),
        "gpu": plan.spec.gpu, "precision": plan.spec.precision, "tp": b.tp, "batch_per_replica": b.batch,
        "input_len": wl.input_len, "output_len": wl.output_len, "ttft_ms": b.ttft_ms, "tpot_ms": b.tpot_ms,
        "output_tokens_per_s_per_gpu": b.output_tokens_per_s_per_gpu, "requests_per_s_per_replica": b.requests_per_s,
        "target_requests_per_s": plan.target_rps, "replicas": plan.replicas, "gpus_needed": plan.gpus_needed,
        "weights_gib_per_gpu": plan.weights_gib_per_gpu, "max_concurrency_per_replica": b.max_concurrency,
        "slo": plan.spec.slo.model_dump(), "datacenter": plan.datacenter,
        "placement": plan.placement.as_dict() if plan.placement else None,
    }


def serve_renderables(plan: ServePlan) -> list[Any]:
    from rich.table import Table

    d = serve_dict(plan)
    t = Table(title=f"Serving plan: {d['model']} on {d['gpu']} ({d['precision']})", show_header=False, title_justify="left")
    t.add_column(style="bold")
    t.add_column()
    t.add_row("workload", f"{d['input_len']} -> {d['output_len']} tokens, {d['target_requests_per_s']:.2f} requests/s")
    t.add_row("replica", f"tp={d['tp']}, batch {d['batch_per_replica']} (KV cache holds {d['max_concurrency_per_replica']}), "
                         f"weights {d['weights_gib_per_gpu']:.1f} GiB/GPU")
    t.add_row("latency", f"TTFT {d['ttft_ms']:.0f} ms, TPOT {d['tpot_ms']:.1f} ms "
                         f"(targets: {_fmt(d['slo']['ttft_ms'], '.0f')} / {_fmt(d['slo']['tpot_ms'], '.1f')} ms)")
    t.add_row("throughput", f"{d['output_tokens_per_s_per_gpu']:,.0f} output tokens/s/GPU, "
                            f"{d['requests_per_s_per_replica']:.2f} requests/s per replica")
    t.add_row("needs", f"{d['replicas']} replicas = {d['gpus_needed']} GPUs")
    if plan.placement is not None:
        t.add_row("datacenter", _fit_line(plan))
    return [t]


def site_renderables(report: SiteReport, title: str) -> list[Any]:
    from rich.table import Table

    t = Table(title=title, show_header=False, title_justify="left")
    t.add_column(style="bold")
    t.add_column()
    t.add_row("GPUs", f"{report.n_gpus:,} x {report.gpu} in {report.nodes:,} nodes ({report.node_max_kw:.1f} kW max each)")
    t.add_row("power", f"IT {report.it_kw:,.0f} kW, facility {report.facility_kw:,.0f} kW at PUE {report.pue:.2f}")
    t.add_row("racks", f"{report.racks:,} racks, {report.nodes_per_rack} nodes and {report.rack_kw:.1f} kW per rack")
    t.add_row("cooling", report.cooling)
    t.add_row("fabric", f"{report.leaf_switches:,} leaf + {report.spine_switches:,} spine + {report.core_switches:,} core "
                        f"switches ({report.fabric_tiers} tiers, rail-optimized)")
    if report.checkpoint_tib is not None:
        t.add_row("checkpoints", f"{report.checkpoint_tib:.2f} TiB each, {report.checkpoint_write_gbs:,.0f} GB/s to write in time")
    if report.storage_tib is not None:
        t.add_row("storage", f"{report.storage_tib:,.0f} TiB")
    for note in report.notes:
        t.add_row("note", note)
    return [t]


def _fit_line(plan) -> str:  # noqa: ANN001 (a training or serving plan with .placement and .datacenter)
    """'dc: fits on 12 nodes ...' in green, or 'dc: does not fit: why' in red."""
    p = plan.placement
    if p.fits:
        return f"{plan.datacenter}: [green]{p.message}[/]"
    return f"{plan.datacenter}: [red]does not fit[/]: {p.message}"
