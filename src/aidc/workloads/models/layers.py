"""Building blocks shared by the GPT and the encoder-decoder: attention (with KV cache and GQA), MLP, norms.

Shapes: B batch, T query length, S key length, C = d_model, nh heads, nkv key/value heads, hs = C // nh.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

KV = tuple[torch.Tensor, torch.Tensor]  # (B, nkv, S, hs) each


class RMSNorm(nn.Module):
    """Root-mean-square norm (no mean subtraction, no bias)."""

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def check_heads(d_model: int, n_head: int, n_kv_head: int | None) -> None:
    """The head counts a model config may have: d_model splits into n_head heads, n_head into KV groups."""
    kv = n_kv_head or n_head
    if d_model % n_head or n_head % kv:
        raise ValueError(f"d_model ({d_model}) must be a multiple of n_head ({n_head}), "
                         f"and n_head a multiple of n_kv_head ({kv})")


def make_norm(kind: str, dim: int, bias: bool) -> nn.Module:
    return RMSNorm(dim) if kind == "rmsnorm" else nn.LayerNorm(dim, bias=bias)


def sinusoidal_positions(n_pos: int, dim: int) -> torch.Tensor:
    """(n_pos, dim) fixed sine/cosine positional encodings (Vaswani et al. 2017)."""
    pos = torch.arange(n_pos, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(n_pos, dim)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq[: dim // 2])
    return table


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None,
              causal: bool = False, dropout_p: float = 0.0) -> torch.Tensor:
    """softmax(q k^T / sqrt(hs) + mask) v through the fused kernel; q (B, nh, T, hs), k/v (B, nh, S, hs).

    `mask` is boolean (True = may attend), broadcastable to (B, nh, T, S); `causal` applies only
    without a mask (the mask then carries causality itself).
    """
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p,
                                          is_causal=causal and mask is None)


class Attention(nn.Module):
    """Multi-head (optionally grouped-query) self- or cross-attention."""

    def __init__(self, d_model: int, n_head: int, n_kv_head: int, bias: bool, dropout: float, cross: bool = False) -> None:
        super().__init__()
        assert d_model % n_head == 0 and n_head % n_kv_head == 0, "heads must divide d_model and n_head"
        self.n_head, self.n_kv_head, self.hs, self.cross = n_head, n_kv_head, d_model // n_head, cross
        kv_width = 2 * n_kv_head * self.hs
        if cross:  # queries from the decoder, keys and values from the encoder memory
            self.q = nn.Linear(d_model, d_model, bias=bias)
            self.kv = nn.Linear(d_model, kv_width, bias=bias)
        else:  # one fused projection: a single matrix multiply for q, k and v
            self.qkv = nn.Linear(d_model, d_model + kv_width, bias=bias)
        self.proj = nn.Linear(d_model, d_model, bias=bias)
        self.dropout = dropout

    def _heads(self, t: torch.Tensor, n: int) -> torch.Tensor:
        B, S, _ = t.shape
        return t.view(B, S, n, self.hs).transpose(1, 2)  # (B, n, S, hs)

    def forward(self, x: torch.Tensor, *, kv_source: torch.Tensor | None = None, kv: KV | None = None,
                past: KV | None = None, mask: torch.Tensor | None = None, causal: bool = False
                ) -> tuple[torch.Tensor, KV]:
        """x (B, T, C). Self-attention appends this step's keys to `past`; cross-attention takes
        `kv_source` (B, S, C) or precomputed `kv`. Returns the output (B, T, C) and the keys/values used."""
        B, T, C = x.shape
        kv_width = self.n_kv_head * self.hs
        if self.cross:
            q = self._heads(self.q(x), self.n_head)  # (B, nh, T, hs)
            if kv is None:
                k, v = self.kv(kv_source).split(kv_width, dim=2)
                kv = (self._heads(k, self.n_kv_head), self._heads(v, self.n_kv_head))  # (B, nkv, S, hs) each
        else:
            q, k, v = self.qkv(x).split([C, kv_width, kv_width], dim=2)
            q, k, v = self._heads(q, self.n_head), self._heads(k, self.n_kv_head), self._heads(v, self.n_kv_head)
            if past is not None:  # the KV cache: earlier positions' keys and values
                k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
            kv = (k, v)
        k, v = kv
        if self.n_kv_head != self.n_head:  # grouped-query: each kv head serves n_head / n_kv_head queries
            rep = self.n_head // self.n_kv_head
            k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)  # (B, nh, S, hs)
        y = attention(q, k, v, mask, causal, self.dropout if self.training else 0.0)  # (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.proj(y), kv


class MLP(nn.Module):
    """Position-wise feed-forward: C -> 4C -> C with GELU."""

    def __init__(self, d_model: int, bias: bool, dropout: float) -> None:
        super().__init__()
        self.fc = nn.Linear(d_model, 4 * d_model, bias=bias)
        self.proj = nn.Linear(4 * d_model, d_model, bias=bias)
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.proj(F.gelu(self.fc(x))))


def causal_mask(key_valid: torch.Tensor, T: int) -> torch.Tensor:
    """(B, 1, T, S) boolean: query i (the last T of S positions) sees valid keys j <= its position."""
    B, S = key_valid.shape
    q_pos = torch.arange(S - T, S, device=key_valid.device)[:, None]  # (T, 1)
    k_pos = torch.arange(S, device=key_valid.device)[None, :]  # (1, S)
    allowed = (k_pos <= q_pos)[None, None] & key_valid[:, None, None, :].bool()  # (B, 1, T, S)
    # a fully masked row (a padding query) would give NaN; let it see itself
    return allowed | (~allowed.any(-1, keepdim=True) & (k_pos == q_pos)[None, None])


def init_weights(module: nn.Module) -> None:
    """GPT-2 initialisation: N(0, 0.02) for linear and embedding weights, zero biases."""
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
