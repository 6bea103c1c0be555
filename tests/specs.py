"""Datacenter specs for tests: named nodes with virtual GPUs, as an engine (Slurm, Ray) or agents name them."""

from __future__ import annotations

import yaml

from aidc.server.services.datacenters import spec_from_nodes


def named_nodes_yaml(name: str, nodes: list[str], *, gpus: int = 8, cpu_cores: int = 32, ram_gib: float = 64,
                     tenants: tuple[str, ...] = ("default",)) -> str:
    """A spec holding exactly these nodes (virtual GPUs), one rack, with these tenants, as YAML text."""
    spec = spec_from_nodes(name, [{"name": n, "gpus": gpus, "cpu_cores": cpu_cores, "ram_gib": ram_gib,
                                   "partition": "rack1"} for n in nodes], tenants)
    return yaml.safe_dump(spec, sort_keys=False)
