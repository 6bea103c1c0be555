"""Serving model: prefill, decode steps, KV-cache capacity, and the GPUs a target load needs.

Design note. Prefill of a batch is compute-bound: its weight GEMMs and causal attention run at
the GEMM efficiency (with the additive roofline of training.py, so tiny prompts turn weight-read
bound), plus tensor-parallel all-reduces and a fixed launch latency. A decode step reads every
weight once and the whole KV cache of the batch once, at an achievable fraction of HBM bandwidth,
and runs 2·N·batch FLOPs of GEMMs: the step costs the GEMM roofline (max of weight read and
compute) plus the KV read plus per-layer launch overhead plus the all-reduces. Static batching
(the engines' benchmark mode) gives output tokens/s = batch·output_len / (prefill + Σ steps).
TTFT is the prefill of one batch; TPOT the mean decode step. Max concurrency is what fits in the
HBM left after weights and a reserve, at the mean context length.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from aidc.core.gpus import Precision
from aidc.planning.config import Hardware
from aidc.planning.memory import GIB, RESERVED_GIB
from aidc.planning.models import ModelArch
from aidc.planning.params import DEFAULT_PARAMS, Params
from aidc.planning.search import PlanError

BYTES: dict[str, float] = {"fp32": 4.0, "tf32": 4.0, "fp16": 2.0, "bf16": 2.0, "fp8": 1.0, "fp4": 0.5}
KV_MEMORY_FRACTION = 0.9  # of the HBM left after weights; engines reserve the rest for activations


@dataclass(frozen=True)
class ServeJob:
    arch: ModelArch
    hw: Hardware
    tp: int = 1
    pp: int = 1
    precision: Precision = "bf16"
    kv_precision: Precision = "bf16"

    @property
    def n_gpus(self) -> int:
        return self.tp * self.pp


@dataclass(frozen=True)
class InferenceEstimate:
    batch_size: int
    input_len: int
    output_len: int
    ttft_ms: float
    tpot_ms: float
    output_tokens_per_s_per_gpu: float
    max_concurrency: int
    weights_gib_per_gpu: float
    kv_gib_per_seq: float

    def as_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


class _Serve:
    """Per-GPU rates for one serving replica."""

    def __init__(self, job: ServeJob, params: Params) -> None:
        gpu = job.hw.gpu
        self.flops = params.gemm_flops(gpu, job.precision)
        self.hbm = gpu.memory_bw_gbs * 1e9 * params.eff.mem_bw_eff
        self.link = job.hw.scaleup_gbs * 1e9 * params.eff.link_eff
        self.latency = params.eff.inference_allreduce_latency_s
        self.launch = params.eff.decode_launch_s_per_layer
        self.fixed = params.eff.prefill_fixed_s
        self.wbytes = BYTES[job.precision]
        self.kvbytes = BYTES[job.kv_precision]


def weights_bytes_per_gpu(job: ServeJob) -> float:
    a = job.arch
    return (a.n_layers * a.layer_params() + a.embedding_params()) * BYTES[job.precision] / job.n_gpus


def kv_bytes_per_token(job: ServeJob) -> float:
    """K and V of every layer for one token on one GPU (kv heads shard over tp, at least one each)."""
    a = job.arch
    kv_heads_local = max(1.0, a.kv_heads / job.tp)
    return 2.0 * a.n_layers / job.pp * kv_heads_local * a.head_dim * BYTES[job.kv_precision]


def _allreduce_s(job: ServeJob, r: _Serve, tokens: float) -> float:
    """Two all-reduces of the hidden state per layer across the tp group."""
    if job.tp == 1:
        return 0.0
    nbytes = tokens * job.arch.d_model * 2.0
    per = 2.0 * (job.tp - 1) / job.tp * nbytes / r.link + r.latency
    return 2.0 * job.arch.n_layers / job.pp * per


def prefill_s(job: ServeJob, batch: int, input_len: int, params: Params = DEFAULT_PARAMS) -> float:
    """Seconds to run the prompt of `batch` sequences and produce their first tokens."""
    a, r = job.arch, _Serve(job, params)
    tokens = batch * input_len
    dense = 2.0 * a.n_layers * a.layer_params() * tokens / job.n_gpus
    attn = 4.0 * a.n_layers * a.d_model * input_len / 2.0 * tokens / job.n_gpus  # causal
    logits = 2.0 * a.d_model * a.vocab * batch / job.tp
    weights = weights_bytes_per_gpu(job)
    compute = (dense + attn + logits) / r.flops
    return compute + weights / r.hbm + _allreduce_s(job, r, tokens) + r.fixed


def decode_step_s(job: ServeJob, batch: int, context: float, params: Params = DEFAULT_PARAMS) -> float:
    """Seconds of one decode step for `batch` sequences at a mean context of `context` tokens."""
    a, r = job.arch, _Serve(job, params)
    weights = weights_bytes_per_gpu(job)
    gemm_flops = 2.0 * (a.n_layers * a.layer_params() + a.d_model * a.vocab) * batch / job.n_gpus
    gemm = max(weights / r.hbm, gemm_flops / r.flops)
    kv = kv_bytes_per_token(job) * context * batch / r.hbm
    attn_flops = 4.0 * a.n_layers * a.d_model * context * batch / job.n_gpus / r.flops
    launch = r.launch * a.n_layers / job.pp
    return gemm + kv + attn_flops + launch + _allreduce_s(job, r, batch)


def max_concurrency(job: ServeJob, context: float, fraction: float = KV_MEMORY_FRACTION) -> int:
    """Sequences whose KV cache fits at once at a context length, in `fraction` of the HBM left after the
    weights and the reserve (the engines' default share for planning; 1.0 is the hard limit)."""
    free = (job.hw.memory_gib - RESERVED_GIB) * GIB - weights_bytes_per_gpu(job)
    per_seq = kv_bytes_per_token(job) * context
    return max(0, math.floor(free * fraction / per_seq)) if free > 0 else 0


def estimate_inference(job: ServeJob, batch_size: int, input_len: int, output_len: int,
                       params: Params = DEFAULT_PARAMS) -> InferenceEstimate:
    """Static-batch serving of `batch_size` requests of input_len -> output_len tokens. When their KV caches
    at full length do not fit at once, the engine holds as many as fit and runs the batch in waves of
    that many (an in-flight batcher admitting a request as one ends does the same for equal lengths)."""
    fits = max_concurrency(job, input_len + output_len, fraction=1.0)  # what a published run could hold
    if fits < 1:
        raise PlanError(f"the weights ({weights_bytes_per_gpu(job) / GIB:.1f} GiB per GPU) and one sequence's KV "
                        f"cache do not fit in {job.hw.memory_gib:g} GiB at tp={job.tp}, pp={job.pp}")
    running = min(batch_size, fits)
    waves = math.ceil(batch_size / running)
    t_prefill = prefill_s(job, running, input_len, params)
    steps = max(0, output_len - 1)
    mean_ctx = input_len + output_len / 2.0
    t_step = decode_step_s(job, running, mean_ctx, params)
    total = waves * (t_prefill + steps * t_step)
    tput = batch_size * output_len / total / job.n_gpus
    return InferenceEstimate(
        batch_size=running, input_len=input_len, output_len=output_len,
        ttft_ms=t_prefill * 1e3, tpot_ms=t_step * 1e3, output_tokens_per_s_per_gpu=tput,
        max_concurrency=max_concurrency(job, input_len + output_len),
        weights_gib_per_gpu=weights_bytes_per_gpu(job) / GIB,
        kv_gib_per_seq=kv_bytes_per_token(job) * (input_len + output_len) / GIB,
    )
