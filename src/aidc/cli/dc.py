"""`aidc dc`: validate, summarise and draw datacenter specs."""

from __future__ import annotations

from pathlib import Path

import typer

from aidc.cli.common import console, print_json, reports_errors

app = typer.Typer(no_args_is_help=True)

SpecArg = typer.Argument(..., help="Datacenter spec (YAML).", show_default=False)


def _warn(dc, as_json: bool) -> None:  # dc: Datacenter
    if dc.warnings and not as_json:
        err = console(stderr=True)
        for w in dc.warnings:
            err.print(w.format(), style="yellow", markup=False, soft_wrap=True)


@app.command()
@reports_errors
def validate(spec: Path = SpecArg, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Check a spec: every error with its file, line, field path and numbers (exit 2 on any)."""
    from aidc.core.loader import load_datacenter

    dc = load_datacenter(spec)
    if as_json:
        print_json({"valid": True, "file": str(spec), "gpus": dc.total_gpus, "warnings": [w.format(str(spec)) for w in dc.warnings]})
        return
    _warn(dc, as_json)
    console().print(f"[green]ok[/] {spec}: {dc.name}, {dc.total_gpus:,} GPUs in {len(dc.nodes):,} nodes, {len(dc.racks)} racks")


@app.command()
@reports_errors
def show(
    spec: Path = SpecArg,
    pue: float = typer.Option(None, "--pue", help="Override the site's PUE for facility power.", min=1.0, max=3.0),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """GPUs by type, peak PFLOP/s, HBM, IT and facility power, racks, fabric, storage, tenants."""
    from aidc.core.loader import load_datacenter
    from aidc.core.summary import summarize

    dc = load_datacenter(spec)
    summary = summarize(dc, pue=pue)
    if as_json:
        print_json(summary)
        return
    _warn(dc, as_json)
    console().print(render_summary(summary))


def render_summary(s: dict):  # -> rich renderable
    """A rich table of `summarize`'s output (shared with `aidc demo`)."""
    from rich.table import Table

    table = Table(title=f"{s['name']} ({s['site']})", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    p, f = s["power"], s["fabric"]
    by_model = ", ".join(f"{n:,} x {m}" for m, n in s["gpus_by_model"].items()) or "none"
    table.add_row("GPUs", f"{s['gpus']:,} ({by_model})")
    table.add_row("nodes / racks / rooms", f"{s['nodes']:,} / {s['racks']} / {s['rooms']}")
    peaks = ", ".join(f"{k.upper()} {v:,.1f}" for k, v in s["peak_pflops"].items() if v)
    table.add_row("peak PFLOP/s (dense)", peaks or "-")
    table.add_row("GPU memory", f"{s['hbm_tb']:,.1f} TB")
    table.add_row("IT power", f"{p['it_kw_gpu_tdp']:,.0f} kW at GPU TDP, {p['it_kw_node_max']:,.0f} kW at node max")
    table.add_row("facility power", f"{p['facility_kw']:,.0f} kW at PUE {p['pue']:g}")
    table.add_row("rack density", f"max {p['rack_kw_max']:g} kW, mean {p['rack_kw_mean']:g} kW; cooling "
                  + ", ".join(f"{n} {k}" for k, n in s["cooling"].items()))
    table.add_row("fabric", f"{f['topology']}, {f['endpoints']:,} x {f['link_gbps']:g}G ports, {f['leaf_switches']} leaf / "
                  f"{f['spine_switches']} spine / {f['core_switches']} core switches ({f['tiers']} tiers), "
                  f"bisection {f['bisection_tbps']:,.1f} Tb/s")
    for st in s["storage"]:
        table.add_row(f"storage {st['name']}", f"{st['kind']}, {st['capacity_tib']:,.0f} TiB, "
                      f"{st['read_gbs']:g} GB/s read, {st['write_gbs']:g} GB/s write")
    tenants = ", ".join(f"{t} {n:,}" for t, n in s["tenants"].items())
    table.add_row("GPUs by tenant", tenants)
    return table


@app.command()
@reports_errors
def draw(
    spec: Path = SpecArg,
    out: Path = typer.Option(..., "-o", "--out", help="Output image (.png or .svg)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """A floor plan of racks coloured by power density, and the elevation of each rack kind."""
    from aidc.core.errors import AidcError
    from aidc.core.loader import load_datacenter
    from aidc.viz.floorplan import draw_datacenter

    if out.suffix.lower() not in (".png", ".svg"):
        raise AidcError(f"--out {out}: use a .png or .svg file name")
    dc = load_datacenter(spec)
    path = draw_datacenter(dc, out)
    if as_json:
        print_json({"file": str(path), "racks": len(dc.racks)})
        return
    console().print(f"wrote {path} ({len(dc.racks)} racks)")
