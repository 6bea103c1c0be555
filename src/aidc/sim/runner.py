"""Glue for the CLI, the demo and the benchmarks: load a trace and a cluster, replay, summarize."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from aidc.core.errors import AidcError
from aidc.sim.cluster import ClusterModel, load_cluster
from aidc.sim.engine import SimConfig, SimResult, simulate
from aidc.sim.jobs import Trace
from aidc.sim.readers import read_trace

NO_ORACLE = {"psrtf", "gittins"}  # policies meant to run on predicted durations (--estimates auto)


@dataclass
class Scenario:
    """A trace window on a cluster; replay it under as many policies as you like."""

    trace: Trace
    cluster: ClusterModel
    base: SimConfig = field(default_factory=SimConfig)

    def run(self, policy: str, on_progress=None, **overrides) -> SimResult:  # noqa: ANN001
        cfg = SimConfig(**{**self.base.__dict__, "policy": policy, **overrides})
        if cfg.estimator == "auto":  # the no-oracle policy gets predictions; the peers' policies the truth
            cfg.estimator = "history" if policy in NO_ORACLE else "oracle"
        return simulate(self.trace, self.cluster, cfg, on_progress)


def parse_when(text: str | None, trace: Trace) -> float | None:
    """'2017-10-08', '2017-10-08 12:00:00' (needs a dated trace) or seconds from the trace start."""
    if text is None or text == "":
        return None
    try:
        return float(text)
    except ValueError:
        pass
    if trace.origin_epoch_s is None:
        raise AidcError(f"--from/--to {text!r}: this trace has no dates; give seconds from its start")
    try:
        when = dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc).timestamp()
    except ValueError:
        raise AidcError(f"--from/--to {text!r}: expected a date such as 2017-10-08 or a number of seconds") from None
    return when - trace.origin_epoch_s


def load_scenario(
    trace_path: str, fmt: str, cluster_path: str, *, scale_nodes: float = 1.0, start: str | None = None,
    end: str | None = None, isolate: bool | None = None, base: SimConfig | None = None, skip_bad_rows: bool = False,
) -> Scenario:
    trace = read_trace(trace_path, fmt, skip_bad_rows=skip_bad_rows)
    lo, hi = parse_when(start, trace), parse_when(end, trace)
    if lo is not None or hi is not None:
        trace = trace.window(lo, hi)
        if not trace.jobs:
            raise AidcError(f"no jobs submitted between {start or 'the start'} and {end or 'the end'}")
    cluster = load_cluster(cluster_path, scale_nodes=scale_nodes, isolate=isolate)
    return Scenario(trace, cluster, base or SimConfig())
