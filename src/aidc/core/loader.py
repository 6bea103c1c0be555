"""Load a datacenter spec file into a checked `Datacenter`, or raise one SpecError listing every problem."""

from __future__ import annotations

from pathlib import Path

from aidc.core.datacenter import DatacenterSpec
from aidc.core.errors import SpecError
from aidc.core.gpus import DEFAULT_CATALOG, GpuCatalog
from aidc.core.inventory import Datacenter, build_inventory
from aidc.core.spec_io import load_model, locate, parse_yaml, validate_data


def datacenter_from_text(text: str, source: str = "<spec>", catalog: GpuCatalog = DEFAULT_CATALOG) -> Datacenter:
    data, lines = parse_yaml(text, source)
    spec = validate_data(data, DatacenterSpec, source, lines)
    return _build(spec, lines, source, catalog)


def load_datacenter(path: str | Path, catalog: GpuCatalog = DEFAULT_CATALOG) -> Datacenter:
    """Parse, validate and expand a datacenter YAML file. Warnings ride along on `Datacenter.warnings`."""
    spec, lines = load_model(path, DatacenterSpec)
    return _build(spec, lines, str(path), catalog)


def _build(spec: DatacenterSpec, lines: dict[str, int], source: str, catalog: GpuCatalog) -> Datacenter:
    dc, issues = build_inventory(spec, catalog)
    issues = locate(issues, lines)
    if dc is None:
        raise SpecError(source, issues)
    dc.warnings = [i for i in issues if i.severity == "warning"]
    return dc
