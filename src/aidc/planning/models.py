"""Transformer architectures the planner reasons about, and a few well-known presets by name."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, PositiveInt, model_validator

from aidc.core.errors import UnknownNameError, did_you_mean
from aidc.core.strict import StrictModel

MlpType = Literal["2-matrix", "swiglu"]


class ModelArch(StrictModel):
    """A dense decoder-only Transformer. `n_kv_heads` < `n_heads` is grouped-query attention."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False)

    name: str = "custom"
    n_layers: PositiveInt
    d_model: PositiveInt
    n_heads: PositiveInt
    n_kv_heads: PositiveInt | None = Field(default=None, description="None = n_heads (multi-head)")
    ffn_dim: PositiveInt | None = Field(default=None, description="None = 4 x d_model")
    mlp_type: MlpType = Field(default="swiglu", description="2-matrix (GeLU) or swiglu (gate, up, down)")
    vocab: PositiveInt
    seq_len: PositiveInt = Field(description="training context length, tokens")
    tied_embeddings: bool = False

    @model_validator(mode="after")
    def _shapes(self) -> "ModelArch":
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model {self.d_model} is not a multiple of n_heads {self.n_heads}")
        if self.n_heads % self.kv_heads:
            raise ValueError(f"n_heads {self.n_heads} is not a multiple of n_kv_heads {self.kv_heads}")
        return self

    @property
    def kv_heads(self) -> int:
        return self.n_kv_heads or self.n_heads

    @property
    def ffn(self) -> int:
        return self.ffn_dim or 4 * self.d_model

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    @property
    def mlp_matrices(self) -> int:
        return 3 if self.mlp_type == "swiglu" else 2

    def layer_params(self) -> int:
        """Weights of one layer: Q, K, V, O projections, the MLP matrices, two norms (no biases)."""
        h, kv = self.d_model, self.kv_heads * self.head_dim
        attn = h * h + 2 * h * kv + h * h
        return attn + self.mlp_matrices * h * self.ffn + 2 * h

    def embedding_params(self) -> int:
        """Input embedding plus output projection (once when tied)."""
        return self.vocab * self.d_model * (1 if self.tied_embeddings else 2)

    def total_params(self) -> int:
        return self.n_layers * self.layer_params() + self.embedding_params() + self.d_model


def _arch(name: str, L: int, h: int, a: int, kv: int, f: int, V: int, s: int, mlp: MlpType = "swiglu") -> ModelArch:
    return ModelArch(name=name, n_layers=L, d_model=h, n_heads=a, n_kv_heads=kv, ffn_dim=f, mlp_type=mlp,
                     vocab=V, seq_len=s)


# Shapes from the published configs (HF config.json of each model; GPT-3 from Brown et al. 2020).
PRESETS: dict[str, ModelArch] = {m.name: m for m in (
    _arch("llama-2-7b", 32, 4096, 32, 32, 11008, 32000, 4096),
    _arch("llama-2-13b", 40, 5120, 40, 40, 13824, 32000, 4096),
    _arch("llama-2-70b", 80, 8192, 64, 8, 28672, 32000, 4096),
    _arch("llama-3-8b", 32, 4096, 32, 8, 14336, 128256, 8192),
    _arch("llama-3-70b", 80, 8192, 64, 8, 28672, 128256, 8192),
    _arch("llama-3.1-405b", 126, 16384, 128, 8, 53248, 128256, 8192),
    _arch("gpt-3-175b", 96, 12288, 96, 96, 49152, 50257, 2048, "2-matrix").model_copy(update={"tied_embeddings": True}),
    _arch("tiny-test", 2, 64, 4, 2, 128, 100, 32),
)}


def get_preset(name: str) -> ModelArch:
    """A preset by name; UnknownNameError with a suggestion otherwise."""
    key = name.strip().lower()
    if key not in PRESETS:
        raise UnknownNameError(f"unknown model {name!r}{did_you_mean(name, list(PRESETS))}")
    return PRESETS[key]
