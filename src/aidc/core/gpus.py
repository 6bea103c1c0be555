"""GPU catalog: dense peak throughput, memory, bandwidths and power of each accelerator, with sources.

Units: TFLOP/s are dense (no 2:4 sparsity); `memory_gb` is the vendor's GB; `memory_bw_gbs` and
`scaleup_bw_gbs` are gigabytes per second (scale-up is NVLink/Infinity Fabric, bidirectional, per
GPU); `tdp_w` is the board power limit in watts. The built-in entries come from
`../shared/planning/cases-dev.json` (`gpu_specs`) where it has them, else the vendor datasheet named
in `sources`. A user adds or overrides entries with a YAML list of the same fields (`gpu_models:` in
a datacenter spec, or a catalog file passed to `with_user_models`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt, model_validator

from aidc.core.errors import UnknownNameError, did_you_mean

Precision = Literal["fp32", "tf32", "fp16", "bf16", "fp8", "fp4"]


class GpuModel(BaseModel):
    """One accelerator model. Frozen: catalogs share instances."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="canonical name, e.g. H100-SXM")
    vendor: Literal["nvidia", "amd", "intel", "other"] = "nvidia"
    aliases: tuple[str, ...] = Field(default=(), description="other names accepted on input")
    memory_gb: PositiveFloat = Field(description="device memory, vendor GB")
    memory_bw_gbs: PositiveFloat = Field(description="device memory bandwidth, GB/s")
    fp32_tflops: PositiveFloat | None = Field(default=None, description="dense FP32 (non-tensor)")
    fp16_dense_tflops: PositiveFloat | None = Field(default=None, description="dense FP16 tensor")
    bf16_dense_tflops: PositiveFloat | None = Field(default=None, description="dense BF16 tensor")
    fp8_dense_tflops: PositiveFloat | None = Field(default=None, description="dense FP8 tensor")
    fp4_dense_tflops: PositiveFloat | None = Field(default=None, description="dense FP4 tensor")
    scaleup_bw_gbs: PositiveFloat | None = Field(
        default=None, description="NVLink / Infinity Fabric per GPU, bidirectional GB/s; None = PCIe only"
    )
    pcie_bw_gbs: PositiveFloat = Field(default=64.0, description="host link, bidirectional GB/s")
    tdp_w: PositiveInt = Field(description="board power limit, W")
    sources: tuple[str, ...] = Field(default=(), description="where the numbers come from")
    notes: str = ""

    @model_validator(mode="after")
    def _has_some_throughput(self) -> "GpuModel":
        if not any((self.fp32_tflops, self.fp16_dense_tflops, self.bf16_dense_tflops, self.fp8_dense_tflops)):
            raise ValueError("give at least one of fp32_tflops, fp16_dense_tflops, bf16_dense_tflops, fp8_dense_tflops")
        return self

    def peak_tflops(self, precision: Precision) -> float | None:
        """Dense peak for a precision; bf16 falls back to fp16 (same tensor rate on parts without bf16)."""
        table = {
            "fp32": self.fp32_tflops,
            "tf32": self.fp32_tflops,
            "fp16": self.fp16_dense_tflops or self.bf16_dense_tflops,
            "bf16": self.bf16_dense_tflops or self.fp16_dense_tflops,
            "fp8": self.fp8_dense_tflops,
            "fp4": self.fp4_dense_tflops,
        }
        return table[precision]

    @property
    def memory_gib(self) -> float:
        return self.memory_gb * 1e9 / 2**30


def _nv(name: str, **kw: object) -> GpuModel:
    return GpuModel(name=name, vendor="nvidia", **kw)  # type: ignore[arg-type]


_CASES = "shared/planning/cases-dev.json gpu_specs"

BUILTIN_GPUS: tuple[GpuModel, ...] = (
    _nv("A100-40GB", aliases=("A100-SXM4-40GB", "A100-SXM-40GB", "A100-40G"), memory_gb=40, memory_bw_gbs=1555,
        fp32_tflops=19.5, fp16_dense_tflops=312, bf16_dense_tflops=312, scaleup_bw_gbs=600, tdp_w=400,
        sources=(_CASES, "https://glennklockwood.com/garden/processors/A100")),
    _nv("A100-80GB", aliases=("A100-SXM4-80GB", "A100-SXM-80GB", "A100-80G", "A100"), memory_gb=80,
        memory_bw_gbs=2039, fp32_tflops=19.5, fp16_dense_tflops=312, bf16_dense_tflops=312, scaleup_bw_gbs=600,
        tdp_w=400, sources=(_CASES, "https://glennklockwood.com/garden/processors/A100")),
    _nv("H100-SXM", aliases=("H100-SXM5-80GB", "H100-SXM5", "H100-80GB", "H100"), memory_gb=80, memory_bw_gbs=3350,
        fp32_tflops=66.9, fp16_dense_tflops=989.4, bf16_dense_tflops=989.4, fp8_dense_tflops=1978.9,
        scaleup_bw_gbs=900, tdp_w=700, sources=(_CASES, "https://glennklockwood.com/garden/processors/h100")),
    _nv("H100-PCIE", aliases=("H100-PCIe-80GB",), memory_gb=80, memory_bw_gbs=2000, fp32_tflops=51.2,
        fp16_dense_tflops=756, bf16_dense_tflops=756, fp8_dense_tflops=1513, tdp_w=350, pcie_bw_gbs=128,
        sources=("https://resources.nvidia.com/en-us-tensor-core/nvidia-tensor-core-gpu-datasheet",)),
    _nv("H200", aliases=("H200-SXM-141GB", "H200-SXM", "H200-141GB"), memory_gb=141, memory_bw_gbs=4800,
        fp32_tflops=66.9, fp16_dense_tflops=989.4, bf16_dense_tflops=989.4, fp8_dense_tflops=1978.9,
        scaleup_bw_gbs=900, tdp_w=700,
        sources=(_CASES, "https://lzwjava.github.io/nvidia-h200-gpu-specs-en")),
    _nv("B200", aliases=("B200-HGX-1000W", "B200-SXM", "B200-180GB"), memory_gb=180, memory_bw_gbs=8000,
        fp32_tflops=75, fp16_dense_tflops=2250, bf16_dense_tflops=2250, fp8_dense_tflops=4500,
        fp4_dense_tflops=9000, scaleup_bw_gbs=1800, tdp_w=1000,
        sources=(_CASES, "https://docs.nvidia.com/dgx/dgxb200-user-guide/introduction-to-dgxb200.html"),
        notes="180 GB usable per GPU in DGX B200 (1,440 GB / 8); 192 GB physical"),
    GpuModel(name="MI300X", vendor="amd", aliases=("AMD-MI300X", "Instinct-MI300X"), memory_gb=192,
             memory_bw_gbs=5300, fp32_tflops=163.4, fp16_dense_tflops=1307.4, bf16_dense_tflops=1307.4,
             fp8_dense_tflops=2614.9, scaleup_bw_gbs=896, tdp_w=750,
             sources=(_CASES, "https://gpu.blog/gpus/instinct-mi300x-mi300x")),
    _nv("L40S", aliases=("L40S-48GB",), memory_gb=48, memory_bw_gbs=864, fp32_tflops=91.6,
        fp16_dense_tflops=362.05, bf16_dense_tflops=362.05, fp8_dense_tflops=733, tdp_w=350,
        sources=(_CASES, "https://www.itcreations.com/nvidia-gpu/nvidia-l40s-gpu-accelerator")),
    # Older parts: the Philly (P100/P40) and Alibaba PAI (V100, T4, A10, P100) traces run on them.
    _nv("V100-32GB", aliases=("V100-SXM2-32GB", "V100M32", "V100"), memory_gb=32, memory_bw_gbs=900,
        fp32_tflops=15.7, fp16_dense_tflops=125, scaleup_bw_gbs=300, tdp_w=300,
        sources=("https://images.nvidia.com/content/technologies/volta/pdf/volta-v100-datasheet-update-us-1165301-r5.pdf",)),
    _nv("V100-16GB", aliases=("V100-SXM2-16GB", "V100M16"), memory_gb=16, memory_bw_gbs=900, fp32_tflops=15.7,
        fp16_dense_tflops=125, scaleup_bw_gbs=300, tdp_w=300,
        sources=("https://images.nvidia.com/content/technologies/volta/pdf/volta-v100-datasheet-update-us-1165301-r5.pdf",)),
    _nv("P100-16GB", aliases=("P100-PCIE-16GB", "P100"), memory_gb=16, memory_bw_gbs=732, fp32_tflops=9.3,
        fp16_dense_tflops=18.7, tdp_w=250, pcie_bw_gbs=32,
        sources=("https://images.nvidia.com/content/tesla/pdf/nvidia-tesla-p100-PCIe-datasheet.pdf",)),
    _nv("P40", aliases=("P40-24GB", "Tesla-P40"), memory_gb=24, memory_bw_gbs=346, fp32_tflops=11.76, tdp_w=250,
        pcie_bw_gbs=32, sources=("https://images.nvidia.com/content/pdf/tesla/184427-Tesla-P40-Datasheet-NV-Final-Letter-Web.pdf",),
        notes="no fast FP16 path: plan with fp32"),
    _nv("T4", aliases=("T4-16GB", "Tesla-T4"), memory_gb=16, memory_bw_gbs=320, fp32_tflops=8.1,
        fp16_dense_tflops=65, tdp_w=70, pcie_bw_gbs=32,
        sources=("https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/tesla-t4/t4-tensor-core-datasheet-951643.pdf",)),
    _nv("A10", aliases=("A10-24GB",), memory_gb=24, memory_bw_gbs=600, fp32_tflops=31.2, fp16_dense_tflops=125,
        bf16_dense_tflops=125, tdp_w=150,
        sources=("https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a10/pdf/a10-datasheet.pdf",)),
    GpuModel(name="VGPU", vendor="other", aliases=("virtual",), memory_gb=16, memory_bw_gbs=100, fp32_tflops=1.0,
             tdp_w=1, notes="a virtual GPU: lets GPU jobs be scheduled and run on a CPU-only machine"),
)


class GpuCatalog:
    """Name -> GpuModel lookup that accepts aliases case-insensitively and suggests close names."""

    def __init__(self, models: tuple[GpuModel, ...] | list[GpuModel] = BUILTIN_GPUS) -> None:
        self._models: dict[str, GpuModel] = {}
        self._index: dict[str, str] = {}
        for m in models:
            self._add(m)

    def _add(self, model: GpuModel) -> None:
        self._models[model.name] = model
        for key in (model.name, *model.aliases):
            self._index[key.lower()] = model.name

    def with_user_models(self, models: list[GpuModel]) -> "GpuCatalog":
        """A new catalog with user entries added; an entry with a built-in's name or alias replaces it."""
        merged = GpuCatalog(list(self._models.values()))
        for m in models:
            old = merged._index.get(m.name.lower())
            if old is not None and old != m.name:
                merged._models.pop(old, None)
            merged._add(m)
        return merged

    def names(self) -> list[str]:
        return list(self._models)

    def all(self) -> list[GpuModel]:
        return list(self._models.values())

    def canonical(self, name: str) -> str | None:
        return self._index.get(name.strip().lower())

    def __contains__(self, name: str) -> bool:
        return self.canonical(name) is not None

    def get(self, name: str) -> GpuModel:
        """The model for a name or alias; UnknownNameError with a suggestion when it does not exist."""
        canonical = self.canonical(name)
        if canonical is None:
            raise UnknownNameError(f"unknown GPU model {name!r}{did_you_mean(name, self.names())}")
        return self._models[canonical]


DEFAULT_CATALOG = GpuCatalog()


def get_gpu(name: str) -> GpuModel:
    """Look a GPU up in the built-in catalog (see GpuCatalog.get)."""
    return DEFAULT_CATALOG.get(name)
