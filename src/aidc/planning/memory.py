"""Per-GPU training memory: weights, gradients and optimizer state by ZeRO stage, activations by recompute mode.

Design note. Bytes per parameter follow Megatron mixed precision: 2 (16-bit weights) + 4 (fp32
main gradients) + 12 (fp32 master weights, Adam m and v) = 18. ZeRO-1 (Megatron's distributed
optimizer) shards the 12 over the data-parallel group (dp·cp ranks), ZeRO-2 the gradients too,
ZeRO-3/FSDP the weights as well. Activations per layer follow Korthikanti et al. 2022 ("Reducing
activation recomputation"): per token 10·h bytes replicated across tensor-parallel ranks (norm
inputs, dropout masks, projection inputs) plus sharded tensors (Q, K, V, the attention output,
the MLP intermediates: 16·h for a 4h GeLU MLP, 6·ffn for SwiGLU) plus 5·a·s bytes of attention
scores unless fused (FlashAttention) or recomputed (selective). Sequence parallelism shards the
replicated part too; full recomputation keeps only each layer's input. The first pipeline stage
holds `pp` micro-batches in flight (1F1B), times (1 + (pp-1)/(pp·v)) when interleaved.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from aidc.planning.config import Hardware, ParallelConfig
from aidc.planning.models import ModelArch

GIB = 2**30
WEIGHT_BYTES = 2.0
GRAD_BYTES = 4.0
OPTIMIZER_BYTES = 12.0
# Reserved per GPU and never available to tensors: CUDA context, NCCL buffers, allocator slack.
RESERVED_GIB = 3.0
FRAGMENTATION = 0.95  # usable fraction of the rest (caching-allocator fragmentation)


@dataclass(frozen=True)
class MemoryBreakdown:
    """GiB per GPU on the most loaded pipeline stage."""

    weights_gib: float
    grads_gib: float
    optimizer_gib: float
    activations_gib: float

    @property
    def weights_grads_optimizer_gib(self) -> float:
        return self.weights_gib + self.grads_gib + self.optimizer_gib

    @property
    def total_gib(self) -> float:
        return self.weights_grads_optimizer_gib + self.activations_gib

    def as_dict(self) -> dict[str, float]:
        return {"weights": self.weights_gib, "grads": self.grads_gib, "optimizer": self.optimizer_gib,
                "weights_grads_optimizer": self.weights_grads_optimizer_gib,
                "activations": self.activations_gib, "total": self.total_gib}


def usable_gib(hw: Hardware) -> float:
    return (hw.memory_gib - RESERVED_GIB) * FRAGMENTATION


def params_per_gpu(arch: ModelArch, cfg: ParallelConfig) -> float:
    """Parameters held by one GPU of the largest stage: its layers plus one embedding (both when pp=1)."""
    layers = math.ceil(arch.n_layers / cfg.pp)
    embeddings = arch.embedding_params() if cfg.pp == 1 else arch.vocab * arch.d_model
    return (layers * arch.layer_params() + embeddings) / cfg.tp


def layer_params_per_gpu(arch: ModelArch, cfg: ParallelConfig) -> float:
    """Transformer-layer parameters of one GPU (no embeddings): what the memory anchors count."""
    return math.ceil(arch.n_layers / cfg.pp) * arch.layer_params() / cfg.tp


def state_gib(n_params: float, cfg: ParallelConfig) -> tuple[float, float, float]:
    """(weights, grads, optimizer) GiB for n_params local parameters at the config's ZeRO stage."""
    shard = cfg.dp * cfg.cp
    w = WEIGHT_BYTES * n_params / (shard if cfg.zero_stage >= 3 else 1)
    g = GRAD_BYTES * n_params / (shard if cfg.zero_stage >= 2 else 1)
    o = OPTIMIZER_BYTES * n_params / (shard if cfg.zero_stage >= 1 else 1)
    return w / GIB, g / GIB, o / GIB


def activation_bytes_per_token(arch: ModelArch, cfg: ParallelConfig, flash: bool, recompute: str | None = None) -> float:
    """Stored activation bytes per token of one layer on one GPU (16-bit activations)."""
    recompute = recompute or cfg.recompute
    h, t = arch.d_model, cfg.tp
    if recompute == "full":
        kept = 2.0 * h / (t if cfg.sequence_parallel else 1)  # only the layer input
        if cfg.recompute_fraction >= 1.0:
            return kept
        stored = activation_bytes_per_token(arch, cfg, flash, recompute="none")
        return cfg.recompute_fraction * kept + (1.0 - cfg.recompute_fraction) * stored
    kv = arch.kv_heads * arch.head_dim
    mlp = 6.0 * arch.ffn if arch.mlp_type == "swiglu" else 4.0 * arch.ffn
    sharded = 2.0 * (h + kv) + 2.0 * kv + 2.0 * h + mlp
    replicated = 10.0 * h
    if cfg.sequence_parallel:
        per_token = (replicated + sharded) / t
    else:
        per_token = replicated + sharded / t
    if not flash and recompute == "none":
        per_token += 5.0 * arch.n_heads * arch.seq_len / t
    return per_token


def in_flight_layers(arch: ModelArch, cfg: ParallelConfig, n_micro: int) -> float:
    """Layer-activations held at once on the first stage under (interleaved) 1F1B."""
    layers_per_stage = math.ceil(arch.n_layers / cfg.pp)
    if cfg.pp == 1:
        return layers_per_stage
    in_flight = min(cfg.pp, n_micro)
    interleave = 1.0 + (cfg.pp - 1) / (cfg.pp * cfg.virtual_pipeline) if cfg.virtual_pipeline > 1 else 1.0
    return layers_per_stage * in_flight * interleave


def activations_gib(arch: ModelArch, cfg: ParallelConfig, n_micro: int, flash: bool) -> float:
    """Activation GiB on the most loaded stage: first stage in flight vs last stage plus fp32 logits."""
    tokens = cfg.micro_batch * arch.seq_len / cfg.cp
    per_layer = activation_bytes_per_token(arch, cfg, flash) * tokens
    first = per_layer * in_flight_layers(arch, cfg, n_micro)
    logits = 4.0 * tokens * arch.vocab / cfg.tp  # fp32 logits kept for the cross-entropy backward
    last = per_layer * math.ceil(arch.n_layers / cfg.pp) + logits
    return (first + logits if cfg.pp == 1 else max(first, last)) / GIB


def training_memory(arch: ModelArch, cfg: ParallelConfig, n_micro: int, flash: bool = True) -> MemoryBreakdown:
    """The per-GPU breakdown for a layout (n_micro = micro-batches per step per pipeline)."""
    w, g, o = state_gib(params_per_gpu(arch, cfg), cfg)
    return MemoryBreakdown(w, g, o, activations_gib(arch, cfg, n_micro, flash))
