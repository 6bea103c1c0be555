"""Datacenter specs: the examples, expansion (templates, counts, NVLink domains, fabric), round trips."""

from __future__ import annotations

import csv

import pytest
import yaml

from aidc.core.datacenter import DatacenterSpec, FabricSpec, PowerFeedSpec
from aidc.core.inventory import Node, feed_usable_kw, size_fabric
from aidc.core.loader import datacenter_from_text, load_datacenter
from aidc.core.summary import summarize
from tests.conftest import EXAMPLES, REPO

SPECS = EXAMPLES / "datacenters"


def test_philly_has_2816_gpus_in_11_vcs(shared_dir) -> None:
    dc = load_datacenter(SPECS / "philly.yaml")
    assert dc.total_gpus == 2816 and len(dc.nodes) == 352
    by_tenant = {t: sum(n.gpus for n in nodes) for t, nodes in dc.nodes_by_tenant().items()}
    with open(shared_dir / "traces" / "philly" / "philly_vc_nodes.csv") as f:
        expected = {row["vc"]: int(row["node num"]) * 8 for row in csv.DictReader(f)}
    assert by_tenant == expected


def test_large_site_is_short_and_big() -> None:
    text = (SPECS / "large-b200.yaml").read_text()
    dc = load_datacenter(SPECS / "large-b200.yaml")
    assert dc.total_gpus >= 8192
    assert sum(1 for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")) <= 60


@pytest.mark.parametrize("name", ["local", "small-h100", "philly", "large-b200"])
def test_examples_round_trip_through_yaml(name: str) -> None:
    dc = load_datacenter(SPECS / f"{name}.yaml")
    dumped = yaml.safe_dump(dc.spec.model_dump(mode="json", exclude_defaults=True), sort_keys=False)
    again = datacenter_from_text(dumped, source=f"{name}-roundtrip")
    assert again.spec == dc.spec
    assert summarize(again) == summarize(dc)


def test_small_h100_summary_numbers() -> None:
    s = summarize(load_datacenter(SPECS / "small-h100.yaml"))
    assert s["gpus"] == 128 and s["gpus_by_model"] == {"H100-SXM": 128}
    assert s["peak_pflops"]["bf16"] == pytest.approx(128 * 989.4 / 1000, abs=1e-3)
    assert s["power"]["it_kw_gpu_tdp"] == pytest.approx(128 * 0.7)
    # 16 DGX at 10.2 kW + 4 CPU servers at the 0.8 kW default
    assert s["power"]["it_kw_node_max"] == pytest.approx(16 * 10.2 + 4 * 0.8)
    assert s["power"]["facility_kw"] == pytest.approx((16 * 10.2 + 4 * 0.8) * 1.25, abs=0.1)
    assert s["tenants"]["research"] == 128


def test_local_is_virtual_and_draws_no_gpu_power() -> None:
    dc = load_datacenter(SPECS / "local.yaml")
    s = summarize(dc)
    assert s["gpus"] == 4 and s["virtual_gpus"] == 4 and s["power"]["it_kw_gpu_tdp"] == 0


NVL72 = """
name: nvl
site: {name: s, rooms: [{name: r, racks: [{name: gb, count: 2, power_budget_kw: 140,
  cooling: {type: liquid}, nodes: [{template: tray, count: 18}]}]}]}
node_templates:
  tray: {gpu: B200, gpus: 4, height_u: 1, max_power_kw: 7.0, nvlink_domain_gpus: 72}
"""


def test_nvlink_domain_can_span_a_rack() -> None:
    dc = datacenter_from_text(NVL72)
    domains = {n.nvlink_domain for n in dc.nodes}
    assert domains == {"gb-01-nvl1", "gb-02-nvl1"}
    assert all(n.nvlink_domain_gpus == 72 for n in dc.nodes)


def test_node_power_is_estimated_from_gpu_tdp_when_not_given() -> None:
    text = NVL72.replace("max_power_kw: 7.0, ", "")
    dc = datacenter_from_text(text)
    assert dc.nodes[0].max_power_kw == pytest.approx(1.8 * 4 * 1000 / 1000)


def _nodes(n: int, nics: int) -> list[Node]:
    return [Node(name=f"n{i}", rack="r", room="x", template="t", gpu_model="H100-SXM", gpus=8, cpu_cores=1,
                 ram_gib=1, nics=nics, nic_gbps=400, max_power_kw=10, gpu_tdp_kw=5.6, height_u=8, slot_u=1,
                 nvlink_domain=f"n{i}", nvlink_domain_gpus=8) for i in range(n)]


def test_rail_optimized_fabric_matches_a_superpod_scalable_unit() -> None:
    nodes = _nodes(128, 8)  # 4 scalable units of 32 DGX
    size = size_fabric(FabricSpec(topology="rail-optimized", switch_radix=64), nodes)
    assert size.endpoints == 1024 and size.leaf_switches == 32 and size.spine_switches == 16
    assert size.tiers == 2 and size.nodes_per_leaf_group == 32
    assert [n.leaf_group for n in nodes[30:34]] == [0, 0, 1, 1]
    assert size.bisection_tbps == pytest.approx(1024 * 400 / 2 / 1000)


def test_oversubscribed_leaf_spine() -> None:
    size = size_fabric(FabricSpec(topology="leaf-spine", switch_radix=36, oversubscription=2), _nodes(352, 1))
    assert size.nodes_per_leaf_group == 24 and size.leaf_switches == 15 and size.spine_switches == 5


@pytest.mark.parametrize("redundancy,paths,usable", [("N", None, 100), ("N+1", 3, 200), ("2N", None, 100), ("2N", 4, 200)])
def test_feed_usable_capacity(redundancy: str, paths: int | None, usable: float) -> None:
    assert feed_usable_kw(PowerFeedSpec(name="f", capacity_kw=100, redundancy=redundancy, paths=paths)) == usable


def test_air_cooled_dense_rack_is_a_warning_not_an_error() -> None:
    text = NVL72.replace("cooling: {type: liquid}", "cooling: {type: air}")
    dc = datacenter_from_text(text)
    assert len(dc.warnings) == 1 and "use liquid" in dc.warnings[0].message


def test_spec_schema_forbids_extra_keys_everywhere() -> None:
    assert DatacenterSpec.model_config["extra"] == "forbid"
    assert (REPO / "examples" / "datacenters").is_dir()
