"""From one iteration to a whole project: throughput, MFU/HFU, GPU-hours with goodput, wall time, energy, cost."""

from __future__ import annotations

from dataclasses import dataclass

from aidc.planning.config import ParallelConfig
from aidc.planning.memory import usable_gib
from aidc.planning.params import DEFAULT_PARAMS, Params
from aidc.planning.search import Fixed, PlanError, SearchResult, evaluate, search
from aidc.planning.training import Job, hardware_flops_per_step, model_flops_per_step, step_seqs


@dataclass(frozen=True)
class Costing:
    """How energy and money are counted. Power per GPU defaults to its TDP (Meta's LLaMA method)."""

    pue: float = 1.3
    gpu_power_w: float | None = None  # average draw per GPU incl. its share of the host; None = TDP
    usd_per_gpu_hour: float | None = None  # rental price; else amortised capex + opex below
    capex_usd_per_gpu: float = 0.0  # server + network + facility share per GPU
    amortization_years: float = 4.0
    opex_usd_per_gpu_hour: float = 0.0  # maintenance, staff, network, space; electricity counted apart
    electricity_usd_per_kwh: float = 0.08


@dataclass
class TrainEstimate:
    """Everything `aidc plan train` reports."""

    job: Job
    n_gpus: int
    result: SearchResult
    training_tokens: float | None
    goodput: float
    costing: Costing
    searched: bool

    @property
    def cfg(self) -> ParallelConfig:
        return self.result.cfg

    @property
    def iter_time_s(self) -> float:
        return self.result.time.iter_time_s

    @property
    def tokens_per_step(self) -> float:
        return step_seqs(self.job, self.cfg) * self.job.arch.seq_len

    @property
    def tokens_per_s_per_gpu(self) -> float:
        return self.tokens_per_step / self.iter_time_s / self.n_gpus

    @property
    def peak_tflops(self) -> float:
        gpu = self.job.hw.gpu
        return gpu.peak_tflops(self.job.precision) or gpu.peak_tflops("bf16") or gpu.fp32_tflops or 1.0

    @property
    def model_tflops_per_gpu(self) -> float:
        return model_flops_per_step(self.job, self.cfg) / self.iter_time_s / self.n_gpus / 1e12

    @property
    def hardware_tflops_per_gpu(self) -> float:
        return hardware_flops_per_step(self.job, self.cfg) / self.iter_time_s / self.n_gpus / 1e12

    @property
    def mfu(self) -> float:
        return self.model_tflops_per_gpu / self.peak_tflops

    @property
    def hfu(self) -> float:
        return self.hardware_tflops_per_gpu / self.peak_tflops

    @property
    def steady_gpu_hours(self) -> float | None:
        if not self.training_tokens:
            return None
        return self.training_tokens / self.tokens_per_s_per_gpu / 3600.0

    @property
    def gpu_hours(self) -> float | None:
        steady = self.steady_gpu_hours
        return None if steady is None else steady / self.goodput

    @property
    def wall_days(self) -> float | None:
        hours = self.gpu_hours
        return None if hours is None else hours / self.n_gpus / 24.0

    @property
    def gpu_power_w(self) -> float:
        return self.costing.gpu_power_w or float(self.job.hw.gpu.tdp_w)

    @property
    def energy_mwh(self) -> float | None:
        hours = self.gpu_hours
        return None if hours is None else hours * self.gpu_power_w / 1e6 * self.costing.pue

    @property
    def cost_basis(self) -> str:
        c = self.costing
        if c.usd_per_gpu_hour is not None:
            return f"{c.usd_per_gpu_hour:g} USD per GPU-hour"
        if c.capex_usd_per_gpu > 0 or c.opex_usd_per_gpu_hour > 0:
            return (f"capex {c.capex_usd_per_gpu:,.0f} USD/GPU over {c.amortization_years:g} years + opex "
                    f"{c.opex_usd_per_gpu_hour:g} USD/GPU-hour + electricity at {c.electricity_usd_per_kwh:g} USD/kWh")
        return f"electricity only at {c.electricity_usd_per_kwh:g} USD/kWh (give cost.usd_per_gpu_hour or capex)"

    @property
    def cost_usd(self) -> float | None:
        hours, energy = self.gpu_hours, self.energy_mwh
        if hours is None or energy is None:
            return None
        c = self.costing
        if c.usd_per_gpu_hour is not None:
            return hours * c.usd_per_gpu_hour
        capex_per_hour = c.capex_usd_per_gpu / (c.amortization_years * 8766.0)
        return hours * (capex_per_hour + c.opex_usd_per_gpu_hour) + energy * 1000.0 * c.electricity_usd_per_kwh


def estimate_training(job: Job, n_gpus: int, fixed: Fixed = Fixed(), training_tokens: float | None = None,
                      costing: Costing = Costing(), params: Params = DEFAULT_PARAMS) -> TrainEstimate:
    """Search (or cost the fully pinned layout) and roll up to the project."""
    pinned = _fully_pinned(fixed, n_gpus)
    result = evaluate(job, pinned, params) if pinned is not None else search(job, n_gpus, fixed, params)
    if pinned is not None and result.memory.total_gib > usable_gib(job.hw):
        raise PlanError(f"the layout given ({pinned.short()}) needs {result.memory.total_gib:.0f} GiB per GPU, over the "
                        f"{usable_gib(job.hw):.0f} GiB usable on {job.hw.gpu.name}: leave micro_batch or "
                        "activation_recompute unset to let the search choose, or raise tp/pp/ZeRO")
    goodput = params.reliability.goodput(n_gpus)
    return TrainEstimate(job, n_gpus, result, training_tokens, goodput, costing, searched=pinned is None)


def _fully_pinned(fx: Fixed, n_gpus: int) -> ParallelConfig | None:
    """A ParallelConfig when every choice that matters is given (dp derived from the GPU count)."""
    needed = (fx.tp, fx.pp, fx.micro_batch, fx.recompute)
    if any(v is None for v in needed):
        return None
    tp, pp, cp = fx.tp or 1, fx.pp or 1, fx.cp or 1
    if n_gpus % (tp * pp * cp):
        return None
    return ParallelConfig(tp=tp, pp=pp, cp=cp, dp=n_gpus // (tp * pp * cp), micro_batch=fx.micro_batch or 1,
                          virtual_pipeline=fx.virtual_pipeline or 1, zero_stage=1 if fx.zero_stage is None else fx.zero_stage,
                          recompute=fx.recompute,  # type: ignore[arg-type]
                          sequence_parallel=bool(fx.sequence_parallel) if fx.sequence_parallel is not None else tp > 1)
