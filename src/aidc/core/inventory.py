"""Expand a DatacenterSpec into concrete racks and nodes, and check what no single field can.

Design note. Validation happens in two passes so that every problem is reported at once: pydantic
checks types and unknown keys field by field (spec_io), then `build_inventory` walks the expanded
site and collects cross-field issues (unknown names, power and cooling budgets, rack space, NVLink
domains, power feeds, duplicates) as `SpecIssue`s with the spec path of the offending entry. Nothing
is raised until the walk is complete. Derived numbers (node power estimate, leaf groups) follow the
documented rules below so the planner, scheduler and simulator all see the same site.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from aidc.core.datacenter import DatacenterSpec, FabricSpec, NodeTemplate, PowerFeedSpec, RackGroup, RackTemplate
from aidc.core.errors import SpecIssue, did_you_mean
from aidc.core.gpus import DEFAULT_CATALOG, GpuCatalog

# Node max draw per watt of GPU TDP when a template gives no max_power_kw: DGX H100 10.2 kW / 5.6 kW
# of GPU TDP = 1.82, DGX B200 14.3 / 8.0 = 1.79, DGX A100 6.5 / 3.2 = 2.03 (cases-dev power_anchors).
NODE_MAX_PER_GPU_TDP = 1.8
CPU_NODE_MAX_KW = 0.8  # a dual-socket CPU server at full load
AIR_COOLING_LIMIT_KW = 40.0  # above this per rack, air cooling is impractical: use liquid


@dataclass
class Node:
    name: str
    rack: str
    room: str
    template: str
    gpu_model: str | None  # canonical catalog name
    gpus: int
    cpu_cores: int
    ram_gib: float
    nics: int
    nic_gbps: float
    max_power_kw: float
    gpu_tdp_kw: float  # all GPUs of the node at TDP
    height_u: int
    slot_u: int  # lowest rack unit the node occupies (1-based)
    nvlink_domain: str  # nodes with the same id share one scale-up domain
    nvlink_domain_gpus: int
    leaf_group: int = 0  # nodes in the same group reach each other through one leaf switch (per rail)
    tenant: str | None = None
    virtual_gpus: bool = False


@dataclass
class Rack:
    name: str
    room: str
    row: str
    position: int  # 0-based position within its row
    height_u: int
    power_budget_kw: float
    cooling_type: str
    cooling_kw: float
    feeds: list[str]
    nodes: list[Node] = field(default_factory=list)
    spec_path: str = ""

    @property
    def max_power_kw(self) -> float:
        return sum(n.max_power_kw for n in self.nodes)

    @property
    def gpus(self) -> int:
        return sum(n.gpus for n in self.nodes)

    @property
    def used_u(self) -> int:
        return sum(n.height_u for n in self.nodes)


@dataclass
class FabricSize:
    topology: str
    endpoints: int  # scale-out NIC ports
    link_gbps: float
    leaf_switches: int
    spine_switches: int
    core_switches: int
    tiers: int
    nodes_per_leaf_group: int
    bisection_tbps: float


@dataclass
class Datacenter:
    """A validated, expanded site: what every other subsystem reads."""

    spec: DatacenterSpec
    catalog: GpuCatalog
    racks: list[Rack]
    nodes: list[Node]
    fabric: FabricSize
    warnings: list[SpecIssue] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def total_gpus(self) -> int:
        return sum(n.gpus for n in self.nodes)

    def gpus_by_model(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for n in self.nodes:
            if n.gpu_model and n.gpus:
                counts[n.gpu_model] += n.gpus
        return dict(counts)

    def nodes_by_tenant(self) -> dict[str | None, list[Node]]:
        groups: dict[str | None, list[Node]] = defaultdict(list)
        for n in self.nodes:
            groups[n.tenant].append(n)
        return dict(groups)


MAX_NODES = 200_000  # nodes in one spec: ten times the largest GPU sites of 2026


def estimate_node_max_kw(template: NodeTemplate, gpu_tdp_w: float) -> float:
    """The template's max_power_kw, else NODE_MAX_PER_GPU_TDP x GPU TDP (CPU-only: CPU_NODE_MAX_KW)."""
    if template.max_power_kw is not None:
        return template.max_power_kw
    if template.gpus == 0 or template.virtual_gpus:
        return CPU_NODE_MAX_KW
    return max(CPU_NODE_MAX_KW, NODE_MAX_PER_GPU_TDP * template.gpus * gpu_tdp_w / 1000.0)


def feed_usable_kw(feed: PowerFeedSpec) -> float:
    """IT power a feed can carry with its redundancy intact."""
    paths = feed.paths or (1 if feed.redundancy == "N" else 2)
    if feed.redundancy == "N":
        return feed.capacity_kw * paths
    if feed.redundancy == "N+1":
        return feed.capacity_kw * max(paths - 1, 1)
    return feed.capacity_kw * paths / 2


class _Builder:
    """Accumulates racks, nodes and issues while walking the spec once."""

    def __init__(self, spec: DatacenterSpec, catalog: GpuCatalog) -> None:
        self.spec = spec
        self.catalog = catalog
        self.issues: list[SpecIssue] = []
        self.racks: list[Rack] = []
        self.nodes: list[Node] = []
        self.tenants = {t.name for t in spec.tenants}
        self.feeds = {f.name for f in spec.power_feeds}
        self.node_paths: dict[str, str] = {}  # node name -> where it was declared (names must be unique)

    def error(self, path: str, message: str) -> None:
        issue = SpecIssue(path=path, message=message)
        if issue not in self.issues:  # racks stamped from one template repeat the same mistake
            self.issues.append(issue)

    def warn(self, path: str, message: str) -> None:
        self.issues.append(SpecIssue(path=path, message=message, severity="warning"))

    # -- names -------------------------------------------------------------------------------
    def check_catalog_and_templates(self) -> None:
        for name, tmpl in self.spec.node_templates.items():
            path = f"node_templates.{name}"
            if tmpl.gpu is None and tmpl.gpus > 0:
                self.error(f"{path}.gpu", f"the node has {tmpl.gpus} GPUs but no GPU model: set gpu (or gpus: 0)")
            elif tmpl.gpu is not None and tmpl.gpu not in self.catalog:
                self.error(f"{path}.gpu", f"unknown GPU model {tmpl.gpu!r}{did_you_mean(tmpl.gpu, self.catalog.names())}")
            dom = tmpl.nvlink_domain_gpus
            if dom is not None and tmpl.gpus and dom < tmpl.gpus and tmpl.gpus % dom:
                self.error(f"{path}.nvlink_domain_gpus", f"{tmpl.gpus} GPUs per node do not split into NVLink domains of {dom}")
            if dom is not None and dom > tmpl.gpus and tmpl.gpus and dom % tmpl.gpus:
                self.error(f"{path}.nvlink_domain_gpus", f"an NVLink domain of {dom} GPUs is not a whole number of {tmpl.gpus}-GPU nodes")
        self._check_duplicates("gpu_models", [m.name for m in self.spec.gpu_models])
        self._check_duplicates("site.rooms", [r.name for r in self.spec.site.rooms])
        self._check_duplicates("power_feeds", [f.name for f in self.spec.power_feeds])
        self._check_duplicates("storage", [s.name for s in self.spec.storage])
        self._check_duplicates("tenants", [t.name for t in self.spec.tenants])
        for i, tenant in enumerate(self.spec.tenants):
            for model in tenant.gpu_quota:
                if model not in self.catalog:
                    self.error(f"tenants[{i}].gpu_quota.{model}",
                               f"unknown GPU model {model!r}{did_you_mean(model, self.catalog.names())}")

    def _check_duplicates(self, path: str, names: list[str]) -> None:
        seen: dict[str, int] = {}
        for i, name in enumerate(names):
            if name in seen:
                self.error(f"{path}[{i}].name", f"duplicate name {name!r} (first at {path}[{seen[name]}])")
            else:
                seen[name] = i

    # -- racks -------------------------------------------------------------------------------
    def merged_rack(self, group: RackGroup, path: str) -> RackTemplate | None:
        base = RackTemplate()
        if group.template is not None:
            if group.template not in self.spec.rack_templates:
                known = list(self.spec.rack_templates)
                self.error(f"{path}.template", f"unknown rack template {group.template!r}{did_you_mean(group.template, known)}")
                return None
            base = self.spec.rack_templates[group.template]
        merged = RackTemplate(
            height_u=group.height_u or base.height_u,
            power_budget_kw=group.power_budget_kw or base.power_budget_kw,
            cooling=group.cooling or base.cooling,
            nodes=group.nodes if group.nodes is not None else base.nodes,
        )
        if merged.power_budget_kw is None:
            self.error(f"{path}.power_budget_kw", "required (here or in the rack template)")
        if not merged.nodes:
            self.error(f"{path}.nodes", "a rack needs at least one node entry (here or in the rack template)")
        return merged if merged.power_budget_kw is not None and merged.nodes else None

    def fleet_too_large(self) -> bool:
        """A spec whose racks and nodes, once stamped out, exceed MAX_NODES is refused before any is built
        (10^12 racks would otherwise be expanded one by one)."""
        total = 0
        for ri, room in enumerate(self.spec.site.rooms):
            for gi, group in enumerate(room.racks):
                entries = group.nodes if group.nodes is not None else (
                    self.spec.rack_templates[group.template].nodes if group.template in self.spec.rack_templates else None)
                total += group.count * sum(e.count for e in entries or [])
                if total > MAX_NODES:
                    self.error(f"site.rooms[{ri}].racks[{gi}].count",
                               f"the site would have more than {MAX_NODES:,} nodes (this group is where it crosses)")
                    return True
        return False

    def build_racks(self) -> None:
        if self.fleet_too_large():
            return
        rack_names: dict[str, str] = {}
        for ri, room in enumerate(self.spec.site.rooms):
            slot = 0
            for gi, group in enumerate(room.racks):
                path = f"site.rooms[{ri}].racks[{gi}]"
                for feed in group.feeds:
                    if feed not in self.feeds:
                        self.error(f"{path}.feeds", f"unknown power feed {feed!r}{did_you_mean(feed, sorted(self.feeds))}")
                merged = self.merged_rack(group, path)
                for k in range(group.count):
                    name = group.name if group.count == 1 else f"{group.name}-{k + 1:02d}"
                    if name in rack_names:
                        self.error(f"{path}.name", f"duplicate rack name {name!r} (also at {rack_names[name]})")
                        continue
                    rack_names[name] = path
                    row = group.row or f"{chr(ord('A') + (slot // room.racks_per_row) % 26)}"
                    position = slot % room.racks_per_row if group.row is None else k
                    slot += 1
                    if merged is not None:
                        self.racks.append(self.build_rack(name, room.name, row, position, merged, group, path))

    def build_rack(self, name: str, room: str, row: str, position: int, tmpl: RackTemplate, group: RackGroup,
                   path: str) -> Rack:
        assert tmpl.power_budget_kw is not None and tmpl.nodes is not None
        cooling_type = tmpl.cooling.type if tmpl.cooling else "air"
        cooling_kw = (tmpl.cooling.capacity_kw if tmpl.cooling and tmpl.cooling.capacity_kw else tmpl.power_budget_kw)
        rack = Rack(name=name, room=room, row=row, position=position, height_u=tmpl.height_u,
                    power_budget_kw=tmpl.power_budget_kw, cooling_type=cooling_type, cooling_kw=cooling_kw,
                    feeds=list(group.feeds), spec_path=path)
        slot_u = 1
        for ni, entry in enumerate(tmpl.nodes):
            npath = f"{path}.nodes[{ni}]" if group.nodes is not None else f"rack_templates.{group.template}.nodes[{ni}]"
            tmpl_node = self.spec.node_templates.get(entry.template)
            if tmpl_node is None:
                known = list(self.spec.node_templates)
                self.error(f"{npath}.template", f"unknown node template {entry.template!r}{did_you_mean(entry.template, known)}")
                continue
            tenant = entry.tenant or group.tenant
            if tenant is not None and tenant not in self.tenants:
                tpath = f"{npath}.tenant" if entry.tenant else f"{path}.tenant"
                self.error(tpath, f"unknown tenant {tenant!r}{did_you_mean(tenant, sorted(self.tenants))}")
            if entry.name is not None and entry.count != 1:
                self.error(f"{npath}.name", f"a node name needs count 1 (count is {entry.count})")
                continue
            for _ in range(entry.count):
                node = self.make_node(rack, entry.template, tmpl_node, tenant, slot_u, entry.name)
                if node.name in self.node_paths:
                    self.error(f"{npath}.name", f"duplicate node name {node.name!r} (also at {self.node_paths[node.name]})")
                    continue
                self.node_paths[node.name] = npath
                slot_u += node.height_u
                rack.nodes.append(node)
        return rack

    def make_node(self, rack: Rack, template_name: str, tmpl: NodeTemplate, tenant: str | None, slot_u: int,
                  name: str | None = None) -> Node:
        gpu = self.catalog.get(tmpl.gpu) if tmpl.gpu and tmpl.gpu in self.catalog else None
        tdp_w = gpu.tdp_w if gpu else 0.0
        nics = tmpl.nics.count if tmpl.nics else tmpl.gpus
        nic_gbps = tmpl.nics.speed_gbps if tmpl.nics else 400.0
        name = name or f"{rack.name}-n{len(rack.nodes) + 1:02d}"
        return Node(
            name=name, rack=rack.name, room=rack.room, template=template_name,
            gpu_model=gpu.name if gpu else None, gpus=tmpl.gpus, cpu_cores=tmpl.cpu_cores, ram_gib=tmpl.ram_gib,
            nics=nics, nic_gbps=nic_gbps, max_power_kw=estimate_node_max_kw(tmpl, tdp_w),
            gpu_tdp_kw=tmpl.gpus * tdp_w / 1000.0, height_u=tmpl.height_u, slot_u=slot_u,
            nvlink_domain=name, nvlink_domain_gpus=tmpl.nvlink_domain_gpus or tmpl.gpus,
            tenant=tenant, virtual_gpus=tmpl.virtual_gpus,
        )

    # -- cross-field checks ------------------------------------------------------------------
    def check_racks(self) -> None:
        """Budgets once per rack group (its racks are identical), NVLink domains for every rack."""
        groups: dict[str, list[Rack]] = defaultdict(list)
        for rack in self.racks:
            groups[rack.spec_path].append(rack)
        for racks in groups.values():
            label = f"rack {racks[0].name}" + (f" (and {len(racks) - 1} more like it)" if len(racks) > 1 else "")
            self.check_rack_budget(racks[0], label)
        for rack in self.racks:
            self.assign_nvlink_domains(rack)

    def check_rack_budget(self, rack: Rack, label: str) -> None:
        path, draw = rack.spec_path, rack.max_power_kw
        if draw > rack.power_budget_kw + 1e-9:
            self.error(f"{path}.power_budget_kw",
                       f"{label}: {len(rack.nodes)} nodes can draw {draw:.1f} kW at node max, "
                       f"over its power budget of {rack.power_budget_kw:g} kW")
        if draw > rack.cooling_kw + 1e-9:
            self.error(f"{path}.cooling.capacity_kw",
                       f"{label}: {draw:.1f} kW of heat at node max, over its cooling capacity of {rack.cooling_kw:g} kW")
        if rack.cooling_type == "air" and draw > AIR_COOLING_LIMIT_KW:
            self.warn(f"{path}.cooling.type",
                      f"{label}: {draw:.1f} kW is past what air cooling handles (~{AIR_COOLING_LIMIT_KW:g} kW/rack): use liquid")
        if rack.used_u > rack.height_u:
            self.error(f"{path}.nodes", f"{label}: nodes take {rack.used_u}U of a {rack.height_u}U rack")

    def assign_nvlink_domains(self, rack: Rack) -> None:
        """Group nodes into scale-up domains spanning several nodes where the template says so."""
        by_template: dict[str, list[Node]] = defaultdict(list)
        for node in rack.nodes:
            by_template[node.template].append(node)
        for template, nodes in by_template.items():
            dom, per_node = nodes[0].nvlink_domain_gpus, nodes[0].gpus
            if per_node == 0 or dom <= per_node:
                continue
            span, total = dom // per_node, per_node * len(nodes)
            if total < dom:
                path = f"node_templates.{template}.nvlink_domain_gpus"
                if not any(i.path == path for i in self.issues):
                    self.error(path, f"rack {rack.name}: an NVLink domain of {dom} GPUs is larger than the rack's "
                                     f"{total} GPUs of this template")
                continue
            if len(nodes) % span and not any(i.path == f"{rack.spec_path}.nodes" for i in self.issues):
                self.error(f"{rack.spec_path}.nodes",
                           f"rack {rack.name}: {len(nodes)} {template} nodes leave a partial NVLink domain ({span} nodes per domain)")
            for i, node in enumerate(nodes):
                node.nvlink_domain = f"{rack.name}-nvl{i // span + 1}"

    def check_feeds(self) -> None:
        load: dict[str, float] = defaultdict(float)
        for rack in self.racks:
            for feed in rack.feeds:
                load[feed] += rack.max_power_kw / len(rack.feeds)
        for i, feed in enumerate(self.spec.power_feeds):
            usable = feed_usable_kw(feed)
            if load[feed.name] > usable + 1e-9:
                self.error(f"power_feeds[{i}].capacity_kw",
                           f"feed {feed.name}: racks can draw {load[feed.name]:.1f} kW at node max, over the "
                           f"{usable:g} kW it carries at {feed.redundancy} redundancy")


def size_fabric(fabric: FabricSpec, nodes: list[Node]) -> FabricSize:
    """Leaf/spine switch counts from endpoints, radix and oversubscription; assigns node leaf groups.

    Each leaf gives `radix * o / (1 + o)` ports down and the rest up. Rail-optimized: one leaf per
    rail per group of `down` nodes (a DGX SuperPOD scalable unit is 32 nodes at radix 64, o = 1).
    Leaf-spine: a node's NICs all land on one leaf. A third tier appears when leaves exceed a spine's
    radix.
    """
    radix, o = fabric.switch_radix, fabric.oversubscription
    down = max(1, math.floor(radix * o / (1 + o)))
    up = radix - down
    gpu_nodes = [n for n in nodes if n.nics > 0]
    endpoints = sum(n.nics for n in gpu_nodes)
    if fabric.topology == "rail-optimized":
        per_group = down
    else:
        per_group = max(1, down // max(1, max((n.nics for n in gpu_nodes), default=1)))
    for i, node in enumerate(gpu_nodes):
        node.leaf_group = i // per_group
    leaves = fabric.leaf_switches or (math.ceil(endpoints / down) if endpoints else 0)
    spines = fabric.spine_switches or (math.ceil(leaves * up / radix) if leaves > 1 else 0)
    tiers = 1 if leaves <= 1 else (2 if leaves <= radix else 3)
    cores = math.ceil(spines * up / radix) if tiers == 3 else 0
    link = max((n.nic_gbps for n in gpu_nodes), default=fabric.link_gbps)
    bisection = endpoints * link / o / 2 / 1000.0
    return FabricSize(topology=fabric.topology, endpoints=endpoints, link_gbps=link, leaf_switches=leaves,
                      spine_switches=spines, core_switches=cores, tiers=tiers, nodes_per_leaf_group=per_group,
                      bisection_tbps=bisection)


def build_inventory(spec: DatacenterSpec, catalog: GpuCatalog = DEFAULT_CATALOG) -> tuple[Datacenter | None, list[SpecIssue]]:
    """Expand and check a spec. Returns (datacenter or None when any error, all issues found)."""
    if spec.gpu_models:
        catalog = catalog.with_user_models(spec.gpu_models)
    builder = _Builder(spec, catalog)
    builder.check_catalog_and_templates()
    builder.build_racks()
    builder.check_racks()
    builder.check_feeds()
    if any(i.severity == "error" for i in builder.issues):
        return None, builder.issues
    nodes = [n for rack in builder.racks for n in rack.nodes]
    fabric = size_fabric(spec.network.scale_out, nodes)
    dc = Datacenter(spec=spec, catalog=catalog, racks=builder.racks, nodes=nodes, fabric=fabric,
                    warnings=[i for i in builder.issues if i.severity == "warning"])
    return dc, builder.issues
