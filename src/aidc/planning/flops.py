"""Exact FLOP counts of a dense Transformer: per layer, per token, for MFU (model) and HFU (hardware).

Design note. One multiply-add is 2 FLOPs. Per token and layer the forward runs the Q, K, V
projections (2·h·(h + 2·kv) with kv = n_kv_heads·head_dim, so GQA shrinks K and V), the output
projection (2·h²), the MLP (2·m·h·ffn with m = 3 matrices for SwiGLU, 2 for GeLU), and the
attention score term QKᵀ + AV (4·s·h, counted over the full sequence as Megatron and PaLM do).
The logits add 2·h·V per token. Backward is twice the forward. Model FLOPs (MFU) are 3x forward;
hardware FLOPs (HFU) add what recomputation runs again: the whole layer forward (full) or the
attention score term (selective). Norms, softmax and activations are not counted (bytes, not FLOPs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from aidc.planning.models import ModelArch

Recompute = Literal["none", "selective", "full"]


@dataclass(frozen=True)
class LayerFlops:
    """Forward FLOPs of one layer for one token (unsharded)."""

    qkv: float
    attn_scores: float  # QK^T + AV over the full sequence
    out_proj: float
    mlp: float

    @property
    def dense(self) -> float:
        """The weight GEMMs: projections and MLP."""
        return self.qkv + self.out_proj + self.mlp

    @property
    def total(self) -> float:
        return self.dense + self.attn_scores


def layer_fwd_flops_per_token(arch: ModelArch, seq_len: int | None = None) -> LayerFlops:
    """Forward FLOPs per token of one layer at a sequence length (default: the model's)."""
    s = seq_len or arch.seq_len
    h, kv = arch.d_model, arch.kv_heads * arch.head_dim
    return LayerFlops(
        qkv=2.0 * h * (h + 2 * kv),
        attn_scores=4.0 * s * h,
        out_proj=2.0 * h * h,
        mlp=2.0 * arch.mlp_matrices * h * arch.ffn,
    )


def logits_fwd_flops_per_token(arch: ModelArch) -> float:
    return 2.0 * arch.d_model * arch.vocab


def model_flops_per_token(arch: ModelArch, seq_len: int | None = None) -> float:
    """Training FLOPs per token without recomputation (the MFU numerator): 3x forward."""
    layer = layer_fwd_flops_per_token(arch, seq_len)
    return 3.0 * (arch.n_layers * layer.total + logits_fwd_flops_per_token(arch))


def recompute_flops_per_token(arch: ModelArch, recompute: Recompute, seq_len: int | None = None,
                              fraction: float = 1.0) -> float:
    """Extra forward FLOPs per token that activation recomputation runs again (full: of `fraction` of the layers)."""
    layer = layer_fwd_flops_per_token(arch, seq_len)
    if recompute == "full":
        return fraction * arch.n_layers * layer.total
    if recompute == "selective":
        return arch.n_layers * layer.attn_scores
    return 0.0


def hardware_flops_per_token(arch: ModelArch, recompute: Recompute, seq_len: int | None = None,
                             fraction: float = 1.0) -> float:
    """Training FLOPs per token the GPUs actually execute (the HFU numerator)."""
    return model_flops_per_token(arch, seq_len) + recompute_flops_per_token(arch, recompute, seq_len, fraction)


def six_nd_flops_per_token(arch: ModelArch) -> float:
    """The 6·N approximation (N = parameters without embeddings), for comparison in reports."""
    return 6.0 * arch.n_layers * arch.layer_params()
