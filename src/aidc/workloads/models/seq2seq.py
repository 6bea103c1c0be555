"""An encoder-decoder Transformer in one file (Vaswani et al. 2017, pre-norm): config, layers, model.

    model = Seq2Seq(Seq2SeqConfig(vocab_size=8000))
    logits, loss = model(src, tgt_in, tgt_out)               # training, padding id 0 masked
    memory = model.encode(src); logits, past = model.decode(tgt, memory, src_valid, past=past)
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

PAD_ID = 0


class Seq2SeqConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["seq2seq"] = "seq2seq"
    vocab_size: int = Field(8000, ge=8, description="shared source/target vocabulary size")
    max_len: int = Field(128, ge=2, description="longest source or target sequence, in tokens")
    n_encoder_layer: int = Field(3, ge=1, description="encoder blocks")
    n_decoder_layer: int = Field(3, ge=1, description="decoder blocks")
    n_head: int = Field(4, ge=1, description="query heads per attention layer")
    n_kv_head: int | None = Field(None, ge=1, description="key/value heads (grouped-query); None = n_head")
    d_model: int = Field(256, ge=8, description="width of the residual stream (C)")
    dropout: float = Field(0.1, ge=0, lt=1, description="dropout on embeddings and sub-layer outputs")
    bias: bool = Field(False, description="biases in Linear and LayerNorm layers")
    norm: Literal["layernorm", "rmsnorm"] = Field("layernorm", description="normalisation before each sub-layer")
    positions: Literal["learned", "sinusoidal"] = Field("sinusoidal", description="absolute positional encoding")

    @model_validator(mode="after")
    def _check(self) -> "Seq2SeqConfig":
        check_heads(self.d_model, self.n_head, self.n_kv_head)
        return self


class EncoderBlock(nn.Module):
    def __init__(self, cfg: Seq2SeqConfig) -> None:
        super().__init__()
        self.norm1, self.norm2 = make_norm(cfg.norm, cfg.d_model, cfg.bias), make_norm(cfg.norm, cfg.d_model, cfg.bias)
        self.attn = Attention(cfg.d_model, cfg.n_head, cfg.n_kv_head or cfg.n_head, cfg.bias, cfg.dropout)
        self.mlp = MLP(cfg.d_model, cfg.bias, cfg.dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), mask=mask)[0]
        return x + self.mlp(self.norm2(x))


class DecoderBlock(nn.Module):
    """Causal self-attention, cross-attention over the encoder memory, feed-forward."""

    def __init__(self, cfg: Seq2SeqConfig) -> None:
        super().__init__()
        kv = cfg.n_kv_head or cfg.n_head
        self.norm1, self.norm2, self.norm3 = (make_norm(cfg.norm, cfg.d_model, cfg.bias) for _ in range(3))
        self.self_attn = Attention(cfg.d_model, cfg.n_head, kv, cfg.bias, cfg.dropout)
        self.cross_attn = Attention(cfg.d_model, cfg.n_head, kv, cfg.bias, cfg.dropout, cross=True)
        self.mlp = MLP(cfg.d_model, cfg.bias, cfg.dropout)

    def forward(self, x: torch.Tensor, memory: torch.Tensor, mem_mask: torch.Tensor, self_mask: torch.Tensor | None,
                past: tuple[KV, KV] | None) -> tuple[torch.Tensor, tuple[KV, KV]]:
        a, self_kv = self.self_attn(self.norm1(x), past=past[0] if past else None, mask=self_mask, causal=True)
        x = x + a
        c, cross_kv = self.cross_attn(self.norm2(x), kv_source=memory, kv=past[1] if past else None, mask=mem_mask)
        x = x + c
        return x + self.mlp(self.norm3(x)), (self_kv, cross_kv)


class Seq2Seq(nn.Module):
    def __init__(self, cfg: Seq2SeqConfig) -> None:
        super().__init__()
        self.config = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)  # shared by encoder, decoder and output head
        if cfg.positions == "learned":
            self.pos = nn.Embedding(cfg.max_len, cfg.d_model)
        else:
            self.register_buffer("pos_table", sinusoidal_positions(cfg.max_len, cfg.d_model), persistent=False)
        self.drop = nn.Dropout(cfg.dropout) if cfg.dropout > 0 else nn.Identity()
        self.encoder = nn.ModuleList(EncoderBlock(cfg) for _ in range(cfg.n_encoder_layer))
        self.decoder = nn.ModuleList(DecoderBlock(cfg) for _ in range(cfg.n_decoder_layer))
        self.norm_enc = make_norm(cfg.norm, cfg.d_model, cfg.bias)
        self.norm_dec = make_norm(cfg.norm, cfg.d_model, cfg.bias)
        self.lm_head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        self.apply(init_weights)
        self.lm_head.weight = self.embed.weight

    def _embed(self, ids: torch.Tensor, start: int = 0) -> torch.Tensor:
        pos = torch.arange(start, start + ids.shape[1], device=ids.device).clamp(max=self.config.max_len - 1)
        p = self.pos(pos) if self.config.positions == "learned" else self.pos_table[pos]
        return self.drop(self.embed(ids) * self.config.d_model**0.5 + p)  # (B, T, C)

    def encode(self, src: torch.Tensor) -> torch.Tensor:
        """src (B, S) with PAD_ID padding -> memory (B, S, C)."""
        mask = (src != PAD_ID)[:, None, None, :]  # (B, 1, 1, S)
        x = self._embed(src)
        for block in self.encoder:
            x = block(x, mask)
        return self.norm_enc(x)

    def decode(self, tgt: torch.Tensor, memory: torch.Tensor, src: torch.Tensor,
               past: list[tuple[KV, KV]] | None = None) -> tuple[torch.Tensor, list[tuple[KV, KV]]]:
        """tgt (B, T) continuing `past` -> logits (B, T, vocab) and the new cache."""
        P = past[0][0][0].shape[2] if past else 0
        mem_mask = (src != PAD_ID)[:, None, None, :]  # (B, 1, 1, S)
        self_mask = causal_mask(torch.ones(tgt.shape[0], P + tgt.shape[1], dtype=torch.bool, device=tgt.device),
                                tgt.shape[1]) if P else None
        x = self._embed(tgt, P)
        cache = []
        for i, block in enumerate(self.decoder):
            x, kv = block(x, memory, mem_mask, self_mask, past[i] if past else None)
            cache.append(kv)
        return self.lm_head(self.norm_dec(x)), cache

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor, tgt_out: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        logits, _ = self.decode(tgt_in, self.encode(src), src)
        if tgt_out is None:
            return logits, None
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), tgt_out.reshape(-1), ignore_index=PAD_ID)
        return logits, loss

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def flops_per_token(self, seq_len: int) -> float:
        """Training FLOPs per target token, the 6N + 12 L T C estimate with L all layers."""
        cfg = self.config
        return 6 * self.num_params() + 12 * (cfg.n_encoder_layer + cfg.n_decoder_layer) * seq_len * cfg.d_model
