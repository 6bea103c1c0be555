"""A decoder-only GPT in one file (after nanoGPT): config, block, model, KV-cache forward, FLOPs and MFU.

    model = GPT(GPTConfig(vocab_size=8000, n_layer=4, n_head=4, d_model=256))
    logits, loss, past = model(idx, targets)                 # training
    logits, _, past = model(next_ids, past=past, ...)        # one decoding step with the KV cache
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import nn

from aidc.workloads.models.layers import (
    KV, MLP, Attention, causal_mask, check_heads, init_weights, make_norm, sinusoidal_positions,
)


class GPTConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["gpt"] = "gpt"
    vocab_size: int = Field(8000, ge=8, description="tokens in the vocabulary (the tokenizer's size)")
    block_size: int = Field(256, ge=2, description="longest context the model is trained on, in tokens")
    n_layer: int = Field(4, ge=1, description="transformer blocks")
    n_head: int = Field(4, ge=1, description="query heads per attention layer")
    n_kv_head: int | None = Field(None, ge=1, description="key/value heads (grouped-query attention); None = n_head")
    d_model: int = Field(256, ge=8, description="width of the residual stream (C)")
    dropout: float = Field(0.0, ge=0, lt=1, description="dropout on attention and MLP outputs")
    bias: bool = Field(False, description="biases in Linear and LayerNorm layers")
    norm: Literal["layernorm", "rmsnorm"] = Field("layernorm", description="normalisation before each sub-layer")
    positions: Literal["learned", "sinusoidal"] = Field("learned", description="absolute positional encoding")
    tie_embeddings: bool = Field(True, description="share the token embedding with the output head")

    @model_validator(mode="after")
    def _check(self) -> "GPTConfig":
        check_heads(self.d_model, self.n_head, self.n_kv_head)
        return self


class Block(nn.Module):
    """Pre-norm block: x + attn(norm(x)), then x + mlp(norm(x))."""

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.norm1 = make_norm(cfg.norm, cfg.d_model, cfg.bias)
        self.attn = Attention(cfg.d_model, cfg.n_head, cfg.n_kv_head or cfg.n_head, cfg.bias, cfg.dropout)
        self.norm2 = make_norm(cfg.norm, cfg.d_model, cfg.bias)
        self.mlp = MLP(cfg.d_model, cfg.bias, cfg.dropout)

    def forward(self, x: torch.Tensor, past: KV | None, mask: torch.Tensor | None) -> tuple[torch.Tensor, KV]:
        a, kv = self.attn(self.norm1(x), past=past, mask=mask, causal=True)
        x = x + a
        return x + self.mlp(self.norm2(x)), kv


class GPT(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.config = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.d_model)
        if cfg.positions == "learned":
            self.wpe = nn.Embedding(cfg.block_size, cfg.d_model)
        else:
            self.register_buffer("pos_table", sinusoidal_positions(cfg.block_size, cfg.d_model), persistent=False)
        self.drop = nn.Dropout(cfg.dropout) if cfg.dropout > 0 else nn.Identity()
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.norm_f = make_norm(cfg.norm, cfg.d_model, cfg.bias)
        self.lm_head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        self.apply(init_weights)
        if cfg.tie_embeddings:
            self.lm_head.weight = self.wte.weight

    def _positions(self, pos: torch.Tensor) -> torch.Tensor:
        pos = pos.clamp(0, self.config.block_size - 1)
        return self.wpe(pos) if self.config.positions == "learned" else self.pos_table[pos]

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None, *,
                attention_mask: torch.Tensor | None = None, position_ids: torch.Tensor | None = None,
                past: list[KV] | None = None) -> tuple[torch.Tensor, torch.Tensor | None, list[KV]]:
        """idx (B, T) token ids. For training leave the rest None (causal fast path). For decoding pass
        `attention_mask` (B, S) over past + new keys (0 = padding), `position_ids` (B, T) and `past`."""
        B, T = idx.shape
        P = past[0][0].shape[2] if past else 0
        if position_ids is None:  # (T,): one row of position embeddings, broadcast over the batch
            position_ids = torch.arange(P, P + T, device=idx.device)
        mask = causal_mask(attention_mask, T) if attention_mask is not None else None
        if mask is None and P:
            mask = causal_mask(torch.ones(B, P + T, dtype=torch.bool, device=idx.device), T)
        x = self.drop(self.wte(idx) + self._positions(position_ids))  # (B, T, C)
        presents = []
        for i, block in enumerate(self.blocks):
            x, kv = block(x, past[i] if past else None, mask)
            presents.append(kv)
        x = self.norm_f(x)
        if targets is None:
            return self.lm_head(x), None, presents  # (B, T, vocab)
        logits = self.lm_head(x)
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)).float(), targets.reshape(-1), ignore_index=-100)
        return logits, loss, presents

    def num_params(self, non_embedding: bool = True) -> int:
        n = sum(p.numel() for p in self.parameters())
        return n - (self.wpe.weight.numel() if non_embedding and hasattr(self, "wpe") else 0)

    def flops_per_token(self, seq_len: int) -> float:
        """Training FLOPs per token (forward + backward): 6N + 12 L T C (PaLM appendix B, as in nanoGPT)."""
        cfg = self.config
        return 6 * self.num_params() + 12 * cfg.n_layer * seq_len * cfg.d_model
