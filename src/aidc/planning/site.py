"""Site sizing: IT and facility power, racks at a kW limit, cooling, rail-optimized switches, storage for checkpoints.

Design note. Node power is the datasheet maximum when known, else core's rule (1.8 x GPU TDP, the
DGX ratio). Racks hold as many nodes as both the kW limit and the rack units allow. Cooling is air
up to core's AIR_COOLING_LIMIT_KW per rack, liquid above. Switch counts come from
`aidc.core.inventory.size_fabric` (one NIC per GPU, rail-optimized), so the planner and the
datacenter spec agree. A switch draws ~1.5 kW (64-port 400G, Spectrum-X / Quantum-2 datasheets).
A checkpoint holds 16-bit weights plus fp32 master weights and Adam moments: 14 bytes per
parameter; its write bandwidth is that size over the target write time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from aidc.core.datacenter import FabricSpec
from aidc.core.gpus import DEFAULT_CATALOG
from aidc.core.inventory import AIR_COOLING_LIMIT_KW, Datacenter, Node, estimate_node_max_kw, size_fabric
from aidc.core.datacenter import NodeTemplate
from aidc.planning.models import ModelArch
from aidc.planning.specs import SiteSpec, resolve_model

SWITCH_KW = 1.5
CHECKPOINT_BYTES_PER_PARAM = 14.0  # bf16 weights (2) + fp32 master (4) + Adam m, v (4 + 4)
DATASET_BYTES_PER_TOKEN = 4.0 + 4.0  # uint32 token ids + ~4 bytes of source text per token


@dataclass
class SiteReport:
    gpu: str
    n_gpus: int
    nodes: int
    node_max_kw: float
    it_kw: float
    facility_kw: float
    pue: float
    racks: int
    nodes_per_rack: int
    rack_kw: float
    cooling: str
    leaf_switches: int
    spine_switches: int
    core_switches: int
    fabric_tiers: int
    checkpoint_tib: float | None = None
    checkpoint_write_gbs: float | None = None
    storage_tib: float | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def _nodes_for_fabric(n_nodes: int, gpus_per_node: int, nic_gbps: float) -> list[Node]:
    return [Node(name=f"n{i}", rack="", room="", template="", gpu_model=None, gpus=gpus_per_node, cpu_cores=1,
                 ram_gib=1.0, nics=gpus_per_node, nic_gbps=nic_gbps, max_power_kw=0.0, gpu_tdp_kw=0.0, height_u=1,
                 slot_u=1, nvlink_domain=f"n{i}", nvlink_domain_gpus=gpus_per_node) for i in range(n_nodes)]


def checkpoint_tib(arch: ModelArch) -> float:
    return arch.total_params() * CHECKPOINT_BYTES_PER_PARAM / 2**40


def size_site(spec: SiteSpec) -> SiteReport:
    """Size a new site for spec.n_gpus GPUs."""
    gpu = DEFAULT_CATALOG.get(spec.gpu)
    nodes = math.ceil(spec.n_gpus / spec.gpus_per_node)
    node_kw = spec.node_max_kw or estimate_node_max_kw(NodeTemplate(gpu=gpu.name, gpus=spec.gpus_per_node), gpu.tdp_w)
    per_rack = max(1, min(math.floor(spec.rack_kw_limit / node_kw), spec.rack_units // spec.node_units))
    notes = []
    if node_kw > spec.rack_kw_limit:
        notes.append(f"one node draws {node_kw:.1f} kW, over the {spec.rack_kw_limit:g} kW rack limit: raise it (liquid)")
    racks = math.ceil(nodes / per_rack)
    fabric = size_fabric(FabricSpec(link_gbps=spec.nic_gbps, switch_radix=spec.switch_radix,
                                    oversubscription=spec.oversubscription),
                         _nodes_for_fabric(nodes, spec.gpus_per_node, spec.nic_gbps))
    switches = fabric.leaf_switches + fabric.spine_switches + fabric.core_switches
    it_kw = nodes * node_kw + switches * SWITCH_KW
    rack_kw = per_rack * node_kw
    report = SiteReport(gpu=gpu.name, n_gpus=spec.n_gpus, nodes=nodes, node_max_kw=node_kw, it_kw=it_kw,
                        facility_kw=it_kw * spec.pue, pue=spec.pue, racks=racks, nodes_per_rack=per_rack,
                        rack_kw=rack_kw, cooling=cooling_for(rack_kw), leaf_switches=fabric.leaf_switches,
                        spine_switches=fabric.spine_switches, core_switches=fabric.core_switches,
                        fabric_tiers=fabric.tiers, notes=notes)
    if spec.model is not None:
        _add_storage(report, resolve_model(spec.model), spec.training_tokens, spec.checkpoint_write_s, spec.checkpoints_kept)
    return report


def cooling_for(rack_kw: float) -> str:
    return "air" if rack_kw <= AIR_COOLING_LIMIT_KW else "liquid (direct-to-chip or rear-door)"


def _add_storage(report: SiteReport, arch: ModelArch, tokens: float | None, write_s: float, kept: int) -> None:
    ckpt = checkpoint_tib(arch)
    report.checkpoint_tib = ckpt
    report.checkpoint_write_gbs = ckpt * 2**40 / 1e9 / write_s
    dataset = (tokens or 0.0) * DATASET_BYTES_PER_TOKEN / 2**40
    report.storage_tib = ckpt * kept + dataset


def site_of(dc: Datacenter) -> SiteReport:
    """The same report read off a real datacenter spec (what it has, not what it needs)."""
    gpu_nodes = [n for n in dc.nodes if n.gpus > 0]
    models = dc.gpus_by_model()
    it_kw = sum(r.max_power_kw for r in dc.racks)
    switches = dc.fabric.leaf_switches + dc.fabric.spine_switches + dc.fabric.core_switches
    it_kw += switches * SWITCH_KW
    densest = max(dc.racks, key=lambda r: r.max_power_kw)
    cooling = sorted({r.cooling_type for r in dc.racks})
    notes = [f"{k}: {v} GPUs" for k, v in sorted(models.items())]
    notes += [f"storage {s.name}: {s.capacity_tib:g} TiB, write {s.write_gbs:g} GB/s" for s in dc.spec.storage]
    report = SiteReport(gpu=", ".join(sorted(models)) or "none", n_gpus=dc.total_gpus, nodes=len(gpu_nodes),
                        node_max_kw=max((n.max_power_kw for n in gpu_nodes), default=0.0), it_kw=it_kw,
                        facility_kw=it_kw * dc.spec.site.pue, pue=dc.spec.site.pue, racks=len(dc.racks),
                        nodes_per_rack=max((len(r.nodes) for r in dc.racks), default=0),
                        rack_kw=densest.max_power_kw, cooling=", ".join(cooling),
                        leaf_switches=dc.fabric.leaf_switches, spine_switches=dc.fabric.spine_switches,
                        core_switches=dc.fabric.core_switches, fabric_tiers=dc.fabric.tiers, notes=notes)
    report.storage_tib = sum(s.capacity_tib for s in dc.spec.storage) or None
    return report


def checkpoint_write_s(arch: ModelArch, dc: Datacenter) -> float | None:
    """Seconds to write one checkpoint at the datacenter's aggregate storage write bandwidth."""
    write_gbs = sum(s.write_gbs for s in dc.spec.storage if s.kind != "local-nvme")
    return None if write_gbs <= 0 else checkpoint_tib(arch) * 2**40 / 1e9 / write_gbs
