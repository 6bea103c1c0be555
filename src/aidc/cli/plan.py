"""`aidc plan`: capacity planning from the terminal: train, serve, site, sweep, cases, models."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from aidc.cli.common import console, fail, print_json, reports_errors

app = typer.Typer(no_args_is_help=True, help="Capacity planning: train, serve, site, sweep, cases.")

JSON_OPT = typer.Option(False, "--json", help="Print one JSON document instead of tables.")
DC_OPT = typer.Option(None, "--datacenter", "-d", help="Plan against this datacenter spec: does it fit, and where.")


def _load_dc(path: Optional[Path]):  # -> Datacenter | None
    if path is None:
        return None
    from aidc.core.loader import load_datacenter

    return load_datacenter(path)


def _show(renderables: list) -> None:
    out = console()
    for r in renderables:
        out.print(r)


@app.command()
@reports_errors
def train(spec: Path = typer.Argument(..., help="Training spec YAML (see examples/planning)."),
          datacenter: Optional[Path] = DC_OPT,
          n_gpus: Optional[int] = typer.Option(None, "--gpus", help="Override n_gpus."),
          as_json: bool = JSON_OPT) -> None:
    """How long, on which layout, does it fit, how many GPU-hours, MWh and dollars."""
    from aidc.planning.planner import plan_training
    from aidc.planning.report import train_dict, train_renderables
    from aidc.planning.specs import load_train_spec

    plan = plan_training(load_train_spec(spec), _load_dc(datacenter), n_gpus=n_gpus)
    print_json(train_dict(plan)) if as_json else _show(train_renderables(plan))


@app.command()
@reports_errors
def serve(spec: Path = typer.Argument(..., help="Serving spec YAML (see examples/planning)."),
          datacenter: Optional[Path] = DC_OPT, as_json: bool = JSON_OPT) -> None:
    """How many GPUs serve this model at this load within the TTFT/TPOT targets."""
    from aidc.planning.planner import plan_serving
    from aidc.planning.report import serve_dict, serve_renderables
    from aidc.planning.specs import load_serve_spec

    plan = plan_serving(load_serve_spec(spec), _load_dc(datacenter))
    print_json(serve_dict(plan)) if as_json else _show(serve_renderables(plan))


@app.command()
@reports_errors
def site(spec: Optional[Path] = typer.Argument(None, help="Site spec YAML (n_gpus, gpu, rack_kw_limit, model ...)."),
         datacenter: Optional[Path] = DC_OPT,
         train_spec: Optional[Path] = typer.Option(None, "--train", help="Size the site for this training spec."),
         gpu: Optional[str] = typer.Option(None, "--gpu", help="GPU model (overrides the spec)."),
         n_gpus: Optional[int] = typer.Option(None, "--gpus", help="GPU count (overrides the spec)."),
         as_json: bool = JSON_OPT) -> None:
    """What a site needs (kW, racks, cooling, switches, storage), or what a datacenter spec has."""
    from aidc.core.spec_io import validate_data
    from aidc.planning.report import site_renderables
    from aidc.planning.site import site_of, size_site
    from aidc.planning.specs import SiteSpec, load_site_spec, load_train_spec

    if datacenter is not None:
        if spec is not None or train_spec is not None:
            fail("give a site spec, --train or --datacenter, not several")
        dc = _load_dc(datacenter)
        report, title = site_of(dc), f"Site of {dc.name}"
    else:
        data = load_site_spec(spec).model_dump() if spec is not None else {}
        if train_spec is not None:
            t = load_train_spec(train_spec)
            data.update(gpu=t.gpu, model=t.model, training_tokens=t.training_tokens,
                        gpus_per_node=t.cluster.gpus_per_node, **({"n_gpus": t.n_gpus} if t.n_gpus else {}),
                        **({"pue": t.cost.pue} if t.cost.pue else {}))
        data.update({k: v for k, v in (("gpu", gpu), ("n_gpus", n_gpus)) if v is not None})
        site_spec = validate_data(data, SiteSpec, "command line")
        report, title = size_site(site_spec), f"Site for {site_spec.n_gpus:,} x {site_spec.gpu}"
    print_json(report.as_dict()) if as_json else _show(site_renderables(report, title))


@app.command()
@reports_errors
def sweep(spec: Path = typer.Argument(..., help="Training spec YAML (needs training_tokens)."),
          gpus: str = typer.Option("A100-80GB,H100-SXM,B200", "--gpu-types", help="Comma-separated GPU models."),
          counts: str = typer.Option("256,512,1024,2048,4096,8192", "--counts", help="Comma-separated GPU counts."),
          output: Path = typer.Option(Path("plan-sweep.png"), "-o", "--output", help="PNG to write."),
          as_json: bool = JSON_OPT) -> None:
    """Time-to-train against GPU count for several GPU types, plus a memory breakdown; writes a PNG."""
    from aidc.planning.specs import load_train_spec
    from aidc.planning.sweep import plot_sweep, run_sweep, sweep_dicts

    try:
        count_list = [int(c) for c in counts.split(",") if c.strip()]
    except ValueError:
        fail(f"--counts must be comma-separated integers, got {counts!r}")
    train_spec = load_train_spec(spec)
    points = run_sweep(train_spec, [g.strip() for g in gpus.split(",") if g.strip()], count_list)
    name = train_spec.model if isinstance(train_spec.model, str) else train_spec.model.name
    plot_sweep(points, f"{name}: {train_spec.training_tokens / 1e12:,.2f}T tokens", output)
    if as_json:
        print_json({"png": str(output), "points": sweep_dicts(points)})
        return
    from rich.table import Table

    table = Table(title=f"Sweep ({output})", title_justify="left")
    for col in ("GPU", "GPUs", "days", "MFU", "layout"):
        table.add_column(col)
    for p in points:
        table.add_row(p.gpu, f"{p.n_gpus:,}", "-" if p.wall_days is None else f"{p.wall_days:,.1f}",
                      "-" if p.mfu is None else f"{p.mfu:.1%}", p.parallelism or (p.error or "")[:70])
    _show([table])


@app.command()
@reports_errors
def cases(path: Path = typer.Argument(..., help="A cases JSON file (../shared/planning format)."),
          as_json: bool = JSON_OPT) -> None:
    """Predict every case in a published-cases file: one object per case with the values it assumed where
    the file has null; a case that cannot be modelled says which field (exit 2), never a crash."""
    from aidc.planning.cases import load_cases, run_cases

    results = run_cases(load_cases(path))
    failed = [r for r in results if r.get("error")]
    if as_json:
        print_json(results)
    else:
        from rich.table import Table

        table = Table(title=str(path), title_justify="left")
        for col in ("id", "kind", "prediction", "assumed"):
            table.add_column(col, overflow="fold")
        for r in results:
            assumed = ", ".join(f"{a['field']}={a['value']}" for a in r.get("assumptions", []))
            table.add_row(r["id"], r["kind"], r.get("error") or _case_summary(r), assumed)
        _show([table])
    if failed:
        console(stderr=True).print(f"[red]{len(failed)} of {len(results)} cases cannot be modelled[/]: "
                                   + "; ".join(f"{r['id']}: {r['error']}" for r in failed))
        raise typer.Exit(2)


def _case_summary(r: dict) -> str:
    band = r.get("range_p10_p90") or {}

    def rng(key: str, fmt: str) -> str:
        return f" ({format(band[key][0], fmt)}-{format(band[key][1], fmt)})" if key in band else ""

    if r["kind"] == "training":
        hours = f", {r['gpu_hours']:,.0f} GPU-h{rng('gpu_hours', ',.0f')}" if r.get("gpu_hours") else ""
        return (f"iter {r['iter_time_s']:.3f} s{rng('iter_time_s', '.3f')}, MFU {r['mfu']:.1%}, "
                f"{r['tokens_per_s_per_gpu']:,.0f} tok/s/GPU{hours}")
    if r["kind"] == "inference":
        return (f"{r['output_tokens_per_s_per_gpu']:,.0f}{rng('output_tokens_per_s_per_gpu', ',.0f')} out tok/s/GPU, "
                f"TTFT {r['ttft_ms']:.0f} ms{rng('ttft_ms', '.0f')}, TPOT {r['tpot_ms']:.1f} ms")
    m = r["memory_gib_per_gpu"]
    return f"{m['weights_grads_optimizer']:.1f} GiB states + {m['activations']:.1f} GiB activations"


@app.command()
def models(as_json: bool = JSON_OPT) -> None:
    """The model presets a spec can name."""
    from aidc.planning.models import PRESETS

    rows = [{"name": m.name, "params_b": m.total_params() / 1e9, "layers": m.n_layers, "d_model": m.d_model,
             "heads": m.n_heads, "kv_heads": m.kv_heads, "ffn": m.ffn, "vocab": m.vocab, "seq_len": m.seq_len}
            for m in PRESETS.values()]
    if as_json:
        print_json(rows)
        return
    from rich.table import Table

    table = Table(title="Model presets", title_justify="left")
    for col in rows[0]:
        table.add_column(col)
    for r in rows:
        table.add_row(*(f"{v:.1f}" if isinstance(v, float) else str(v) for v in r.values()))
    _show([table])


if __name__ == "__main__":
    app()
