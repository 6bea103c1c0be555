"""Does a plan fit a real inventory, and where: whole nodes of the right GPU, packed by leaf group and rack."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from aidc.core.inventory import Datacenter, Node


@dataclass
class Placement:
    """The answer to "does it fit, and where" for one job on one datacenter."""

    fits: bool
    gpu_model: str
    gpus_needed: int
    gpus_available: int
    nodes: list[str] = field(default_factory=list)
    racks: list[str] = field(default_factory=list)
    leaf_groups: int = 0
    message: str = ""

    def as_dict(self) -> dict[str, object]:
        return {"fits": self.fits, "gpu_model": self.gpu_model, "gpus_needed": self.gpus_needed,
                "gpus_available": self.gpus_available, "nodes": self.nodes, "racks": self.racks,
                "leaf_groups": self.leaf_groups, "message": self.message}


def candidate_nodes(dc: Datacenter, gpu_model: str, tenant: str | None = None) -> list[Node]:
    """Nodes with real GPUs of the model (and of the tenant, when given), in leaf-group then rack order."""
    nodes = [n for n in dc.nodes if n.gpu_model == gpu_model and n.gpus > 0 and not n.virtual_gpus]
    if tenant is not None:
        nodes = [n for n in nodes if n.tenant == tenant]
    return sorted(nodes, key=lambda n: (n.leaf_group, n.rack, n.slot_u))


def place(dc: Datacenter, gpu_model: str, n_gpus: int, tenant: str | None = None) -> Placement:
    """Whole nodes, fewest leaf groups first (rail-optimized traffic stays under one leaf per rail)."""
    nodes = candidate_nodes(dc, gpu_model, tenant)
    available = sum(n.gpus for n in nodes)
    who = f" of tenant {tenant}" if tenant else ""
    if not nodes:
        models = ", ".join(f"{k}: {v}" for k, v in sorted(dc.gpus_by_model().items())) or "none"
        return Placement(False, gpu_model, n_gpus, 0,
                         message=f"{dc.name} has no {gpu_model} nodes{who} (GPUs there: {models})")
    per_node = nodes[0].gpus
    need_nodes = math.ceil(n_gpus / per_node)
    if need_nodes > len(nodes):
        return Placement(False, gpu_model, n_gpus, available,
                         message=f"needs {n_gpus} {gpu_model} GPUs ({need_nodes} nodes); {dc.name} has {available}{who}")
    chosen = _pack_by_leaf_group(nodes, need_nodes)
    racks = sorted({n.rack for n in chosen})
    groups = len({n.leaf_group for n in chosen})
    return Placement(True, gpu_model, n_gpus, available, [n.name for n in chosen], racks, groups,
                     message=f"fits on {_n(need_nodes, 'node')} in {_n(len(racks), 'rack')} ({', '.join(racks[:6])}"
                             f"{', ...' if len(racks) > 6 else ''}), {_n(groups, 'leaf group')}")


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _pack_by_leaf_group(nodes: list[Node], count: int) -> list[Node]:
    """Fill the largest leaf groups first so a job spans as few leaves as possible."""
    groups: dict[int, list[Node]] = defaultdict(list)
    for n in nodes:
        groups[n.leaf_group].append(n)
    chosen: list[Node] = []
    for _, members in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        chosen.extend(members[: count - len(chosen)])
        if len(chosen) == count:
            break
    return chosen
