"""`aidc agent` (run a node agent), `aidc repairs`, `aidc executor`: the fleet-health side of the CLI."""

from __future__ import annotations

from pathlib import Path

import typer

from aidc.cli.common import console, fail, print_json, reports_errors

JsonOpt = typer.Option(False, "--json", help="Print JSON.")


@reports_errors
def agent(
    node: str = typer.Option(..., "--node", help="This node's name (as in the inventory, or new)."),
    server: str = typer.Option(None, "--server", help="Control plane URL (default: AIDC_URL or the login config)."),
    token: str = typer.Option(None, "--token", help="An agent-role or operator token (default: AIDC_TOKEN or the login config)."),
    gpus: int = typer.Option(None, "--gpus", help="Declare this many virtual GPUs instead of asking NVML."),
    gpu_model: str = typer.Option(None, "--gpu-model", help="GPU catalog name, for a node new to the inventory."),
    work_dir: Path = typer.Option(Path(".aidc-agent"), "--work-dir", help="Job folders and the agent's state."),
    interval_s: float = typer.Option(5.0, "--interval", help="Heartbeat period until the server says otherwise."),
    datacenter: str = typer.Option("agents", "--datacenter", help="Where a node new to the inventory is added."),
    partition: str = typer.Option("agents", "--partition", help="Rack/partition of a new node."),
    address: str = typer.Option(None, "--address", help="Address the node's jobs use to reach each other."),
    drill: Path = typer.Option(None, "--drill", help="JSON-lines fault drill file (XID, ECC, heat, failed check)."),
    sandbox: str = typer.Option("bwrap", "--sandbox", envvar="AIDC_SANDBOX",
                                help="Job isolation: bwrap (bubblewrap, uid per tenant), or off (never on a shared node)."),
    max_processes: int = typer.Option(1024, "--max-processes", envvar="AIDC_SANDBOX_MAX_PROCESSES",
                                      help="Processes one job part may have (cgroup pids.max)."),
    device_dir: Path = typer.Option(Path("/dev"), "--device-dir", envvar="AIDC_SANDBOX_DEVICE_DIR",
                                    help="Where this node's /dev/nvidiaN nodes are."),
) -> None:
    """Run the node agent: register, heartbeat telemetry, run the jobs placed on this node. Ctrl-C stops it
    (its jobs keep running; a restarted agent re-attaches to them)."""
    import logging
    import signal
    import threading

    from aidc.agent.runner import Agent, AgentConfig, AgentError
    from aidc.cli.client import endpoint

    url, default_token = endpoint()
    token = token or default_token
    if not token:
        fail("no token: pass --token, set AIDC_TOKEN or run `aidc login`")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    cfg = AgentConfig(server=server or url, token=token, node=node, work_dir=work_dir.resolve(), gpus=gpus,
                      gpu_model=gpu_model, interval_s=interval_s, datacenter=datacenter, partition=partition,
                      address=address, drill_file=drill.resolve() if drill else None,
                      sandbox=sandbox, max_processes=max_processes, device_dir=device_dir)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    runner = Agent(cfg)
    console().print(f"agent for node {node}: {runner.probe.count} {'virtual ' if runner.probe.virtual else ''}GPUs, "
                    f"server {cfg.server}; {runner.executor.describe_isolation()}")
    try:
        runner.run(stop)
    except AgentError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        pass


@reports_errors
def repairs(open_only: bool = typer.Option(False, "--open", help="Only repairs still open."), as_json: bool = JsonOpt) -> None:
    """Nodes the health loop took out of service, and how their checks went."""
    from aidc.cli.client import request
    from aidc.cli.ops import _show

    rows = request("GET", "/api/v1/repairs", params={"open": open_only})
    _show(rows, as_json, "repairs", ["id", "node", "rule", "reason", "status", "checks"])


@reports_errors
def executor(as_json: bool = JsonOpt) -> None:
    """The server's executor and what it can do (multi-node, preemption, checkpoint-restore, fractional GPUs)."""
    from aidc.cli.client import request

    info = request("GET", "/api/v1/executor")
    if as_json:
        print_json(info)
        return
    caps = ", ".join(f"{k.replace('_', '-')}: {'yes' if v else 'no'}" for k, v in info["capabilities"].items())
    console().print(f"executor {info['name']} ({caps})")


def register(app: typer.Typer) -> None:
    app.command("agent")(agent)
    app.command("repairs")(repairs)
    app.command("executor")(executor)
