"""`aidc nodes|tenants|tokens|users|usage|export|datacenters`: the operator's side of the control plane."""

from __future__ import annotations

from pathlib import Path

import typer

from aidc.cli.common import console, print_json, reports_errors

JsonOpt = typer.Option(False, "--json", help="Print JSON.")
nodes_app = typer.Typer(help="Nodes: list, cordon, drain, uncordon, maintenance.", invoke_without_command=True)
tenants_app = typer.Typer(help="Tenants and their GPU quotas.", invoke_without_command=True)
tokens_app = typer.Typer(help="API tokens: list, create, revoke.", invoke_without_command=True)
users_app = typer.Typer(help="Users (admins only).", no_args_is_help=True)
dcs_app = typer.Typer(help="Datacenters known to the server: import, list.", invoke_without_command=True)


def _table(title: str, rows: list[dict], cols: list[str]):
    from rich.table import Table

    table = Table(title=title)
    for c in cols:
        table.add_column(c, overflow="fold")
    for r in rows:
        table.add_row(*(str(r.get(c, "")) for c in cols))
    return table


def _show(rows: list[dict], as_json: bool, title: str, cols: list[str]) -> None:
    if as_json:
        print_json(rows)
    else:
        console().print(_table(title, rows, cols))


@nodes_app.callback()
@reports_errors
def nodes(ctx: typer.Context, as_json: bool = JsonOpt) -> None:
    """List nodes with GPUs in use and status."""
    from aidc.cli.client import request

    if ctx.invoked_subcommand is None:
        _show(request("GET", "/api/v1/nodes"), as_json, "nodes",
              ["name", "rack", "gpu_model", "gpus", "gpus_used", "tenant", "status", "status_reason"])


def _node_action(action: str):
    @reports_errors
    def run(name: str, reason: str = typer.Option("", help="Recorded in the node's events.")) -> None:
        from aidc.cli.client import request

        node = request("POST", f"/api/v1/nodes/{name}/{action}", json={"reason": reason})
        console().print(f"node {name}: {node['status']}")

    run.__doc__ = f"{action.capitalize()} a node."
    return run


for _action in ("cordon", "drain", "uncordon", "maintenance"):
    nodes_app.command(_action)(_node_action(_action))


@tenants_app.callback()
@reports_errors
def tenants(ctx: typer.Context, as_json: bool = JsonOpt) -> None:
    """List tenants with their quotas."""
    from aidc.cli.client import request

    if ctx.invoked_subcommand is None:
        _show(request("GET", "/api/v1/tenants"), as_json, "tenants", ["name", "gpu_quota", "allow_borrowing", "description"])


@tenants_app.command("create")
@reports_errors
def tenant_create(name: str, quota: list[str] = typer.Option([], help="MODEL=GPUS, repeatable."),
                  no_borrowing: bool = typer.Option(False, help="Never exceed the quota.")) -> None:
    """Create a tenant."""
    from aidc.cli.client import request

    gpu_quota = _parse_quota(quota)
    request("POST", "/api/v1/tenants", json={"name": name, "gpu_quota": gpu_quota, "allow_borrowing": not no_borrowing})
    console().print(f"tenant {name} created, quota {gpu_quota}")


@tenants_app.command("sandbox")
@reports_errors
def tenant_sandbox(name: str,
                   volume: list[str] = typer.Option([], help="NAME=HOST_DIR[:MOUNT_PATH][:ro|rw], repeatable "
                                                     "(default access ro). Replaces the tenant's volumes."),
                   uid: int = typer.Option(None, help="Unix uid/gid the tenant's jobs run as (default: base + id)."),
                   isolation: str = typer.Option("best_effort", help="required: refuse executors that cannot isolate."),
                   as_json: bool = JsonOpt) -> None:
    """Set what a tenant's jobs may touch: volumes, Unix identity, isolation (admins only)."""
    from aidc.cli.client import request

    body = {"volumes": [parse_volume(v) for v in volume], "unix_uid": uid, "isolation": isolation}
    out = request("PUT", f"/api/v1/tenants/{name}/sandbox", json=body)
    if as_json:
        print_json(out)
        return
    vols = ", ".join(f"{v['name']}={v['host_path']} ({v['access']})" for v in out["sandbox"]["volumes"]) or "no volumes"
    console().print(f"tenant {name}: {vols}; uid {out['sandbox']['unix_uid'] or 'default'}; "
                    f"isolation {out['sandbox']['isolation']}")


def parse_volume(text: str) -> dict[str, str]:
    """NAME=HOST[:MOUNT][:ro|rw] -> a volume's JSON (the server checks the paths)."""
    from aidc.core.errors import AidcError

    name, eq, rest = text.partition("=")
    if not eq or not name or not rest:
        raise AidcError(f"--volume {text!r}: expected NAME=HOST_DIR[:MOUNT_PATH][:ro|rw]")
    parts = rest.split(":")
    access = parts.pop() if parts[-1] in ("ro", "rw") and len(parts) > 1 else "ro"
    if len(parts) > 2:
        raise AidcError(f"--volume {text!r}: too many ':' (paths with ':' are not supported)")
    out = {"name": name, "host_path": parts[0], "access": access}
    if len(parts) == 2:
        out["mount_path"] = parts[1]
    return out


def _parse_quota(items: list[str]) -> dict[str, int]:
    from aidc.core.errors import AidcError

    out = {}
    for item in items:
        model, _, n = item.partition("=")
        if not n.isdigit():
            raise AidcError(f"--quota {item!r}: expected MODEL=GPUS, e.g. H100-SXM=64")
        out[model] = int(n)
    return out


@tokens_app.callback()
@reports_errors
def tokens(ctx: typer.Context, as_json: bool = JsonOpt) -> None:
    """List tokens (yours; all for admins). Only prefixes are shown: tokens are stored hashed."""
    from aidc.cli.client import request

    if ctx.invoked_subcommand is None:
        _show(request("GET", "/api/v1/tokens"), as_json, "tokens", ["id", "user", "prefix", "description", "expires_s", "revoked_s"])


@tokens_app.command("create")
@reports_errors
def token_create(user: str = typer.Option(None, help="Default: yourself."), ttl_days: float = typer.Option(90),
                 description: str = typer.Option("")) -> None:
    """Mint a token; it is printed once and never shown again."""
    from aidc.cli.client import request

    row = request("POST", "/api/v1/tokens", json={"user": user, "ttl_days": ttl_days, "description": description})
    console().print(row["token"])


@tokens_app.command("revoke")
@reports_errors
def token_revoke(token_id: int) -> None:
    """Revoke a token by id."""
    from aidc.cli.client import request

    request("DELETE", f"/api/v1/tokens/{token_id}")
    console().print(f"token {token_id} revoked")


@users_app.command("create")
@reports_errors
def user_create(name: str, role: str = typer.Option("member", help="admin | operator | member | agent (node agents only)"),
                tenant: str = typer.Option(None)) -> None:
    """Create a user (then `aidc tokens create --user NAME`)."""
    from aidc.cli.client import request

    request("POST", "/api/v1/users", json={"name": name, "role": role, "tenant": tenant})
    console().print(f"user {name} created ({role})")


@dcs_app.callback()
@reports_errors
def datacenters(ctx: typer.Context, as_json: bool = JsonOpt) -> None:
    """Datacenters imported into the server."""
    from aidc.cli.client import request

    if ctx.invoked_subcommand is None:
        _show(request("GET", "/api/v1/datacenters"), as_json, "datacenters", ["name", "nodes", "gpus"])


@dcs_app.command("discover")
@reports_errors
def dc_discover(name: str = typer.Argument(..., help="Datacenter to put the nodes in (created when absent).")) -> None:
    """Import the nodes the server's executor engine knows (Slurm partitions and GRES, Ray nodes)."""
    from aidc.cli.client import request

    row = request("POST", "/api/v1/datacenters/discover", json={"name": name})
    console().print(f"{row['name']}: {row['nodes']} nodes, {row['gpus']} GPUs")


@nodes_app.command("telemetry")
@reports_errors
def node_telemetry(name: str, as_json: bool = JsonOpt) -> None:
    """A node's latest GPU telemetry from its agent."""
    from aidc.cli.client import request

    data = request("GET", f"/api/v1/nodes/{name}/telemetry")
    if as_json:
        print_json(data)
        return
    gpus = [{**g, "xids": ",".join(map(str, g.get("xids") or []))} for g in (data["latest"] or {}).get("gpus", [])]
    for g in gpus:
        for k in ("util_pct", "power_w", "temp_c"):
            g[k] = f"{float(g.get(k) or 0):.0f}"
    _show(gpus, False, f"node {name} ({data['status']})", ["index", "name", "util_pct", "power_w", "temp_c",
                                                           "ecc_uncorrected", "xids"])


@dcs_app.command("import")
@reports_errors
def dc_import(spec: Path) -> None:
    """Import a datacenter spec (validated first) into the server's inventory."""
    from aidc.cli.client import request
    from aidc.core.loader import load_datacenter

    load_datacenter(spec)  # local check: located errors before anything is sent
    row = request("POST", "/api/v1/datacenters", json={"yaml": spec.read_text(), "source": str(spec)})
    console().print(f"imported {row['name']}: {row['nodes']} nodes, {row['gpus']} GPUs")


@reports_errors
def usage(as_json: bool = JsonOpt) -> None:
    """GPU-hours, energy and cost per tenant."""
    from aidc.cli.client import request

    _show(request("GET", "/api/v1/usage"), as_json, "usage", ["tenant", "jobs", "gpu_hours", "energy_kwh", "cost_usd"])


@reports_errors
def export(out: Path = typer.Option(..., "-o", "--out", help="CSV file (aidc trace format).")) -> None:
    """Finished jobs as an aidc trace, for `aidc sim run --format aidc`."""
    from aidc.cli.client import request

    text = request("GET", "/api/v1/export/trace.csv", raw=True).text
    out.write_text(text)
    console().print(f"wrote {out} ({max(0, text.count(chr(10)) - 1)} jobs)")


def register(app: typer.Typer) -> None:
    app.add_typer(nodes_app, name="nodes")
    app.add_typer(tenants_app, name="tenants")
    app.add_typer(tokens_app, name="tokens")
    app.add_typer(users_app, name="users")
    app.add_typer(dcs_app, name="datacenters")
    app.command("usage")(usage)
    app.command("export")(export)
