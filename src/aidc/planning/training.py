"""Time per training iteration from first principles: GEMMs, memory-bound kernels, collectives, pipeline bubble.

Design note. One micro-batch on one pipeline stage is costed layer by layer:
- weight GEMMs (QKV, O, MLP) with an additive roofline per GEMM, flops / (peak·gemm_eff) plus
  bytes / (HBM·mem_bw_eff): small or skinny shards (large tp, short sequences) lose efficiency;
- the attention core: fused (FlashAttention, causal half of the scores, backward 2.5x forward) at a
  fraction of GEMM efficiency, or unfused batched GEMMs plus the softmax/dropout traffic on the
  a·s² score matrix;
- memory-bound elementwise kernels: about two passes over the stored-activation footprint
  forward (write it, read the producers' inputs), twice that backward;
- tensor/sequence-parallel collectives (2 all-reduce-equivalents forward, 2 backward) over the
  scale-up link, context-parallel K/V exchange (hidden behind attention when it can be);
- recomputation adds the forward (full) or the attention core (selective) again.
Stages are joined by an (interleaved) 1F1B schedule: time = m·t_slowest + (pp-1)/v·t_mean plus
point-to-point sends. The data-parallel gradient reduction runs over the scale-out NICs of the
GPUs a data-parallel group has in one node and overlaps with the last micro-batch's backward. The
optimizer step streams ~32 bytes per local parameter through HBM.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from aidc.core.gpus import Precision
from aidc.planning.config import Hardware, ParallelConfig
from aidc.planning.flops import hardware_flops_per_token, model_flops_per_token
from aidc.planning.memory import activation_bytes_per_token, params_per_gpu
from aidc.planning.models import ModelArch
from aidc.planning.params import DEFAULT_PARAMS, Params

OPTIMIZER_STEP_BYTES_PER_PARAM = 32.0  # Adam: read master, m, v, grad; write master, m, v, weight
# fp32 cross-entropy over the logits: cast in (2+4), max (4), exp-sum (4+4), softmax-grad (4+4),
# cast back (4+2), plus the loss gather: ~36 bytes moved per logit.
CROSS_ENTROPY_BYTES_PER_LOGIT = 36.0
# Eager (unfused) PyTorch runs each elementwise step as its own kernel: RMSNorm ~5 passes instead of
# one, SwiGLU's silu and product 3 instead of 1, rotary ~8 instead of 1: about 3x the fused traffic.
UNFUSED_ELEMENTWISE_FACTOR = 3.0


@dataclass(frozen=True)
class Job:
    """What is trained and how: the fixed inputs of the time model."""

    arch: ModelArch
    hw: Hardware
    global_batch_seqs: int
    batch_exact: bool = True  # False: the batch was given in tokens; replicas take the nearest whole share
    precision: Precision = "bf16"
    flash_attention: bool = True
    overlap_grad_reduce: bool = True
    overlap_tp_comm: bool = True  # TE userbuffers / async TP: collectives run under the adjacent GEMMs
    fused_kernels: bool = True  # Megatron/TE fused norms, activations, rotary; False: eager PyTorch ops


@dataclass(frozen=True)
class IterationTime:
    """Seconds per optimizer step and where they go."""

    iter_time_s: float
    compute_s: float  # all micro-batches on the slowest stage, excluding communication
    tp_comm_s: float
    pp_bubble_s: float
    pp_p2p_s: float
    dp_exposed_s: float
    optimizer_s: float
    n_micro: int

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.__dict__.items()}


class _Rates:
    """Effective throughputs of one GPU for a job: FLOP/s for GEMMs, bytes/s for HBM and links."""

    def __init__(self, job: Job, params: Params) -> None:
        self.gemm_flops = params.gemm_flops(job.hw.gpu, job.precision)
        self.hbm = job.hw.gpu.memory_bw_gbs * 1e9 * params.eff.mem_bw_eff
        self.scaleup = job.hw.scaleup_gbs * 1e9 * params.eff.link_eff
        self.nic = job.hw.nic_gbs * 1e9 * params.eff.link_eff
        self.latency = params.eff.collective_latency_s
        self.flash_flops = self.gemm_flops * params.eff.flash_attn_rel_eff
        self.act_bytes = 1.0 if job.precision == "fp8" else 2.0
        self.softmax_bytes = params.eff.softmax_bytes_per_score
        self.overlap = params.eff.overlap

    def gemm_s(self, m: float, k: float, n: float) -> float:
        return 2.0 * m * k * n / self.gemm_flops + self.act_bytes * (m * k + k * n + m * n) / self.hbm


def _group_bw(hw: Hardware, rates: _Rates, group: int, inner: int) -> float:
    """Bus bandwidth of a collective over `group` ranks spaced `inner` GPUs apart (Megatron rank order)."""
    if group * inner <= hw.scaleup_domain_gpus:
        return rates.scaleup
    local = max(1, hw.gpus_per_node // inner) if inner < hw.gpus_per_node else 1
    return min(rates.scaleup, local * rates.nic)


def _ring_s(nbytes: float, ranks: int, bw: float, latency: float) -> float:
    """All-reduce time: 2(n-1)/n of the bytes cross each link; the latency term grows like sqrt(n),
    between a ring's n and a tree's log n (NCCL picks the algorithm by size and scale)."""
    if ranks <= 1:
        return 0.0
    return 2.0 * (ranks - 1) / ranks * nbytes / bw + 2.0 * latency * (ranks - 1) ** 0.5


@dataclass(frozen=True)
class LayerTime:
    fwd_s: float
    bwd_s: float
    recompute_s: float
    tp_comm_s: float  # included in the three above


def layer_time(job: Job, cfg: ParallelConfig, params: Params = DEFAULT_PARAMS) -> LayerTime:
    """Forward, backward and recompute seconds of one layer for one micro-batch on one GPU."""
    a, r, hw = job.arch, _Rates(job, params), job.hw
    t, h, f = cfg.tp, a.d_model, a.ffn
    kv = a.kv_heads * a.head_dim
    m = cfg.micro_batch * a.seq_len / cfg.cp  # tokens per GPU
    dense = (r.gemm_s(m, h, (h + 2 * kv) / t) + r.gemm_s(m, h / t, h)
             + r.gemm_s(m, h, (a.mlp_matrices - 1) * f / t) + r.gemm_s(m, f / t, h))
    attn_f, attn_b = _attention_s(job, cfg, r, m)
    footprint = activation_bytes_per_token(a, cfg, flash=True, recompute="none") * m
    elem = params.eff.elementwise_traffic_per_footprint * footprint / r.hbm
    if not job.fused_kernels:
        elem *= UNFUSED_ELEMENTWISE_FACTOR
    tp = _tp_comm_s(job, cfg, r, m)
    tp_f = _exposed(tp, dense, r.overlap) if job.overlap_tp_comm else tp
    tp_b = _exposed(tp, 2.0 * dense, r.overlap) if job.overlap_tp_comm else tp
    cp = _cp_exposed_s(job, cfg, r, m, attn_f)
    fwd = dense + attn_f + elem + tp_f + cp
    bwd = 2.0 * dense + attn_b + 2.0 * elem + tp_b + 2.0 * cp
    full = cfg.recompute_fraction if cfg.recompute == "full" else 0.0
    rc = {"full": full * fwd, "selective": attn_f, "none": 0.0}[cfg.recompute]
    return LayerTime(fwd, bwd, rc, tp_f * (1.0 + full) + tp_b)


def _exposed(comm_s: float, compute_s: float, overlap: float) -> float:
    """Communication left on the critical path when it runs beside compute_s of work: a fraction
    (1 - overlap) is always paid (shared SMs and HBM, pipeline head and tail), the rest hides up to
    the length of the compute."""
    hideable = overlap * comm_s
    return comm_s - min(hideable, compute_s)


def _attention_s(job: Job, cfg: ParallelConfig, r: _Rates, m: float) -> tuple[float, float]:
    """(forward, backward) seconds of the attention core for m query tokens on one GPU."""
    a, t = job.arch, cfg.tp
    s, h_t = a.seq_len, a.d_model / t
    if job.flash_attention:
        flops = 4.0 * m * s * h_t * 0.5  # causal: only the lower triangle is computed
        return flops / r.flash_flops, 2.5 * flops / r.flash_flops
    scores = a.n_heads / t * m * s
    gemm = 4.0 * m * s * h_t / r.gemm_flops + r.act_bytes * 4.0 * m * h_t / r.hbm
    softmax = r.softmax_bytes * scores / r.hbm
    return gemm + softmax, 2.0 * (gemm + softmax)


def _tp_comm_s(job: Job, cfg: ParallelConfig, r: _Rates, m: float) -> float:
    """Two all-reduce equivalents (or reduce-scatter + all-gather pairs) of the layer output."""
    if cfg.tp == 1:
        return 0.0
    bw = _group_bw(job.hw, r, cfg.tp, 1)
    return 2.0 * _ring_s(r.act_bytes * m * job.arch.d_model, cfg.tp, bw, r.latency)


def _cp_exposed_s(job: Job, cfg: ParallelConfig, r: _Rates, m: float, attn_f: float) -> float:
    """Ring attention passes K and V around the context-parallel group, hidden behind attention."""
    if cfg.cp == 1:
        return 0.0
    kv_bytes = 2.0 * r.act_bytes * m * job.arch.kv_heads * job.arch.head_dim / cfg.tp
    comm = (cfg.cp - 1) * kv_bytes / _group_bw(job.hw, r, cfg.cp, cfg.tp)
    return _exposed(comm, attn_f, r.overlap)


def iteration_time(job: Job, cfg: ParallelConfig, params: Params = DEFAULT_PARAMS) -> IterationTime:
    """Seconds per optimizer step for a layout (the layout must divide the batch; see search)."""
    a, r = job.arch, _Rates(job, params)
    n_micro = per_replica_micro(job, cfg.dp, cfg.micro_batch)
    lt = layer_time(job, cfg, params)
    per_layer = lt.fwd_s + lt.bwd_s + lt.recompute_s
    layers = math.ceil(a.n_layers / cfg.pp)  # the slowest stage carries the rounded-up share
    logits = _logits_s(job, cfg, r)
    t_mean = a.n_layers / cfg.pp * per_layer + logits / cfg.pp
    t_max = layers * per_layer + logits
    p2p = _p2p_s(job, cfg, r)
    bubble = (cfg.pp - 1) / cfg.virtual_pipeline * t_mean
    dp = _dp_exposed_s(job, cfg, r, layers * lt.bwd_s)
    opt = OPTIMIZER_STEP_BYTES_PER_PARAM * params_per_gpu(a, cfg) / _opt_shard(cfg) / r.hbm
    zero3 = _zero3_exposed_s(job, cfg, r, t_max) if cfg.zero_stage >= 3 else 0.0
    total = n_micro * (t_max + p2p + zero3) + bubble + dp + opt
    return IterationTime(total, n_micro * (t_max - layers * lt.tp_comm_s), n_micro * layers * lt.tp_comm_s,
                         bubble, n_micro * p2p, dp + n_micro * zero3, opt, n_micro)


def _zero3_exposed_s(job: Job, cfg: ParallelConfig, r: _Rates, stage_s: float) -> float:
    """ZeRO-3/FSDP per micro-batch: gather weights for forward and backward, reduce-scatter grads;
    prefetching hides it behind the stage's compute when the network keeps up."""
    ranks = cfg.dp * cfg.cp
    if ranks == 1:
        return 0.0
    n = params_per_gpu(job.arch, cfg)
    bw = _group_bw(job.hw, r, ranks, cfg.tp)
    comm = (ranks - 1) / ranks * (2.0 + 2.0 + 4.0) * n / bw
    return _exposed(comm, stage_s, r.overlap)


def _opt_shard(cfg: ParallelConfig) -> int:
    return cfg.dp * cfg.cp if cfg.zero_stage >= 1 else 1


def _logits_s(job: Job, cfg: ParallelConfig, r: _Rates) -> float:
    """Output projection (forward + 2x backward) plus the fp32 cross-entropy passes over V/tp logits."""
    a = job.arch
    m = cfg.micro_batch * a.seq_len / cfg.cp
    gemm = 3.0 * r.gemm_s(m, a.d_model, a.vocab / cfg.tp)
    return gemm + CROSS_ENTROPY_BYTES_PER_LOGIT * m * a.vocab / cfg.tp / r.hbm


def _p2p_s(job: Job, cfg: ParallelConfig, r: _Rates) -> float:
    """Activation and gradient sends between stages per micro-batch (scattered over tp ranks)."""
    if cfg.pp == 1:
        return 0.0
    m = cfg.micro_batch * job.arch.seq_len / cfg.cp
    nbytes = r.act_bytes * m * job.arch.d_model / cfg.tp
    inner = cfg.tp * cfg.cp * cfg.dp
    bw = r.scaleup if inner * 2 <= job.hw.scaleup_domain_gpus else r.nic
    return 2.0 * cfg.virtual_pipeline * (nbytes / bw + r.latency)


def _dp_exposed_s(job: Job, cfg: ParallelConfig, r: _Rates, last_bwd_s: float) -> float:
    """Gradient reduce (+ parameter gather with ZeRO) not hidden behind the last backward."""
    ranks = cfg.dp * cfg.cp
    if ranks == 1 or cfg.zero_stage >= 3:  # ZeRO-3 reduces per micro-batch (see _zero3_exposed_s)
        return 0.0
    n = params_per_gpu(job.arch, cfg)
    bw = _group_bw(job.hw, r, ranks, cfg.tp)
    if cfg.zero_stage == 0:
        comm = _ring_s(4.0 * n, ranks, bw, r.latency)
    else:  # reduce-scatter fp32 grads + all-gather 16-bit weights
        comm = _ring_s((4.0 + 2.0) / 2.0 * n, ranks, bw, r.latency)
    return _exposed(comm, last_bwd_s, r.overlap) if job.overlap_grad_reduce else comm


def replica_batch(job: Job, dp: int) -> int:
    """Sequences per data-parallel replica per step; 0 when an exact batch does not divide."""
    if job.global_batch_seqs % dp == 0:
        return job.global_batch_seqs // dp
    return 0 if job.batch_exact else max(1, round(job.global_batch_seqs / dp))


def per_replica_micro(job: Job, dp: int, micro_batch: int) -> int:
    """Micro-batches per replica per step (at least one)."""
    return max(1, replica_batch(job, dp) // micro_batch)


def step_seqs(job: Job, cfg: ParallelConfig) -> int:
    """Sequences actually processed per step by the layout."""
    return per_replica_micro(job, cfg.dp, cfg.micro_batch) * cfg.micro_batch * cfg.dp


def model_flops_per_step(job: Job, cfg: ParallelConfig) -> float:
    return model_flops_per_token(job.arch) * step_seqs(job, cfg) * job.arch.seq_len


def hardware_flops_per_step(job: Job, cfg: ParallelConfig) -> float:
    return (hardware_flops_per_token(job.arch, cfg.recompute, fraction=cfg.recompute_fraction)
            * step_seqs(job, cfg) * job.arch.seq_len)
