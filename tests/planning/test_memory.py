"""Per-GPU memory: bytes per parameter by ZeRO stage, and activations against Korthikanti et al. 2022."""

from __future__ import annotations

import pytest

from aidc.planning.config import ParallelConfig
from aidc.planning.memory import (GIB, activation_bytes_per_token, in_flight_layers, layer_params_per_gpu,
                                  state_gib, training_memory)
from aidc.planning.models import ModelArch, get_preset

GPT22B = ModelArch(n_layers=48, d_model=6144, n_heads=64, ffn_dim=24576, mlp_type="2-matrix", vocab=51200, seq_len=2048)
GPT175B = get_preset("gpt-3-175b").model_copy(update={"vocab": 51200})


@pytest.mark.parametrize("zero, expect_bytes", [(0, (2, 4, 12)), (1, (2, 4, 12 / 8)), (2, (2, 4 / 8, 12 / 8)),
                                                 (3, (2 / 8, 4 / 8, 12 / 8))])
def test_state_bytes_by_zero_stage(zero: int, expect_bytes: tuple[float, float, float]) -> None:
    cfg = ParallelConfig(dp=8, zero_stage=zero)
    w, g, o = state_gib(1e9, cfg)
    assert (w, g, o) == pytest.approx(tuple(b * 1e9 / GIB for b in expect_bytes))


def test_zero_shards_over_context_parallel_ranks_too() -> None:
    _, _, o = state_gib(1e9, ParallelConfig(dp=4, cp=2, zero_stage=1))
    assert o == pytest.approx(12 * 1e9 / 8 / GIB)


def test_layer_state_matches_megatron_anchor() -> None:
    """M-seqsel-22B: 45.5625 GiB of weights+grads+optimizer per GPU at TP8 (18 bytes x layer params)."""
    cfg = ParallelConfig(tp=8, zero_stage=0)
    assert 18 * layer_params_per_gpu(GPT22B, cfg) / GIB == pytest.approx(45.5625, rel=0.01)


def test_activations_match_korthikanti_formulas() -> None:
    """22B, TP8, micro-batch 4: 59.25 GiB without recompute, 9.5625 GiB with SP + selective (Fig. 1)."""
    plain = ParallelConfig(tp=8, micro_batch=4, recompute="none", sequence_parallel=False)
    per_layer = activation_bytes_per_token(GPT22B, plain, flash=False) * 4 * 2048
    sbh = 4 * 2048 * 6144
    assert per_layer == pytest.approx(sbh * (10 + 24 / 8) + 5 * 64 * 2048**2 * 4 / 8)
    assert per_layer * 48 / GIB == pytest.approx(59.25, rel=0.01)
    sel = ParallelConfig(tp=8, micro_batch=4, recompute="selective", sequence_parallel=True)
    assert activation_bytes_per_token(GPT22B, sel, flash=False) * sbh / 6144 * 48 / GIB == pytest.approx(9.5625, rel=0.01)


def test_interleaved_pipeline_holds_more_in_flight() -> None:
    """175B, PP8, interleave 3: the first stage holds L/pp·pp·(1 + (pp-1)/(pp·v)) layers -> 66.8 GiB (Fig. 1)."""
    cfg = ParallelConfig(tp=8, pp=8, virtual_pipeline=3, recompute="none", sequence_parallel=False)
    assert in_flight_layers(GPT175B, cfg, n_micro=64) == pytest.approx(12 * 8 * (1 + 7 / 24))
    mem = training_memory(GPT175B, cfg, n_micro=64, flash=False)
    assert mem.activations_gib == pytest.approx(66.84, rel=0.02)


def test_full_recompute_and_flash_shrink_activations() -> None:
    arch = get_preset("llama-3-8b")
    base = ParallelConfig(tp=2, micro_batch=1, recompute="none", sequence_parallel=True)
    full = ParallelConfig(tp=2, micro_batch=1, recompute="full", sequence_parallel=True)
    assert activation_bytes_per_token(arch, full, flash=True) == 2 * 4096 / 2
    assert activation_bytes_per_token(arch, base, flash=False) > activation_bytes_per_token(arch, base, flash=True)


def test_memory_breakdown_adds_up() -> None:
    mem = training_memory(get_preset("llama-3-8b"), ParallelConfig(tp=2, dp=4, micro_batch=2), n_micro=8)
    assert mem.total_gib == pytest.approx(mem.weights_gib + mem.grads_gib + mem.optimizer_gib + mem.activations_gib)
    assert set(mem.as_dict()) >= {"weights_grads_optimizer", "activations", "total"}


def test_partial_full_recompute_sits_between_none_and_full() -> None:
    arch = get_preset("llama-3-8b")
    cfgs = [ParallelConfig(tp=2, micro_batch=1, recompute=rc, recompute_fraction=f, sequence_parallel=True)
            for rc, f in (("none", 1.0), ("full", 0.5), ("full", 1.0))]
    none, half, full = (activation_bytes_per_token(arch, c, flash=True) for c in cfgs)
    assert half == pytest.approx((none + full) / 2)
