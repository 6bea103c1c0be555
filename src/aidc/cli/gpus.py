"""`aidc gpus`: list and look up the GPU catalog."""

from __future__ import annotations

import typer

from aidc.cli.common import console, print_json, reports_errors

app = typer.Typer(no_args_is_help=True)


def _row(m) -> list[str]:  # m: GpuModel
    def fmt(x: float | None) -> str:
        return "-" if x is None else f"{x:,.0f}" if x >= 100 else f"{x:g}"

    return [m.name, m.vendor, fmt(m.bf16_dense_tflops or m.fp16_dense_tflops), fmt(m.fp8_dense_tflops),
            f"{m.memory_gb:g}", f"{m.memory_bw_gbs:,.0f}", fmt(m.scaleup_bw_gbs), str(m.tdp_w)]


@app.command("list")
@reports_errors
def list_gpus(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Every GPU model in the built-in catalog, with dense peak throughput and memory."""
    from rich.table import Table

    from aidc.core.gpus import DEFAULT_CATALOG

    models = DEFAULT_CATALOG.all()
    if as_json:
        print_json([m.model_dump() for m in models])
        return
    table = Table(title="GPU catalog (dense peaks)")
    for col in ("model", "vendor", "BF16/FP16 TFLOP/s", "FP8 TFLOP/s", "mem GB", "mem GB/s", "scale-up GB/s", "TDP W"):
        table.add_column(col, justify="left" if col in ("model", "vendor") else "right")
    for m in models:
        table.add_row(*_row(m))
    console().print(table)


@app.command("show")
@reports_errors
def show_gpu(name: str, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """One GPU model by name or alias, with its sources."""
    from aidc.core.gpus import get_gpu

    model = get_gpu(name)
    if as_json:
        print_json(model.model_dump())
        return
    out = console()
    for key, value in model.model_dump().items():
        out.print(f"[bold]{key}[/]: {value}")
