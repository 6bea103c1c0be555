"""What-if: replay this cluster's history (or a shipped example trace) under several policies or capacities.

Design note. The trace is the control plane's own export (`usage.export_trace`, finished GPU jobs,
cut to the caller's tenant for members) or an example under examples/traces; the cluster is an
imported datacenter rebuilt from its stored spec, scaled to a share of its nodes per scenario.
Each scenario is one `aidc.sim.engine.simulate` run (the same `aidc.scheduling` code the live loop
calls), summarised by `aidc.sim.metrics`; curves are sampled to at most CURVE_POINTS points so a
browser draws them at once.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from aidc.scheduling import POLICIES
from aidc.server.errors import BadRequest
from aidc.server.security import Principal
from aidc.server.services import datacenters, usage
from aidc.sim.cluster import load_cluster
from aidc.sim.engine import SimConfig, SimResult, simulate
from aidc.sim.jobs import Trace
from aidc.sim.metrics import series, summary
from aidc.sim.readers import read_aidc

EXAMPLE_TRACES = Path(__file__).resolve().parents[4] / "examples" / "traces"  # a source checkout's examples
CURVE_POINTS = 120
MAX_JOBS = 20_000  # a replay a request may wait for (about a second per policy on two cores)


def example_traces() -> dict[str, Path]:
    """Example name -> file, for the traces shipped in a source checkout (none in a bare wheel install)."""
    if not EXAMPLE_TRACES.is_dir():
        return {}
    return {p.name.split(".")[0]: p for p in sorted(EXAMPLE_TRACES.iterdir()) if p.suffix in (".csv", ".jsonl")}


def options(session: Session) -> dict[str, Any]:
    """What the form offers: sources, policies, datacenters."""
    return {"sources": ["history", *(f"example:{name}" for name in example_traces())],
            "policies": sorted(POLICIES), "datacenters": [d.name for d in datacenters.list_all(session)]}


def load_trace(session: Session, *, actor: Principal, source: str, tmp: Path) -> Trace:
    """The control plane's finished jobs ("history") or a shipped example ("example:NAME")."""
    if source == "history":
        text = usage.export_trace(session, actor=actor)
        if text.count("\n") < 2:
            raise BadRequest("source: no finished GPU jobs to replay yet; pick an example trace", field="source")
        path = tmp / "history.csv"
        path.write_text(text)
        return read_aidc(path)
    name = source.removeprefix("example:")
    found = example_traces().get(name)
    if not source.startswith("example:") or found is None:
        raise BadRequest(f"source: unknown trace {source!r} (use {', '.join(options(session)['sources'])})", field="source")
    return read_aidc(found)


def curves(res: SimResult, t0_s: float, t1_s: float) -> dict[str, list[float]]:
    """Busy GPUs and pending jobs over time, and the JCT distribution (CDF points)."""
    step = max((t1_s - t0_s) / (CURVE_POINTS - 1), 1.0)
    t, busy = series(res.busy_log, step, t0_s, t1_s)
    _, queue = series(res.queue_log, step, t0_s, t1_s)
    o = res.jobs
    jct = np.sort(o.end_s[o.done] - o.submit_s[o.done])
    idx = np.linspace(0, len(jct) - 1, min(len(jct), CURVE_POINTS)).astype(int) if len(jct) else np.array([], int)
    return {"t_h": [round((x - t0_s) / 3600, 4) for x in t], "gpus_busy": busy.round(3).tolist(),
            "queued_jobs": queue.round(3).tolist(), "jct_h": (jct[idx] / 3600).round(4).tolist(),
            "jct_cdf": ((idx + 1) / max(len(jct), 1)).round(4).tolist()}


def compare(session: Session, *, actor: Principal, source: str, scenarios: list[dict[str, Any]],
            datacenter: str | None = None) -> dict[str, Any]:
    """One replay per scenario ({policy, scale_nodes}), with summaries and curves on a common time axis."""
    for s in scenarios:
        if s["policy"] not in POLICIES:
            raise BadRequest(f"scenarios.policy: unknown policy {s['policy']!r} (use {', '.join(sorted(POLICIES))})",
                             field="scenarios")
    dcs = datacenters.list_all(session)
    row = datacenters.get(session, name=datacenter) if datacenter else (dcs[0] if dcs else None)
    if row is None:
        raise BadRequest("datacenter: none is imported yet", field="datacenter")
    with tempfile.TemporaryDirectory(prefix="aidc-whatif-") as tmp:
        trace = load_trace(session, actor=actor, source=source, tmp=Path(tmp))
        if len(trace.jobs) > MAX_JOBS:
            raise BadRequest(f"source: {len(trace.jobs)} jobs; a what-if from the dashboard replays at most {MAX_JOBS}",
                             field="source")
        spec_path = Path(tmp) / f"{row.name}.yaml"
        spec_path.write_text(json.dumps(row.spec))  # JSON is YAML
        results = [(s, simulate(trace, load_cluster(spec_path, scale_nodes=s["scale_nodes"], isolate=False),
                                SimConfig(policy=s["policy"]))) for s in scenarios]
    t0 = min(float(r.jobs.submit_s.min()) for _, r in results)
    t1 = max(float(np.nanmax(r.jobs.end_s)) if r.jobs.done.any() else t0 + 1 for _, r in results)
    return {"source": source, "datacenter": row.name, "jobs": len(trace.jobs),
            "scenarios": [{"label": f"{s['policy']} · {r.cluster_gpus} GPUs", **s,
                           "gpus": r.cluster_gpus, "summary": _clean(summary(r)), "never_started": len(r.never_started),
                           "curves": curves(r, t0, t1)} for s, r in results]}


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    """NaN is not JSON: None instead."""
    return {k: (None if isinstance(v, float) and v != v else v) for k, v in values.items()}
