"""FLOP counts against hand computation: a tiny GQA/SwiGLU model, and Megatron's closed form for GPT."""

from __future__ import annotations

import pytest

from aidc.planning.flops import (hardware_flops_per_token, layer_fwd_flops_per_token, logits_fwd_flops_per_token,
                                 model_flops_per_token, recompute_flops_per_token)
from aidc.planning.models import ModelArch, get_preset

# tiny-test: L=2, h=64, 4 heads of 16, 2 KV heads (kv dim 32), SwiGLU ffn 128, vocab 100, seq 32.


def test_tiny_layer_flops_by_hand() -> None:
    f = layer_fwd_flops_per_token(get_preset("tiny-test"))
    assert f.qkv == 2 * 64 * (64 + 2 * 32) == 16384  # GQA: K and V are 32 wide
    assert f.out_proj == 2 * 64 * 64 == 8192
    assert f.mlp == 2 * 3 * 64 * 128 == 49152  # SwiGLU: gate, up and down
    assert f.attn_scores == 4 * 32 * 64 == 8192  # QK^T + AV over the full sequence
    assert f.total == 81920


def test_tiny_model_and_hardware_flops() -> None:
    arch = get_preset("tiny-test")
    assert logits_fwd_flops_per_token(arch) == 2 * 64 * 100
    assert model_flops_per_token(arch) == 3 * (2 * 81920 + 12800) == 529920
    assert recompute_flops_per_token(arch, "selective") == 2 * 8192
    assert recompute_flops_per_token(arch, "full") == 2 * 81920
    assert hardware_flops_per_token(arch, "none") == model_flops_per_token(arch)
    assert hardware_flops_per_token(arch, "full") == 529920 + 163840


def test_tiny_parameter_count() -> None:
    arch = get_preset("tiny-test")
    assert arch.layer_params() == (64 * 64 * 2 + 2 * 64 * 32) + 3 * 64 * 128 + 2 * 64 == 36992
    assert arch.total_params() == 2 * 36992 + 2 * 100 * 64 + 64


def test_gpt_matches_megatron_closed_form() -> None:
    """Narayanan et al. 2021 without recompute: 72·B·s·L·h²·(1 + s/6h + V/12Lh) per step."""
    arch = get_preset("gpt-3-175b")
    L, h, s, V = arch.n_layers, arch.d_model, arch.seq_len, arch.vocab
    closed = 72 * s * L * h**2 * (1 + s / (6 * h) + V / (12 * L * h))
    assert model_flops_per_token(arch) * s == pytest.approx(closed, rel=1e-12)
    assert arch.total_params() / 1e9 == pytest.approx(174.6, abs=0.5)


def test_mha_and_2matrix_defaults() -> None:
    arch = ModelArch(n_layers=1, d_model=128, n_heads=8, vocab=10, seq_len=16, mlp_type="2-matrix")
    f = layer_fwd_flops_per_token(arch)
    assert arch.ffn == 512 and arch.kv_heads == 8
    assert f.qkv == 2 * 128 * 3 * 128 and f.mlp == 2 * 2 * 128 * 512


def test_shape_validation() -> None:
    with pytest.raises(ValueError, match="multiple of n_heads"):
        ModelArch(n_layers=1, d_model=100, n_heads=8, vocab=10, seq_len=16)
    with pytest.raises(ValueError, match="n_kv_heads"):
        ModelArch(n_layers=1, d_model=96, n_heads=12, n_kv_heads=5, vocab=10, seq_len=16)
