"""The GPU catalog: lookups, aliases, suggestions, user entries, and agreement with the sourced table."""

from __future__ import annotations

import json

import pytest

from aidc.core.errors import UnknownNameError
from aidc.core.gpus import BUILTIN_GPUS, DEFAULT_CATALOG, GpuModel, get_gpu

REQUIRED = ["A100-40GB", "A100-80GB", "H100-SXM", "H200", "B200", "MI300X", "L40S"]


@pytest.mark.parametrize("name", REQUIRED)
def test_required_models_have_sourced_numbers(name: str) -> None:
    gpu = get_gpu(name)
    assert gpu.bf16_dense_tflops and gpu.memory_gb and gpu.memory_bw_gbs and gpu.tdp_w
    assert gpu.sources, f"{name} has no source"


def test_aliases_and_case_are_accepted() -> None:
    assert get_gpu("h100-sxm5-80gb").name == "H100-SXM"
    assert get_gpu("A100-SXM4-40GB").name == "A100-40GB"
    assert get_gpu("  b200 ").name == "B200"


def test_unknown_model_suggests_the_closest() -> None:
    with pytest.raises(UnknownNameError) as info:
        get_gpu("H100-SMX")
    assert str(info.value) == "unknown GPU model 'H100-SMX' (did you mean H100-SXM?)"


def test_bf16_falls_back_to_fp16_and_fp8_may_be_absent() -> None:
    v100 = get_gpu("V100-32GB")
    assert v100.peak_tflops("bf16") == 125
    assert v100.peak_tflops("fp8") is None
    assert get_gpu("H100-SXM").peak_tflops("fp8") == pytest.approx(1978.9)


def test_user_entry_adds_and_overrides() -> None:
    custom = GpuModel(name="X1", memory_gb=96, memory_bw_gbs=4000, bf16_dense_tflops=1500, tdp_w=900)
    faster = GpuModel(name="H100-SXM", memory_gb=80, memory_bw_gbs=3350, bf16_dense_tflops=1000, tdp_w=700)
    catalog = DEFAULT_CATALOG.with_user_models([custom, faster])
    assert catalog.get("x1").tdp_w == 900
    assert catalog.get("H100-SXM").bf16_dense_tflops == 1000
    assert DEFAULT_CATALOG.get("H100-SXM").bf16_dense_tflops == pytest.approx(989.4)  # original untouched


def test_a_model_needs_some_throughput() -> None:
    with pytest.raises(ValueError, match="at least one of"):
        GpuModel(name="nothing", memory_gb=1, memory_bw_gbs=1, tdp_w=1)


def test_no_alias_is_shared_between_models() -> None:
    seen: dict[str, str] = {}
    for model in BUILTIN_GPUS:
        for key in (model.name, *model.aliases):
            assert key.lower() not in seen, f"{key} names both {seen.get(key.lower())} and {model.name}"
            seen[key.lower()] = model.name


def test_catalog_matches_the_sourced_planning_table(shared_dir) -> None:
    specs = json.loads((shared_dir / "planning" / "cases-dev.json").read_text())["gpu_specs"]
    for name, row in specs.items():
        gpu = get_gpu(name)
        assert gpu.bf16_dense_tflops == pytest.approx(row["bf16_dense_tflops"]), name
        assert gpu.memory_gb == pytest.approx(row["hbm_gb"]), name
        assert gpu.memory_bw_gbs == pytest.approx(row["hbm_bw_gbs"]), name
        assert gpu.tdp_w == row["tdp_w"], name
