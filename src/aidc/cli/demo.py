"""`aidc demo`: the guided tour `make demo` runs; each subsystem adds its step."""

from __future__ import annotations

from pathlib import Path

import typer

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
STEPS = {"plan", "simulate", "build", "fleet", "operate"}


def _examples_dir() -> Path:
    """examples/ of the checkout (editable install), else the current directory's."""
    return EXAMPLES if EXAMPLES.is_dir() else Path.cwd() / "examples"


def demo(
    out_dir: Path = typer.Option(Path("out/demo"), "--out", help="Where pictures and reports go."),
    skip: list[str] = typer.Option([], "--skip", help="Leave a step out: plan, simulate, build, fleet, operate (repeatable)."),
) -> None:
    """Describe the example sites, plan a model, replay Philly, train and serve a model, run the control plane."""
    import os
    import sys

    if not sys.stdout.isatty():  # loading bars redrawn into a log are noise; tqdm reads this when imported
        os.environ.setdefault("TQDM_DISABLE", "1")
    from rich.rule import Rule

    from aidc.cli.common import console
    from aidc.cli.dc import render_summary
    from aidc.core.loader import load_datacenter
    from aidc.core.summary import summarize
    from aidc.viz.floorplan import draw_datacenter

    unknown = sorted(set(skip) - STEPS)
    if unknown:
        from aidc.cli.common import fail

        fail(f"--skip {', '.join(unknown)}: the steps are {', '.join(sorted(STEPS))}")
    out = console()
    specs = _examples_dir() / "datacenters"
    out.print(Rule("1. Describe: the datacenters in examples/datacenters"))
    for name in ("local", "small-h100", "philly", "large-b200"):
        dc = load_datacenter(specs / f"{name}.yaml")
        s = summarize(dc)
        out.print(f"[green]valid[/] {name}.yaml: {s['gpus']:,} GPUs, {s['racks']} racks, "
                  f"{s['power']['facility_kw']:,.0f} kW facility")
    dc = load_datacenter(specs / "small-h100.yaml")
    out.print(render_summary(summarize(dc)))
    png = draw_datacenter(load_datacenter(specs / "philly.yaml"), out_dir / "philly-floor.png")
    out.print(f"floor plan of Philly: {png}")

    if "plan" not in skip:
        _plan(out, specs)
    if "simulate" not in skip:
        _simulate(out, out_dir)
    if "build" not in skip:
        _build(out, out_dir)
    if "fleet" not in skip:
        _fleet(out)
    if "operate" not in skip:
        _operate(out, specs)


def _plan(out, specs: Path) -> None:  # out: rich Console
    from rich.rule import Rule

    from aidc.planning.demo import print_demo

    out.print(Rule("2. Plan: train and serve a model on small-h100"))
    print_demo(out, str(specs / "small-h100.yaml"))



def _simulate(out, out_dir: Path) -> None:
    from rich.rule import Rule

    from aidc.sim.demo import compare_philly_slice

    out.print(Rule("3. Simulate: replay two days of Philly at x4 load under four policies, same scheduler code"))
    sim_png = out_dir / "philly-fifo-vs-srtf.png"
    compare_philly_slice(out, policies=("fifo", "tiresias", "gittins", "srtf"), plot=str(sim_png))
    out.print("gap share: how much of what knowing every run time (srtf) gains over tiresias a policy captures; "
              "gittins is told no run time, it learns them from the jobs that finished")
    if sim_png.exists():
        out.print(f"JCT CDFs and queue curves: {sim_png}")



def _build(out, out_dir: Path) -> None:
    from rich.rule import Rule

    from aidc.workloads.demo import run_demo as run_workloads_demo

    out.print(Rule("4. Build: English-French pairs -> tokenizer -> Transformer -> BLEU/chrF -> SmolLM2 behind an API"))
    run_workloads_demo(out, out_dir / "workloads")



def _fleet(out) -> None:  # out: rich Console
    from rich.rule import Rule

    from aidc.cli.demo_fleet import run_fleet_demo

    out.print(Rule("5. Fleet health: node agents, a GPU fault drains a node, its job resumes elsewhere"))
    run_fleet_demo(out)


def _operate(out, specs: Path) -> None:
    from rich.rule import Rule

    from aidc.cli.demo_operate import run_operate_demo

    out.print(Rule("6. Operate: the control plane schedules jobs from two tenants on this machine"))
    run_operate_demo(out, specs / "local.yaml")
