"""Site sizing: power, racks at a kW limit, cooling by density, switch counts from core, checkpoint storage."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from aidc.core.loader import load_datacenter
from aidc.planning.models import get_preset
from aidc.planning.site import CHECKPOINT_BYTES_PER_PARAM, SWITCH_KW, checkpoint_write_s, site_of, size_site
from aidc.planning.specs import SiteSpec, load_site_spec

REPO = Path(__file__).resolve().parents[2]


def test_small_site_by_hand(fixtures: Path) -> None:
    r = size_site(load_site_spec(fixtures / "site-small.yaml"))
    node_kw = 1.8 * 8 * 0.7  # core's rule: 1.8 x GPU TDP
    assert r.nodes == 32 and r.node_max_kw == pytest.approx(node_kw)
    assert r.nodes_per_rack == math.floor(40 / node_kw) == 3 and r.racks == math.ceil(32 / 3)
    assert r.leaf_switches == 8 and r.spine_switches == 4  # 256 NICs, 32 down-ports per leaf
    assert r.it_kw == pytest.approx(32 * node_kw + 12 * SWITCH_KW)
    assert r.facility_kw == pytest.approx(r.it_kw * 1.25)
    assert r.cooling == "air"


def test_dense_racks_need_liquid() -> None:
    r = size_site(SiteSpec(gpu="B200", n_gpus=512, rack_kw_limit=120, rack_units=48, node_units=8))
    assert r.rack_kw > 40 and r.cooling.startswith("liquid")


def test_checkpoint_size_and_bandwidth(fixtures: Path) -> None:
    r = size_site(load_site_spec(fixtures / "site-small.yaml"))
    params = get_preset("llama-3-8b").total_params()
    assert r.checkpoint_tib == pytest.approx(params * CHECKPOINT_BYTES_PER_PARAM / 2**40)
    assert r.checkpoint_write_gbs == pytest.approx(params * 14 / 1e9 / 30)


def test_site_read_from_a_datacenter() -> None:
    dc = load_datacenter(REPO / "examples" / "datacenters" / "small-h100.yaml")
    r = site_of(dc)
    assert r.n_gpus == 128 and r.pue == 1.25 and r.storage_tib == 2000
    seconds = checkpoint_write_s(get_preset("llama-3-70b"), dc)
    assert seconds == pytest.approx(get_preset("llama-3-70b").total_params() * 14 / 1e9 / 40)
