"""Serving physics: decode reads weights and KV cache, prefill is compute, the KV cache bounds concurrency."""

from __future__ import annotations

import pytest

from aidc.core.gpus import get_gpu
from aidc.planning.config import Hardware
from aidc.planning.inference import (ServeJob, decode_step_s, estimate_inference, kv_bytes_per_token,
                                     max_concurrency, prefill_s, weights_bytes_per_gpu)
from aidc.planning.memory import GIB
from aidc.planning.models import get_preset
from aidc.planning.params import DEFAULT_PARAMS

H100 = Hardware(gpu=get_gpu("H100-SXM"))


def job(tp: int = 1, precision: str = "bf16", model: str = "llama-3-8b") -> ServeJob:
    return ServeJob(arch=get_preset(model), hw=H100, tp=tp, precision=precision, kv_precision=precision)  # type: ignore[arg-type]


def test_kv_bytes_follow_gqa() -> None:
    # 32 layers x 8 KV heads x 128 x (K and V) x 2 bytes = 128 KiB per token
    assert kv_bytes_per_token(job()) == 32 * 8 * 128 * 2 * 2
    assert kv_bytes_per_token(job(tp=2)) == kv_bytes_per_token(job()) / 2
    assert kv_bytes_per_token(job(precision="fp8")) == kv_bytes_per_token(job()) / 2


def test_batch_one_decode_is_a_weight_read() -> None:
    j = job()
    hbm = H100.gpu.memory_bw_gbs * 1e9 * DEFAULT_PARAMS.eff.mem_bw_eff
    floor = weights_bytes_per_gpu(j) / hbm
    step = decode_step_s(j, 1, 128)
    assert floor < step < 1.15 * floor


def test_batching_raises_throughput_but_slows_each_token() -> None:
    small = estimate_inference(job(), batch_size=8, input_len=512, output_len=256)
    large = estimate_inference(job(), batch_size=128, input_len=512, output_len=256)
    assert large.output_tokens_per_s_per_gpu > 5 * small.output_tokens_per_s_per_gpu
    assert large.tpot_ms > small.tpot_ms


def test_prefill_scales_with_prompt_tokens() -> None:
    assert prefill_s(job(), 1, 4096) > 3 * prefill_s(job(), 1, 1024)


def test_kv_capacity_is_free_memory_over_kv_per_sequence() -> None:
    j = job()
    free = (80 - 3) * GIB - weights_bytes_per_gpu(j)
    assert max_concurrency(j, 4096) == int(free * 0.9 // (kv_bytes_per_token(j) * 4096))
    assert max_concurrency(job(model="llama-3.1-405b"), 4096) == 0  # weights alone overflow one GPU


def test_tensor_parallel_speeds_up_a_big_model() -> None:
    one = estimate_inference(job(tp=4, model="llama-3-70b"), batch_size=1, input_len=1024, output_len=128)
    two = estimate_inference(job(tp=8, model="llama-3-70b"), batch_size=1, input_len=1024, output_len=128)
    assert two.tpot_ms < one.tpot_ms
    assert pytest.approx(one.weights_gib_per_gpu / 2, rel=0.01) == two.weights_gib_per_gpu


def test_a_batch_whose_kv_caches_do_not_fit_runs_in_waves() -> None:
    j = job()  # llama-3-8b on one H100
    from aidc.planning.inference import max_concurrency

    fits = max_concurrency(j, 128 + 32768, fraction=1.0)
    assert 0 < fits < 64
    inside = estimate_inference(j, batch_size=fits, input_len=128, output_len=32768)
    over = estimate_inference(j, batch_size=2 * fits, input_len=128, output_len=32768)
    assert over.batch_size == fits  # the engine holds only what fits
    assert over.output_tokens_per_s_per_gpu == pytest.approx(inside.output_tokens_per_s_per_gpu, rel=1e-9)


def test_weights_that_cannot_fit_are_a_plan_error_and_an_unpublished_tp_is_searched() -> None:
    from aidc.planning.cases import run_inference_case
    from aidc.planning.search import PlanError

    with pytest.raises(PlanError, match="do not fit"):
        estimate_inference(job(model="llama-3-70b"), batch_size=1, input_len=128, output_len=128)
    arch = get_preset("llama-3-70b")
    case = {"id": "I-70b", "gpu_type": "H100-SXM", "tp": None, "pp": None, "precision": "bf16", "batch_size": 8,
            "input_len": 512, "output_len": 128,
            "model": {"n_layers": arch.n_layers, "d_model": arch.d_model, "n_heads": arch.n_heads,
                      "n_kv_heads": arch.n_kv_heads, "ffn_dim": arch.ffn_dim, "mlp_type": "swiglu",
                      "vocab": arch.vocab, "seq_len": 8192, "params_b": 70}}
    out = run_inference_case(case)
    assert out["parallelism"]["tp"] == 2 and {"field": "tp", "value": 2} in [
        {k: a[k] for k in ("field", "value")} for a in out["assumptions"]]
