"""`run_cases` on the case format: one object per case, predictions that apply, errors instead of crashes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aidc.planning.cases import case_fixed, load_cases, run_cases

TRAIN_KEYS = {"iter_time_s", "tokens_per_s_per_gpu", "model_tflops_per_gpu", "mfu", "hfu", "gpu_hours", "wall_days",
              "energy_mwh", "memory_gib_per_gpu", "parallelism"}


def test_mini_file_gives_one_object_per_case(fixtures: Path) -> None:
    data = load_cases(fixtures / "cases-mini.json")
    out = run_cases(data)
    expected = [c["id"] for c in data["training_cases"] + data["inference_cases"] + data["memory_anchors"]]
    assert [o["id"] for o in out] == expected
    by = {o["id"]: o for o in out}
    assert TRAIN_KEYS <= set(by["T-mini-gpt"])
    assert by["T-mini-gpt"]["gpu_hours"] > 0 and 0 < by["T-mini-gpt"]["mfu"] < 1
    assert "error" in by["T-mini-broken"] and "error" in by["T-mini-unknown-gpu"]
    assert "TPU-v9" in by["T-mini-unknown-gpu"]["error"]
    assert "error" in by["M-mini-dangling"]
    assert by["I-mini-a100-ttft"]["ttft_ms"] > 0
    json.dumps(out)  # JSON-ready


def test_published_layout_is_used(fixtures: Path) -> None:
    out = {o["id"]: o for o in run_cases(load_cases(fixtures / "cases-mini.json"))}
    par = out["T-mini-seqsel-22B"]["parallelism"]
    assert (par["tp"], par["pp"], par["dp"], par["micro_batch"]) == (8, 1, 1, 4)
    assert par["recompute"] == "selective" and par["sequence_parallel"] is True


def test_memory_anchor_within_ten_percent(fixtures: Path) -> None:
    out = {o["id"]: o for o in run_cases(load_cases(fixtures / "cases-mini.json"))}
    mem = out["M-mini-seqsel-22B"]["memory_gib_per_gpu"]
    assert mem["weights_grads_optimizer"] == pytest.approx(45.5625, rel=0.10)
    assert mem["activations"] == pytest.approx(9.5625, rel=0.10)
    assert mem["activations_no_recompute"] == pytest.approx(59.25, rel=0.10)


def test_model_parallel_size_splits_tp_inside_the_node() -> None:
    fx = case_fixed({"precision": "fp16 mixed", "parallelism": {"model_parallel_size": 64}})
    assert (fx.tp, fx.pp, fx.sequence_parallel) == (8, 8, False)


def test_legacy_case_prefers_zero0_but_relaxes_when_it_cannot_fit(fixtures: Path) -> None:
    out = {o["id"]: o for o in run_cases(load_cases(fixtures / "cases-mini.json"))}
    assert out["T-mini-seqsel-22B"]["parallelism"]["zero_stage"] == 0
    case = {"id": "opt-like", "model": {"n_layers": 96, "d_model": 12288, "n_heads": 96, "mlp_type": "2-matrix",
                                        "vocab": 50272, "seq_len": 2048},
            "gpu_type": "A100-SXM4-80GB", "n_gpus": 992, "precision": "fp16 mixed",
            "parallelism": {"tp": 8, "global_batch_seqs": 1024}}  # 1024 sequences do not split over 124 or 31 replicas
    [o] = run_cases({"training_cases": [case]})
    assert "error" not in o and o["parallelism"]["tp"] == 8 and o["iter_time_s"] > 0


def test_tokens_only_batch_rounds_to_power_of_two(fixtures: Path) -> None:
    out = {o["id"]: o for o in run_cases(load_cases(fixtures / "cases-mini.json"))}
    o = out["T-mini-tokens-only"]
    par = o["parallelism"]
    assert par["tp"] * par["pp"] * par["dp"] * par["cp"] == 2048
    assert o["tokens_per_s_per_gpu"] * o["iter_time_s"] * 2048 == pytest.approx(4_194_304, rel=1e-6)


def test_dev_file_every_case_modelled(dev_cases: Path) -> None:
    data = load_cases(dev_cases)
    out = run_cases(data)
    n = sum(len(data[k]) for k in ("training_cases", "inference_cases", "memory_anchors"))
    assert len(out) == n
    assert [o for o in out if "error" in o] == []
    for o in out:
        if o["kind"] == "training":
            assert TRAIN_KEYS - {"gpu_hours", "wall_days", "energy_mwh"} <= set(o)
        elif o["kind"] == "inference":
            assert {"output_tokens_per_s_per_gpu", "ttft_ms", "tpot_ms"} <= set(o)
