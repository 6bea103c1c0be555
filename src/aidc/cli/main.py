"""Entry point of the `aidc` command; each subsystem contributes one sub-command group.

Sub-command modules import only typer at module level (heavy imports live inside the commands),
so `aidc --help` stays fast. Adding a group: write `aidc/cli/<name>.py` with `app = typer.Typer()`
and add it to SUBCOMMANDS; adding top-level commands: a module with `register(app)` in REGISTRARS.
"""

from __future__ import annotations

import importlib

import typer

# (group name, module, one-line help)
SUBCOMMANDS: list[tuple[str, str, str]] = [
    ("dc", "aidc.cli.dc", "Datacenter specs: validate, show, draw."),
    ("gpus", "aidc.cli.gpus", "The GPU catalog."),
    ("sim", "aidc.cli.sim", "Digital twin: replay traces through the scheduler, compare policies."),
    ("plan", "aidc.cli.plan", "Capacity planning: train, serve, site, sweep, cases."),
]

# Modules with `register(app)` that add top-level commands (e.g. `aidc train`) rather than a group.
REGISTRARS: list[str] = ["aidc.cli.server", "aidc.cli.jobs", "aidc.cli.ops", "aidc.cli.workloads", "aidc.cli.agent"]

app = typer.Typer(
    name="aidc",
    help="Plan, simulate and operate the data centers that train and serve large language models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    for name, module, help_text in SUBCOMMANDS:
        sub = importlib.import_module(module).app
        app.add_typer(sub, name=name, help=help_text)
    for module in REGISTRARS:
        importlib.import_module(module).register(app)
    from aidc.cli import demo

    app.command("demo", help="A guided tour on this machine: what aidc does, end to end.")(demo.demo)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit.", is_eager=True),
) -> None:
    if version:
        from aidc import __version__

        typer.echo(f"aidc {__version__}")
        raise typer.Exit()


_register()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
