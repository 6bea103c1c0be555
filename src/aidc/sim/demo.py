"""`aidc demo` step: replay two days of Philly at x4 load under several policies and print the comparison."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
SLICE = REPO / "examples" / "traces" / "philly-2017-10-03.csv"  # 2,641 jobs, 2017-10-03..04, aidc format
SITE = REPO / "examples" / "datacenters" / "philly.yaml"


def compare_philly_slice(console, policies: tuple[str, ...] = ("fifo", "srtf"), plot: str | None = None) -> dict:  # noqa: ANN001
    """Replay the shipped Philly slice on the Philly site (VCs isolated, 1/4 of the nodes) and print a table.

    Takes about a second per policy. With tiresias and srtf among them, a column gives each policy's
    share of the gap between the two (aidc.sim.gap). Returns the summaries by policy; writes a PNG if
    `plot` is a path.
    """
    from aidc.sim.bounds import jct_lower_bound
    from aidc.sim.engine import SimConfig
    from aidc.sim.gap import oracle_gap_report
    from aidc.sim.metrics import summary
    from aidc.sim.report import plot as draw
    from aidc.sim.report import table
    from aidc.sim.runner import load_scenario

    sc = load_scenario(str(SLICE), "aidc", str(SITE), scale_nodes=0.25, isolate=True,
                       base=SimConfig(restart_overhead="lucid", estimator="auto"))  # no-oracle policies learn run times
    results = {p: sc.run(p) for p in policies}
    rows = {p: summary(r) for p, r in results.items()}
    gap = oracle_gap_report(rows)
    console.print(table(rows, title=f"Philly 2017-10-03..04: {len(sc.trace):,} jobs on {sc.cluster.gpus} GPUs (x4 load)",
                        bound=jct_lower_bound(sc.trace, sc.cluster), shares=gap.get("shares")))
    if plot:
        draw(results, plot, title="Philly slice, x4 load")
    return rows
