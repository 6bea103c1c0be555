"""Summarise a Datacenter in numbers: GPUs, peak PFLOP/s, memory, power, racks, fabric, storage."""

from __future__ import annotations

from collections import Counter
from typing import Any

from aidc.core.inventory import Datacenter

PRECISIONS = ("fp32", "bf16", "fp8", "fp4")


def peak_pflops(dc: Datacenter) -> dict[str, float]:
    """Dense peak PFLOP/s of all (non-virtual) GPUs by precision; a GPU without that precision adds nothing."""
    out: dict[str, float] = {}
    for precision in PRECISIONS:
        total = 0.0
        for model, count in dc.gpus_by_model().items():
            tflops = dc.catalog.get(model).peak_tflops(precision)  # type: ignore[arg-type]
            total += (tflops or 0.0) * count
        out[precision] = round(total / 1000.0, 3)
    return out


def _gpus_by_tenant(dc: Datacenter) -> dict[str, int]:
    """GPUs per tenant; nodes without a tenant appear as '(unassigned)' only when they hold GPUs."""
    out: dict[str, int] = {}
    for tenant, nodes in sorted(dc.nodes_by_tenant().items(), key=lambda kv: str(kv[0])):
        gpus = sum(n.gpus for n in nodes)
        if tenant is not None or gpus:
            out[tenant or "(unassigned)"] = gpus
    return out


def summarize(dc: Datacenter, pue: float | None = None) -> dict[str, Any]:
    """Everything `aidc dc show` reports, as plain JSON-ready data."""
    pue = pue if pue is not None else dc.spec.site.pue
    real = [n for n in dc.nodes if not n.virtual_gpus]
    it_tdp_kw = sum(n.gpu_tdp_kw for n in real)
    it_max_kw = sum(n.max_power_kw for n in dc.nodes)
    hbm_gb = sum(dc.catalog.get(n.gpu_model).memory_gb * n.gpus for n in real if n.gpu_model)
    cooling = Counter(r.cooling_type for r in dc.racks)
    densities = [r.max_power_kw for r in dc.racks]
    f = dc.fabric
    return {
        "name": dc.name,
        "site": dc.spec.site.name,
        "rooms": len(dc.spec.site.rooms),
        "racks": len(dc.racks),
        "nodes": len(dc.nodes),
        "gpus": dc.total_gpus,
        "gpus_by_model": dc.gpus_by_model(),
        "virtual_gpus": sum(n.gpus for n in dc.nodes if n.virtual_gpus),
        "peak_pflops": peak_pflops(dc),
        "hbm_tb": round(hbm_gb / 1000.0, 3),
        "cpu_cores": sum(n.cpu_cores for n in dc.nodes),
        "ram_tib": round(sum(n.ram_gib for n in dc.nodes) / 1024.0, 2),
        "power": {
            "it_kw_gpu_tdp": round(it_tdp_kw, 1),
            "it_kw_node_max": round(it_max_kw, 1),
            "pue": pue,
            "facility_kw": round(it_max_kw * pue, 1),
            "rack_budget_kw": round(sum(r.power_budget_kw for r in dc.racks), 1),
            "rack_kw_max": round(max(densities, default=0.0), 1),
            "rack_kw_mean": round(sum(densities) / len(densities), 1) if densities else 0.0,
        },
        "cooling": dict(cooling),
        "fabric": {
            "topology": f.topology,
            "endpoints": f.endpoints,
            "link_gbps": f.link_gbps,
            "leaf_switches": f.leaf_switches,
            "spine_switches": f.spine_switches,
            "core_switches": f.core_switches,
            "tiers": f.tiers,
            "bisection_tbps": round(f.bisection_tbps, 2),
        },
        "storage": [s.model_dump() for s in dc.spec.storage],
        "tenants": _gpus_by_tenant(dc),
        "warnings": [w.format() for w in dc.warnings],
    }
