"""`aidc submit`, `aidc jobs`, `aidc job show|logs|events|cancel|requeue`: the tenant's side of the control plane."""

from __future__ import annotations

import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import typer

from aidc.cli.common import console, print_json, reports_errors

job_app = typer.Typer(no_args_is_help=True, help="One job: show, logs, events, cancel, requeue.")
JsonOpt = typer.Option(False, "--json", help="Print JSON.")


def _when(ts: float | None) -> str:
    return "-" if ts is None else datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%H:%M:%S")


def _ago(ts: float | None) -> str:
    if ts is None:
        return "-"
    s = time.time() - ts
    return f"{s:.0f}s" if s < 120 else f"{s / 60:.0f}m" if s < 7200 else f"{s / 3600:.1f}h"


def jobs_table(rows: list[dict]):  # -> rich Table
    from rich.table import Table

    table = Table(title=f"{len(rows)} jobs")
    for col in ("id", "name", "tenant", "kind", "gpus", "status", "age", "why / where"):
        table.add_column(col, overflow="fold")
    colors = {"running": "green", "pending": "yellow", "failed": "red", "succeeded": "blue", "cancelled": "dim"}
    for j in rows:
        where = j["reason"] if j["status"] != "running" else " ".join(f"{n}:{','.join(map(str, i))}" for n, i in j["placement"])
        if j["status"] == "pending" and j.get("eta_s"):
            where += f" (ETA {_when(j['eta_s'])})"
        gpus = f"{j['gpus']}" + (f" {j['gpu_model']}" if j["gpu_model"] else "")
        table.add_row(str(j["id"]), j["name"], j["tenant"], j["kind"], gpus,
                      f"[{colors.get(j['status'], 'white')}]{j['status']}[/]", _ago(j["submitted_s"]), where)
    return table


@reports_errors
def submit(spec: Path = typer.Argument(..., help="Job spec (YAML)."),
           tenant: str = typer.Option(None, help="Tenant to submit for (default: yours)."), as_json: bool = JsonOpt) -> None:
    """Submit a job from a YAML spec; the spec is checked locally first, then by the server. A top-level
    `tenant:` in the file is the tenant to submit for, as in the HTTP body ({"spec": ..., "tenant": ...})."""
    from aidc.cli.client import request
    from aidc.core.errors import SpecError, SpecIssue
    from aidc.core.jobs import JobSpec
    from aidc.core.spec_io import parse_yaml, read_spec_text, validate_data

    data, lines = parse_yaml(read_spec_text(spec), str(spec))
    if isinstance(data, dict) and "tenant" in data:
        in_file = data.pop("tenant")
        if tenant is not None and tenant != in_file:
            raise SpecError(str(spec), [SpecIssue("tenant", f"the file says tenant {in_file!r} and --tenant says "
                                                             f"{tenant!r}; give one", lines.get("tenant"))])
        tenant = str(in_file)
    model = validate_data(data, JobSpec, str(spec), lines)
    job = request("POST", "/api/v1/jobs", json={"spec": model.model_dump(mode="json", exclude_defaults=True), "tenant": tenant})
    if as_json:
        print_json(job)
        return
    if len(job.get("replica_ids") or []) > 1:
        ids = ", ".join(map(str, job["replica_ids"]))
        console().print(f"submitted deployment {job['spec']['env'].get('AIDC_DEPLOYMENT')}: "
                        f"{len(job['replica_ids'])} replicas as jobs {ids} for {job['tenant']}")
        return
    console().print(f"submitted job {job['id']} ({job['name']}) for {job['tenant']}: {job['status']}")


WATCH_PLAIN_INTERVAL_S = 2.0  # --watch without a terminal


@reports_errors
def jobs(tenant: str = typer.Option(None), status: str = typer.Option(None), kind: str = typer.Option(None),
         limit: int = typer.Option(50, min=1, max=1000), watch: bool = typer.Option(False, "--watch", help="Refresh every second."),
         as_json: bool = JsonOpt) -> None:
    """The jobs you may see, newest first, with why each pending job waits."""
    from aidc.cli.client import request

    params = {"tenant": tenant, "status": status, "kind": kind, "limit": limit}
    if as_json:
        print_json(request("GET", "/api/v1/jobs", params=params))
        return
    if not watch:
        console().print(jobs_table(request("GET", "/api/v1/jobs", params=params)))
        return
    if not sys.stdout.isatty():  # a pipe or a log file: the table again every few seconds, as plain lines
        try:
            while True:
                print(f"-- {time.strftime('%Y-%m-%d %H:%M:%S')}", flush=True)
                console().print(jobs_table(request("GET", "/api/v1/jobs", params=params)))
                sys.stdout.flush()
                time.sleep(WATCH_PLAIN_INTERVAL_S)
        except KeyboardInterrupt:
            return
    from rich.live import Live

    with Live(jobs_table(request("GET", "/api/v1/jobs", params=params)), console=console(), refresh_per_second=2) as live:
        try:
            while True:
                time.sleep(1)
                live.update(jobs_table(request("GET", "/api/v1/jobs", params=params)))
        except KeyboardInterrupt:
            pass


@job_app.command("show")
@reports_errors
def show(job_id: int, as_json: bool = JsonOpt) -> None:
    """A job's spec, status, placement, and why it waits."""
    from aidc.cli.client import request

    job = request("GET", f"/api/v1/jobs/{job_id}")
    if as_json:
        print_json(job)
        return
    out = console()
    for key in ("id", "name", "tenant", "user", "kind", "status", "reason", "gpus", "gpu_model", "priority", "attempts",
                "preemptions", "exit_code", "placement"):
        out.print(f"[bold]{key}[/]: {job[key]}")
    out.print(f"[bold]submitted / started / finished[/]: {_when(job['submitted_s'])} / {_when(job['started_s'])} / "
              f"{_when(job['finished_s'])}")


@job_app.command("events")
@reports_errors
def job_events(job_id: int, as_json: bool = JsonOpt) -> None:
    """The job's audit trail: every status change with who and why."""
    from rich.table import Table

    from aidc.cli.client import request

    rows = request("GET", f"/api/v1/jobs/{job_id}/events")
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"job {job_id} events")
    for col in ("time", "from", "to", "actor", "reason"):
        table.add_column(col)
    for e in rows:
        table.add_row(_when(e["at_s"]), e["from_status"] or "", e["to_status"] or "", e["actor"], e["reason"])
    console().print(table)


@job_app.command("logs")
@reports_errors
def logs(job_id: int, follow: bool = typer.Option(False, "-f", "--follow", help="Keep printing until the job ends.")) -> None:
    """The job's output (stdout and stderr)."""
    import sys

    from aidc.cli.client import request

    offset = 0
    while True:
        resp = request("GET", f"/api/v1/jobs/{job_id}/logs", params={"offset": offset}, raw=True)
        sys.stdout.write(resp.text)
        sys.stdout.flush()
        offset = int(resp.headers.get("X-Log-Offset", offset))
        if not follow or request("GET", f"/api/v1/jobs/{job_id}")["status"] in ("succeeded", "failed", "cancelled"):
            if follow:  # the last bytes written before it ended
                sys.stdout.write(request("GET", f"/api/v1/jobs/{job_id}/logs", params={"offset": offset}, raw=True).text)
            return
        time.sleep(0.5)


@job_app.command("cancel")
@reports_errors
def cancel(job_id: int, reason: str = typer.Option("", help="Recorded in the job's events.")) -> None:
    """Cancel a job (its process is stopped)."""
    from aidc.cli.client import request

    job = request("POST", f"/api/v1/jobs/{job_id}/cancel", json={"reason": reason})
    console().print(f"job {job_id}: {job['status']}")


@job_app.command("requeue")
@reports_errors
def requeue(job_id: int, reason: str = typer.Option("", help="Recorded in the job's events.")) -> None:
    """Put a job back in the queue (a running one is stopped first)."""
    from aidc.cli.client import request

    job = request("POST", f"/api/v1/jobs/{job_id}/requeue", json={"reason": reason})
    console().print(f"job {job_id}: {job['status']}")


@reports_errors
def predictor(as_json: bool = JsonOpt) -> None:
    """The run-time predictor: is it learning, and how wrong was it on held-out finished jobs."""
    from rich.table import Table

    from aidc.cli.client import request

    st = request("GET", "/api/v1/predictor")
    if as_json:
        print_json(st)
        return
    out = console()
    if not st.get("enabled"):
        out.print("run-time predictor: off (AIDC_RUNTIME_PREDICTOR=false on the server)")
        return
    acc = st["accuracy"]
    if not st["available"] or not st["ready"]:
        why = "scikit-learn is not installed on the server" if not st["available"] else \
            f"learning: {acc['jobs']} finished jobs at its last fit (every {st['refit_s']:.0f} s), it starts at {st['min_jobs']}"
        out.print(f"run-time predictor: {why}")
        return
    t = Table(title=f"run-time predictor: trained on {acc['jobs']:,} finished jobs, scored on the latest {acc['scored']:,}")
    for col in ("estimate", "median abs error s", "within 2x"):
        t.add_column(col, justify="right" if col != "estimate" else "left")
    pct = lambda v: "-" if v is None else f"{v:.0%}"  # noqa: E731
    num = lambda v: "-" if v is None else f"{v:,.0f}"  # noqa: E731
    t.add_row("predictor", num(acc["median_abs_error_s"]), pct(acc["within_2x"]))
    t.add_row("tenant + GPUs history", num(acc["baseline_median_abs_error_s"]), pct(acc["baseline_within_2x"]))
    if acc["user_estimate_jobs"]:
        t.add_row(f"users' estimates ({acc['user_estimate_jobs']} jobs)", num(acc["user_estimate_median_abs_error_s"]), "")
    out.print(t)


def register(app: typer.Typer) -> None:
    app.command("submit")(submit)
    app.command("predictor")(predictor)
    app.command("jobs")(jobs)
    app.add_typer(job_app, name="job")
