"""The simulated cluster: nodes grouped in partitions, from a datacenter spec, a VC table or a PAI node list.

A partition is a set of nodes scheduled on its own. With a VC table (Philly) every VC is an isolated
partition that only its own jobs use (the published simulators' semantics); a datacenter spec is one
shared partition unless `isolate=True`, which makes each tenant's nodes a partition. `scale_nodes`
keeps floor(count * scale) nodes of every partition (0.25 on Philly = the "x4 load" of the peers).
"""

from __future__ import annotations

import csv
import functools
import math
from dataclasses import dataclass, field
from pathlib import Path

from aidc.core.errors import AidcError
from aidc.scheduling import NodeState, Quota

P40_KW = 0.25  # TDP of the stand-in GPU when a VC table says nothing about power


@dataclass
class Partition:
    name: str | None  # the tenant that owns it; None = shared by all tenants
    nodes: list[NodeState]

    @property
    def gpus(self) -> int:
        return sum(n.gpus for n in self.nodes)


@dataclass
class ClusterModel:
    partitions: list[Partition]
    isolated: bool
    source: str = ""
    gpu_idle_kw: float = 0.05  # per GPU, for energy
    power_budgets_kw: tuple[tuple[str, float], ...] = ()
    quotas: tuple[Quota, ...] = ()  # tenants' GPU quotas (fair-share policy)
    reference: bool = False  # a VC table: replay with the peer simulators' semantics (see sim.engine)
    notes: list[str] = field(default_factory=list)

    @property
    def gpus(self) -> int:
        return sum(p.gpus for p in self.partitions)

    @property
    def nodes(self) -> list[NodeState]:
        return [n for p in self.partitions for n in p.nodes]

    def partition_of(self, tenant: str | None) -> int | None:
        """Index of the partition a tenant's jobs run in: the shared one, or the tenant's own when
        isolated (None: the tenant has none, so its jobs never run)."""
        return self._tenant_index.get(tenant) if self.isolated else 0

    @functools.cached_property
    def _tenant_index(self) -> dict[str | None, int]:
        return {p.name: i for i, p in enumerate(self.partitions)}


def load_cluster(path: str | Path, *, scale_nodes: float = 1.0, isolate: bool | None = None) -> ClusterModel:
    """A cluster from a datacenter YAML, a VC table (`vc,node num`) or a PAI node list (`sn,...,gpu,model`)."""
    path = Path(path)
    if scale_nodes <= 0:
        raise AidcError(f"--scale-nodes must be > 0, got {scale_nodes}")
    if path.suffix in (".yaml", ".yml"):
        return _from_spec(path, scale_nodes, bool(isolate))
    if not path.exists():
        raise FileNotFoundError(2, "no such file", str(path))
    import gzip

    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    header = set(rows[0]) if rows else set()
    if {"vc", "node num"} <= header:
        return vc_table(((r["vc"], int(r["node num"])) for r in rows), scale_nodes, str(path), isolate is not False)
    if {"sn", "gpu", "model"} <= header:
        return _from_pai(rows, scale_nodes, str(path))
    raise AidcError(f"{path}: not a datacenter spec (.yaml), a VC table (columns vc,node num) or a PAI node list (sn,gpu,model)")


def _scaled(count: int, scale: float) -> int:
    return max(1, math.floor(count * scale + 1e-9)) if count else 0


def vc_table(vcs, scale_nodes: float = 1.0, source: str = "", isolate: bool = True, gpus_per_node: int = 8) -> ClusterModel:
    """Philly-style VCs: every node has `gpus_per_node` GPUs; each VC an isolated partition."""
    parts = []
    for vc, count in vcs:
        nodes = [
            NodeState(f"{vc}-n{i:03d}", gpus_per_node, gpus_per_node, "P40", vc, f"{vc}-n{i:03d}", i // 8, f"{vc}-r{i // 8}",
                      "utility", P40_KW)
            for i in range(_scaled(count, scale_nodes))
        ]
        parts.append(Partition(vc, nodes))
    if not isolate:
        parts = [Partition(None, [n for p in parts for n in p.nodes])]
    return ClusterModel(parts, isolate, source, reference=True)


def _from_spec(path: Path, scale: float, isolate: bool) -> ClusterModel:
    from collections import defaultdict

    from aidc.core.loader import load_datacenter

    dc = load_datacenter(path)
    feeds = {r.name: (r.feeds[0] if r.feeds else "") for r in dc.racks}
    groups: dict[str | None, list] = defaultdict(list)
    for n in dc.nodes:
        if n.gpus > 0:
            groups[n.tenant if isolate else None].append(n)
    parts = []
    for tenant, ns in groups.items():
        keep = ns[: _scaled(len(ns), scale)]
        parts.append(Partition(tenant, [
            NodeState(n.name, n.gpus, n.gpus, n.gpu_model, tenant, n.nvlink_domain, n.leaf_group, n.rack,
                      feeds.get(n.rack, ""), n.max_power_kw / max(n.gpus, 1))
            for n in keep
        ]))
    budgets = tuple((r.name, r.power_budget_kw) for r in dc.racks) + tuple(
        (f.name, f.capacity_kw) for f in dc.spec.power_feeds)
    quotas = tuple(Quota(t.name, math.floor(sum(t.gpu_quota.values()) * scale + 1e-9)) for t in dc.spec.tenants if t.gpu_quota)
    return ClusterModel(parts, isolate, str(path), power_budgets_kw=budgets, quotas=quotas)


def parse_quota(text: str) -> Quota:
    """'TENANT=GPUS' or 'TENANT=GPUS:MAX' (MAX caps borrowing)."""
    try:
        tenant, rest = text.split("=", 1)
        gpus, _, cap = rest.partition(":")
        return Quota(tenant, int(gpus), int(cap) if cap else None)
    except ValueError:
        raise AidcError(f"--quota {text!r}: expected TENANT=GPUS or TENANT=GPUS:MAX, e.g. teamB=64:128") from None


def _from_pai(rows: list[dict[str, str]], scale: float, source: str) -> ClusterModel:
    gpu_rows = [r for r in rows if int(r["gpu"] or 0) > 0]
    keep = gpu_rows[: _scaled(len(gpu_rows), scale)]
    nodes = [NodeState(r["sn"], int(r["gpu"]), int(r["gpu"]), r["model"] or None, None, r["sn"], i // 32, f"r{i // 16}")
             for i, r in enumerate(keep)]
    return ClusterModel([Partition(None, nodes)], False, source)
