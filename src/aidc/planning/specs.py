"""The YAML specs of `aidc plan train|serve|site`: typed, `extra="forbid"`, loaded with located errors."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, PositiveFloat, PositiveInt, field_validator, model_validator

from aidc.core.errors import did_you_mean
from aidc.core.gpus import DEFAULT_CATALOG, Precision
from aidc.core.spec_io import load_model
from aidc.core.strict import StrictModel
from aidc.planning.models import PRESETS, ModelArch


class _Strict(StrictModel):
    """Unknown keys are errors; numbers are numbers (no "8" or true), finite (no .inf), text printable."""


def _check_gpu(name: str) -> str:
    if name not in DEFAULT_CATALOG:
        raise ValueError(f"unknown GPU model {name!r}{did_you_mean(name, DEFAULT_CATALOG.names())}")
    return name


def _check_model(value: str | ModelArch) -> str | ModelArch:
    if isinstance(value, str) and value.strip().lower() not in PRESETS:
        raise ValueError(f"unknown model {value!r}{did_you_mean(value, list(PRESETS))}; "
                         "give a preset name or a mapping with n_layers, d_model, n_heads, vocab, seq_len")
    return value


class ClusterSpec(_Strict):
    """How the GPUs are wired. Defaults: 8-GPU nodes, NVLink within the node, the GPU's usual NIC."""

    gpus_per_node: PositiveInt = 8
    scaleup_domain_gpus: PositiveInt | None = Field(default=None, description="NVLink domain; default: the node")
    nic_gbps: PositiveFloat | None = Field(default=None, description="scale-out per GPU, Gbit/s")


class ParallelismSpec(_Strict):
    """Pinned layout choices; anything left out is searched."""

    tp: PositiveInt | None = None
    pp: PositiveInt | None = None
    dp: PositiveInt | None = None
    cp: PositiveInt | None = None
    micro_batch: PositiveInt | None = None
    virtual_pipeline: PositiveInt | None = None
    zero_stage: Literal[0, 1, 2, 3] | None = None
    activation_recompute: Literal["none", "selective", "full"] | None = None
    sequence_parallel: bool | None = None


class StackSpec(_Strict):
    """What the training software does (defaults: a current Megatron-Core / TorchTitan stack)."""

    flash_attention: bool = True
    overlap_grad_reduce: bool = True
    overlap_tp_comm: bool = True
    fused_kernels: bool = Field(default=True, description="False: eager PyTorch (e.g. plain FSDP) elementwise ops")


class CostSpec(_Strict):
    pue: float | None = Field(default=None, ge=1.0, le=3.0, description="default: the datacenter's, else 1.3")
    gpu_power_w: PositiveFloat | None = Field(default=None, description="average per GPU; default: TDP")
    usd_per_gpu_hour: float | None = Field(default=None, ge=0)
    capex_usd_per_gpu: float = Field(default=0.0, ge=0)
    amortization_years: PositiveFloat = 4.0
    opex_usd_per_gpu_hour: float = Field(default=0.0, ge=0, description="maintenance, staff, network; not power")
    electricity_usd_per_kwh: float | None = Field(default=None, ge=0, description="default: the datacenter's, else 0.08")


class TrainSpec(_Strict):
    """`aidc plan train`: a model, a token budget and the GPUs to train on."""

    model: str | ModelArch = Field(description="preset name (see `aidc plan models`) or an architecture")
    training_tokens: PositiveFloat | None = Field(default=None, description="tokens to train on")
    global_batch_tokens: PositiveInt | None = None
    global_batch_seqs: PositiveInt | None = None
    seq_len: PositiveInt | None = Field(default=None, description="override the model's context length")
    gpu: str = "H100-SXM"
    n_gpus: PositiveInt | None = Field(default=None, description="default with --datacenter: all GPUs of that model")
    precision: Precision = "bf16"
    cluster: ClusterSpec = Field(default_factory=ClusterSpec)
    parallelism: ParallelismSpec = Field(default_factory=ParallelismSpec)
    stack: StackSpec = Field(default_factory=StackSpec)
    cost: CostSpec = Field(default_factory=CostSpec)
    tenant: str | None = Field(default=None, description="with --datacenter: place on this tenant's nodes")

    _gpu = field_validator("gpu")(classmethod(lambda cls, v: _check_gpu(v)))
    _model = field_validator("model")(classmethod(lambda cls, v: _check_model(v)))

    @model_validator(mode="after")
    def _batch(self) -> "TrainSpec":
        if self.global_batch_tokens is None and self.global_batch_seqs is None:
            raise ValueError("give global_batch_tokens or global_batch_seqs")
        return self


class WorkloadSpec(_Strict):
    input_len: PositiveInt = Field(description="prompt tokens per request")
    output_len: PositiveInt = Field(description="generated tokens per request")
    requests_per_s: PositiveFloat | None = Field(default=None, description="target load; default: one replica")


class SloSpec(_Strict):
    ttft_ms: PositiveFloat | None = None
    tpot_ms: PositiveFloat | None = None


class ServeSpec(_Strict):
    """`aidc plan serve`: a model, a workload and latency targets."""

    model: str | ModelArch
    gpu: str = "H100-SXM"
    precision: Precision = "bf16"
    kv_cache_precision: Precision | None = Field(default=None, description="default: precision")
    tp: PositiveInt | None = Field(default=None, description="default: searched over the NVLink domain")
    batch_size: PositiveInt | None = Field(default=None, description="default: the largest meeting the SLO")
    cluster: ClusterSpec = Field(default_factory=ClusterSpec)
    workload: WorkloadSpec
    slo: SloSpec = Field(default_factory=SloSpec)
    tenant: str | None = None

    _gpu = field_validator("gpu")(classmethod(lambda cls, v: _check_gpu(v)))
    _model = field_validator("model")(classmethod(lambda cls, v: _check_model(v)))


class SiteSpec(_Strict):
    """`aidc plan site`: size a site for n GPUs (or read one from --datacenter)."""

    gpu: str = "H100-SXM"
    n_gpus: PositiveInt = 1024
    gpus_per_node: PositiveInt = 8
    node_max_kw: PositiveFloat | None = Field(default=None, description="default: 1.8 x GPU TDP x GPUs")
    rack_kw_limit: PositiveFloat = 40.0
    rack_units: PositiveInt = 48
    node_units: PositiveInt = 8
    pue: float = Field(default=1.3, ge=1.0, le=3.0)
    nic_gbps: PositiveFloat = 400
    switch_radix: PositiveInt = 64
    oversubscription: float = Field(default=1.0, ge=1.0)
    model: str | ModelArch | None = Field(default=None, description="for checkpoint sizing")
    training_tokens: PositiveFloat | None = None
    checkpoint_write_s: PositiveFloat = Field(default=60.0, description="target time to write one checkpoint")
    checkpoints_kept: PositiveInt = 5

    _gpu = field_validator("gpu")(classmethod(lambda cls, v: _check_gpu(v)))
    _model = field_validator("model")(classmethod(lambda cls, v: v if v is None else _check_model(v)))


def resolve_model(value: str | ModelArch, seq_len: int | None = None) -> ModelArch:
    arch = PRESETS[value.strip().lower()] if isinstance(value, str) else value
    return arch.model_copy(update={"seq_len": seq_len}) if seq_len else arch


def load_train_spec(path: str | Path) -> TrainSpec:
    return load_model(path, TrainSpec)[0]


def load_serve_spec(path: str | Path) -> ServeSpec:
    return load_model(path, ServeSpec)[0]


def load_site_spec(path: str | Path) -> SiteSpec:
    return load_model(path, SiteSpec)[0]
