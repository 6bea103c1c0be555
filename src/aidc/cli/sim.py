"""`aidc sim`: replay a job trace through the scheduler (the digital twin) and compare policies."""

from __future__ import annotations

from typing import Optional

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False)


def _reports(func):  # noqa: ANN001, ANN202
    """`reports_errors` imported lazily: bad input -> a message and exit 2, never a traceback."""
    import functools

    @functools.wraps(func)
    def wrapper(**kw):  # noqa: ANN003, ANN202
        from aidc.cli.common import reports_errors

        return reports_errors(func)(**kw)

    return wrapper


TRACE = typer.Option(..., "--trace", help="Job trace file (.csv, .csv.gz, .jsonl).")
FORMAT = typer.Option("auto", "--format", help="philly | pai2023 | aidc | auto (from the file's header)")
CLUSTER = typer.Option(..., "--cluster", help="Datacenter spec (.yaml), VC table (vc,node num) or PAI node list.")
SCALE = typer.Option(1.0, "--scale-nodes", help="Keep this fraction of every partition's nodes (0.25 = 'x4 load').")
PLACEMENT = typer.Option("consolidate", "--placement", help="consolidate | topology | power | fgd (fragmentation-aware, for fractional GPUs)")
SKIP_BAD = typer.Option(False, "--skip-bad-rows", help="Leave out trace rows that cannot be used (counted and "
                        "reported) instead of stopping at the first.")
START = typer.Option(None, "--from", help="Only jobs submitted from this date or second of the trace.")
END = typer.Option(None, "--to", help="... and before this one (e.g. --from 2017-10-01 --to 2017-10-08).")
OVERHEAD = typer.Option("helios", "--restart-overhead", help="After a preemption: helios (7/30/60 s), lucid (40/60 s), none, or seconds.")
ESTIMATES = typer.Option("auto", "--estimates", help="Durations the scheduler is told: oracle (true), history ((tenant, GPUs) history), predictor (the control plane's run-time model, trained online), auto (history for psrtf and gittins, else oracle).")
ISOLATE = typer.Option(None, "--isolate/--shared", help="Tenants' nodes as isolated partitions (default: yes for a VC table, no for a spec).")
MTBF = typer.Option(0.0, "--mtbf-h", help="Node mean time between failures, hours (0 = no failures).")
MTTR = typer.Option(4.0, "--mttr-h", help="Node mean time to repair, hours.")
CKPT = typer.Option(1800.0, "--checkpoint-s", help="Checkpoint interval: a failed job loses the work since its last one.")
QUOTA = typer.Option(None, "--quota", help="TENANT=GPUS[:MAX] for the fairshare policy (repeatable; adds to the spec's).")
MAINT = typer.Option(None, "--maintenance", help="START_H:END_H:FRACTION: that fraction of nodes is drained in that window (hours).")
JSON = typer.Option(False, "--json", help="Print JSON instead of a table.")
PLOT = typer.Option(None, "--plot", help="Write a PNG: JCT CDF, utilization and queue over time.")
PROGRESS = typer.Option(None, "--progress/--no-progress", help="Progress bar on stderr (default: on a terminal, for long replays).")


def _overhead(text: str) -> str | float:
    from aidc.core.errors import AidcError
    from aidc.sim.engine import OVERHEADS_S

    if text in OVERHEADS_S:
        return text
    try:
        return float(text)
    except ValueError:
        raise AidcError(f"--restart-overhead {text!r}: expected {', '.join(OVERHEADS_S)} or seconds") from None


def _scenario(trace, fmt, cluster, scale, start, end, isolate, overhead, estimates, placement, mtbf_h, mttr_h, ckpt_s, maint,
              quotas=None, skip_bad_rows=False):  # noqa: ANN001
    from aidc.sim.engine import SimConfig
    from aidc.sim.failures import FailureModel, parse_maintenance
    from aidc.sim.runner import load_scenario

    failures = FailureModel(mtbf_s=mtbf_h * 3600, mttr_s=mttr_h * 3600) if mtbf_h > 0 else None
    base = SimConfig(placement=placement, restart_overhead=_overhead(overhead), estimator=estimates,
                     checkpoint_interval_s=ckpt_s, failures=failures,
                     maintenance=tuple(parse_maintenance(m) for m in (maint or [])))
    sc = load_scenario(trace, fmt, cluster, scale_nodes=scale, start=start, end=end, isolate=isolate, base=base,
                       skip_bad_rows=skip_bad_rows)
    if quotas:
        from aidc.sim.cluster import parse_quota

        extra = {q.tenant: q for q in map(parse_quota, quotas)}
        sc.cluster.quotas = tuple(q for q in sc.cluster.quotas if q.tenant not in extra) + tuple(extra.values())
    return sc


def _say_skipped(con, skipped: list[str]) -> None:  # noqa: ANN001
    if skipped:
        con.print(f"[yellow]{len(skipped)} bad trace row(s) skipped[/], e.g. {skipped[0]}", markup=True, highlight=False)


class _Progress:
    """A rich progress bar on stderr, or nothing."""

    def __init__(self, enabled: bool, label: str) -> None:
        self.bar = None
        if enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            from aidc.cli.common import console

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                console=console(stderr=True), transient=True)
            self.task = self.bar.add_task(label, total=None)

    def __enter__(self) -> "_Progress":
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def update(self, done: int, total: int) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=done, total=total)

    def callback(self):  # noqa: ANN201
        return self.update if self.bar is not None else None


def _show_progress(flag: Optional[bool], jobs: int) -> bool:
    import sys

    return flag if flag is not None else (sys.stderr.isatty() and jobs >= 20_000)


@app.command("run")
def run(
    trace: str = TRACE, fmt: str = FORMAT, cluster: str = CLUSTER, scale_nodes: float = SCALE,
    policy: str = typer.Option("fifo", "--policy", help="See `aidc sim policies`."),
    placement: str = PLACEMENT, start: Optional[str] = START, end: Optional[str] = END,
    restart_overhead: str = OVERHEAD, estimates: str = ESTIMATES, isolate: Optional[bool] = ISOLATE,
    mtbf_h: float = MTBF, mttr_h: float = MTTR, checkpoint_s: float = CKPT, maintenance: Optional[list[str]] = MAINT,
    quota: Optional[list[str]] = QUOTA, skip_bad_rows: bool = SKIP_BAD,
    as_json: bool = JSON, jobs_out: Optional[str] = typer.Option(None, "--jobs-out", help="Write per-job results as CSV."),
    plot: Optional[str] = PLOT, progress: Optional[bool] = PROGRESS,
    details: bool = typer.Option(False, "--details", help="Also goodput, fragmentation, energy and per-tenant figures."),
) -> None:
    """Replay a trace under one policy and print JCT, queueing, utilization and preemptions."""
    _run(**locals())


@_reports
def _run(**o) -> None:  # noqa: ANN003
    from aidc.cli.common import console, print_json
    from aidc.sim.bounds import jct_lower_bound
    from aidc.sim.metrics import details, summary
    from aidc.sim.report import plot, table, write_jobs_csv

    sc = _scenario(o["trace"], o["fmt"], o["cluster"], o["scale_nodes"], o["start"], o["end"], o["isolate"],
                   o["restart_overhead"], o["estimates"], o["placement"], o["mtbf_h"], o["mttr_h"], o["checkpoint_s"], o["maintenance"], o["quota"],
                   skip_bad_rows=o["skip_bad_rows"])
    with _Progress(_show_progress(o["progress"], len(sc.trace)), f"replaying {len(sc.trace):,} jobs") as bar:
        res = sc.run(o["policy"], on_progress=bar.callback())
    out = summary(res)
    if sc.trace.skipped:
        out["skipped_rows"] = len(sc.trace.skipped)
    bound = None if o["as_json"] and not o["details"] else jct_lower_bound(sc.trace, sc.cluster)  # shown or returned
    if o["details"]:
        out["details"] = {**details(res), "jct_lower_bound": bound.as_dict()}
    if o["jobs_out"]:
        write_jobs_csv(res, o["jobs_out"])
    if o["plot"]:
        plot({o["policy"]: res}, o["plot"], title=f"{sc.trace.source} on {sc.cluster.source}")
    if o["as_json"]:
        print_json(out)
        return
    con = console()
    con.print(table({o["policy"]: out}, title=f"{len(sc.trace):,} jobs on {sc.cluster.gpus:,} GPUs", bound=bound))
    if res.never_started:
        con.print(f"[yellow]{len(res.never_started)} job(s) never started[/], e.g. job {res.never_started[0][0]}: {res.never_started[0][1]}")
    _say_skipped(con, sc.trace.skipped)
    if o["details"]:
        con.print_json(data=out["details"])


@app.command("compare")
def compare(
    trace: str = TRACE, fmt: str = FORMAT, cluster: str = CLUSTER, scale_nodes: float = SCALE,
    policies: str = typer.Option("fifo,sjf,srtf,tiresias", "--policies", help="Comma-separated policy names."),
    placement: str = PLACEMENT, start: Optional[str] = START, end: Optional[str] = END,
    restart_overhead: str = OVERHEAD, estimates: str = ESTIMATES, isolate: Optional[bool] = ISOLATE,
    mtbf_h: float = MTBF, mttr_h: float = MTTR, checkpoint_s: float = CKPT, maintenance: Optional[list[str]] = MAINT,
    quota: Optional[list[str]] = QUOTA, skip_bad_rows: bool = SKIP_BAD,
    as_json: bool = JSON, plot: Optional[str] = PLOT, progress: Optional[bool] = PROGRESS,
    bound: bool = typer.Option(False, "--bound", help="With --json: add `_lower_bound`, the average JCT no policy can beat."),
    oracle_gap: bool = typer.Option(False, "--oracle-gap", help="Add tiresias and srtf (on true durations) if missing, and "
                                    "report each policy's share of the gap between them (`_oracle_gap` in --json)."),
) -> None:
    """Replay one trace under several policies: one table, and JCT CDFs and utilization/queue curves.

    With tiresias and srtf among the policies (or --oracle-gap), a "gap share" column says how much of
    what perfect knowledge of run times gains over Tiresias each policy captures (1 = all, 0 = none)."""
    _compare(**locals())


@_reports
def _compare(**o) -> None:  # noqa: ANN003
    from aidc.cli.common import console, print_json
    from aidc.core.errors import AidcError
    from aidc.scheduling import get_policy
    from aidc.sim.bounds import jct_lower_bound
    from aidc.sim.gap import BASELINE, ORACLE, oracle_gap_report
    from aidc.sim.metrics import summary
    from aidc.sim.report import plot, table

    names = [p.strip() for p in o["policies"].split(",") if p.strip()]
    if not names:
        raise AidcError("--policies: give at least one policy name")
    if o["oracle_gap"]:
        names += [n for n in (BASELINE, ORACLE) if n not in names]
    for n in names:
        get_policy(n)  # unknown names fail before any replay
    sc = _scenario(o["trace"], o["fmt"], o["cluster"], o["scale_nodes"], o["start"], o["end"], o["isolate"],
                   o["restart_overhead"], o["estimates"], o["placement"], o["mtbf_h"], o["mttr_h"], o["checkpoint_s"], o["maintenance"], o["quota"],
                   skip_bad_rows=o["skip_bad_rows"])
    results = {}
    with _Progress(_show_progress(o["progress"], len(sc.trace) * len(names)), "replaying") as bar:
        for n in names:
            # the oracle reference runs on true durations whatever --estimates says
            over = {"estimator": "oracle"} if n == ORACLE and BASELINE in names else {}
            results[n] = sc.run(n, on_progress=bar.callback(), **over)
    rows = {n: summary(r) for n, r in results.items()}
    lower = jct_lower_bound(sc.trace, sc.cluster)
    gap = oracle_gap_report(rows, lower.avg_jct_s if lower.jobs else None)
    if o["plot"]:
        plot(results, o["plot"], title=f"{len(sc.trace):,} jobs on {sc.cluster.gpus:,} GPUs")
    if o["as_json"]:
        extra = {"_skipped_rows": len(sc.trace.skipped)} if sc.trace.skipped else {}
        if o["bound"]:
            extra["_lower_bound"] = lower.as_dict()
        if gap:
            extra["_oracle_gap"] = gap
        print_json({**rows, **extra})
        return
    con = console()
    con.print(table(rows, title=f"{len(sc.trace):,} jobs on {sc.cluster.gpus:,} GPUs ({sc.cluster.source})",
                    bound=lower, shares=gap.get("shares") if gap else None))
    _say_skipped(con, sc.trace.skipped)


def _summary(policy: object) -> str:
    return getattr(policy, "summary", "") or (type(policy).__doc__ or "").strip().splitlines()[0]


@app.command("policies")
def policies(as_json: bool = JSON) -> None:
    """List the scheduling policies and placements by name."""
    from aidc.cli.common import console, print_json
    from aidc.scheduling import get_policy, list_policies
    from aidc.scheduling.placement import PLACERS, _load_plugins

    _load_plugins()
    rows = {n: _summary(get_policy(n)) for n in list_policies()}
    if as_json:
        print_json({"policies": rows, "placements": sorted(PLACERS)})
        return
    con = console()
    for n, doc in rows.items():
        con.print(f"[bold]{n:10}[/] {doc}")
    con.print(f"placements: {', '.join(sorted(PLACERS))}")


