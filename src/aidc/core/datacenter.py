"""The datacenter spec as typed, validated config: site -> rooms -> racks -> nodes, fabric, power, storage.

These pydantic models are the YAML schema (`extra="forbid"`, so a typo'd key is an error naming the
field). Templates and counts keep big sites short: a node template describes a server once, a rack
template a rack once, and a rack group stamps out `count` racks. `aidc.core.inventory` expands a
spec into concrete racks and nodes and runs the cross-field checks (power, cooling, space, NVLink).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, NonNegativeInt, PositiveFloat, PositiveInt

from aidc.core.gpus import GpuModel
from aidc.core.strict import StrictModel
from aidc.core.tenancy import TenantSandbox

__all__ = ["StrictModel"]  # re-exported: specs elsewhere import it from here


# Bounds from physics, generous: the largest servers carry 16 GPUs (72 in an NVL72 tray set), a rack is
# at most ~60U, and no site has 10,000 racks in one row group.
MAX_GPUS_PER_NODE = 128
MAX_RACK_U = 64
MAX_NODES_PER_RACK = 256
MAX_RACKS_PER_GROUP = 10_000


class NicSpec(StrictModel):
    count: NonNegativeInt = Field(description="scale-out NICs per node (rail-optimized: one per GPU)")
    speed_gbps: PositiveFloat = Field(default=400, description="per NIC, Gbit/s")


class NodeTemplate(StrictModel):
    """One server model. `max_power_kw` defaults to an estimate from the GPUs' TDP (see inventory)."""

    gpu: str | None = Field(default=None, description="GPU model name from the catalog; None = CPU-only")
    gpus: NonNegativeInt = Field(default=8, le=MAX_GPUS_PER_NODE, description="GPUs per node")
    cpu_cores: PositiveInt = Field(default=64, le=4096)
    ram_gib: PositiveFloat = Field(default=512, le=1_048_576)
    local_nvme_tib: float = Field(default=0, ge=0)
    nics: NicSpec | None = Field(default=None, description="default: one 400 Gbit/s NIC per GPU")
    nvlink_domain_gpus: PositiveInt | None = Field(
        default=None, description="GPUs in one scale-up (NVLink) domain; default: the node's GPUs"
    )
    height_u: PositiveInt = Field(default=4, le=MAX_RACK_U, description="rack units the node occupies")
    max_power_kw: PositiveFloat | None = Field(default=None, description="node maximum draw, kW")
    virtual_gpus: bool = Field(default=False, description="GPUs are declared, not real (CPU-only hosts)")


class CoolingSpec(StrictModel):
    type: Literal["air", "liquid", "rear-door", "immersion"] = "air"
    capacity_kw: PositiveFloat | None = Field(default=None, description="heat removal, kW; default: the power budget")


class RackNodes(StrictModel):
    """`count` nodes of one template in a rack, optionally owned by a tenant (virtual cluster)."""

    template: str
    count: PositiveInt = Field(default=1, le=MAX_NODES_PER_RACK)
    tenant: str | None = None
    name: str | None = Field(default=None, min_length=1, max_length=128,
                             description="the node's own name (a Slurm or Ray node); only with count 1")


class RackTemplate(StrictModel):
    height_u: PositiveInt = Field(default=42, le=MAX_RACK_U)
    power_budget_kw: PositiveFloat | None = None
    cooling: CoolingSpec | None = None
    nodes: list[RackNodes] | None = None


class RackGroup(StrictModel):
    """One rack (`count: 1`) or `count` identical racks named `{name}-01` .. `{name}-NN`.

    Fields left out come from `template`; fields given here override it.
    """

    name: str = Field(min_length=1, max_length=128)
    count: PositiveInt = Field(default=1, le=MAX_RACKS_PER_GROUP)
    template: str | None = None
    row: str | None = Field(default=None, description="row label; default: filled in order, racks_per_row per row")
    height_u: PositiveInt | None = None
    power_budget_kw: PositiveFloat | None = None
    cooling: CoolingSpec | None = None
    nodes: list[RackNodes] | None = None
    tenant: str | None = Field(default=None, description="owner of every node in these racks unless a node entry says")
    feeds: list[str] = Field(default_factory=list, description="power feeds supplying these racks")


class RoomSpec(StrictModel):
    name: str = Field(min_length=1)
    racks_per_row: PositiveInt = Field(default=16, le=1000)
    racks: list[RackGroup] = Field(min_length=1)


class SiteSpec(StrictModel):
    name: str = Field(min_length=1)
    location: str = ""
    pue: float = Field(default=1.3, ge=1.0, le=3.0, description="facility power / IT power")
    electricity_usd_per_kwh: float = Field(default=0.08, ge=0)
    rooms: list[RoomSpec] = Field(min_length=1)


class FabricSpec(StrictModel):
    """Scale-out network. Switch counts are derived from endpoints, radix and oversubscription unless given."""

    topology: Literal["rail-optimized", "leaf-spine", "fat-tree"] = "rail-optimized"
    link_gbps: PositiveFloat = 400
    switch_radix: PositiveInt = Field(default=64, ge=4, description="ports per switch")
    oversubscription: float = Field(default=1.0, ge=1.0, description="leaf downlink:uplink bandwidth ratio")
    leaf_switches: PositiveInt | None = None
    spine_switches: PositiveInt | None = None


class NetworkSpec(StrictModel):
    scale_out: FabricSpec = Field(default_factory=FabricSpec)
    frontend_gbps: PositiveFloat = Field(default=100, description="per-node front-end (storage, management) Gbit/s")


class PowerFeedSpec(StrictModel):
    name: str = Field(min_length=1)
    capacity_kw: PositiveFloat = Field(description="capacity of one path, kW")
    redundancy: Literal["N", "N+1", "2N"] = "2N"
    paths: PositiveInt | None = Field(default=None, description="default: 1 for N, 2 for N+1 and 2N")


class StorageSpec(StrictModel):
    name: str = Field(min_length=1)
    kind: Literal["parallel-fs", "object", "nfs", "local-nvme"] = "parallel-fs"
    capacity_tib: PositiveFloat
    read_gbs: PositiveFloat = Field(description="aggregate read, GB/s")
    write_gbs: PositiveFloat = Field(description="aggregate write, GB/s")


class TenantSpec(TenantSandbox):
    name: str = Field(min_length=1)
    description: str = ""
    gpu_quota: dict[str, NonNegativeInt] = Field(default_factory=dict, description="GPU model -> GPUs")


class DatacenterSpec(StrictModel):
    """The whole YAML document."""

    name: str = Field(min_length=1)
    description: str = ""
    site: SiteSpec
    gpu_models: list[GpuModel] = Field(default_factory=list, description="catalog additions and overrides")
    node_templates: dict[str, NodeTemplate] = Field(min_length=1)
    rack_templates: dict[str, RackTemplate] = Field(default_factory=dict)
    network: NetworkSpec = Field(default_factory=NetworkSpec)
    power_feeds: list[PowerFeedSpec] = Field(default_factory=list)
    storage: list[StorageSpec] = Field(default_factory=list)
    tenants: list[TenantSpec] = Field(default_factory=list)
