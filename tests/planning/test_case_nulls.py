"""Every case the format allows is answered: a null in each nullable field is filled and listed as an
assumption; MLP kinds by their aliases; a case that truly cannot be modelled names the field (exit 2)."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path

import pytest

from aidc.planning.case_fill import CaseError, mlp_kind
from aidc.planning.cases import run_cases, run_inference_case, run_training_case
from tests.conftest import aidc_bin
from tests.planning.conftest import DEV_CASES, FIXTURES

MODEL_FIELDS = ("n_heads", "n_kv_heads", "ffn_dim", "vocab", "params_b", "mlp_type", "seq_len")
PARALLEL_FIELDS = ("tp", "pp", "dp", "cp", "model_parallel_size", "zero_stage", "fsdp", "micro_batch",
                   "global_batch_seqs", "global_batch_tokens", "activation_recompute", "sequence_parallel",
                   "virtual_pipeline")


@pytest.fixture(scope="module")
def dev() -> dict:
    """The dev cases beside the clone, else the repo's mini file; only the cases that model as published."""
    data = json.loads((DEV_CASES if DEV_CASES.exists() else FIXTURES / "cases-mini.json").read_text())
    ok = {r["id"] for r in run_cases(data) if "error" not in r}
    return {kind: [c for c in data.get(kind, []) if c["id"] in ok] for kind in ("training_cases", "inference_cases")}


def _bare(case: dict) -> dict:
    """The case as a source that published less would give it: no peer assumptions at all."""
    c = copy.deepcopy(case)
    c["assumed_for_peer_runs"] = {}
    return c


def _train(dev: dict) -> list[dict]:
    """A few training cases from different families (every eighth)."""
    return dev["training_cases"][::8][:4]


@pytest.mark.parametrize("field", MODEL_FIELDS)
def test_a_null_model_field_is_filled_and_said(dev: dict, field: str) -> None:
    for case in _train(dev) + dev["inference_cases"][:2]:
        c = _bare(case)
        c["model"][field] = None
        run = run_training_case if "training_tokens" in c else run_inference_case
        out = run(c)
        assert "error" not in out
        if field != "params_b":
            assert any(a["field"] == f"model.{field}" for a in out["assumptions"]) or case["model"][field] is None, \
                (case["id"], out["assumptions"])


@pytest.mark.parametrize("field", PARALLEL_FIELDS + ("n_gpus", "training_tokens", "precision"))
def test_a_null_run_field_is_answered(dev: dict, field: str) -> None:
    for case in _train(dev):
        c = _bare(case)
        if field in PARALLEL_FIELDS:
            c["parallelism"][field] = None
        else:
            c[field] = None
        out = run_training_case(c)
        assert out["iter_time_s"] > 0 and out["n_gpus"] > 0, (case["id"], field)


def test_everything_nullable_null_at_once_still_answers(dev: dict) -> None:
    """A model card that publishes only the shape, the GPU and the GPU-hours."""
    case = _bare(dev["training_cases"][-1])
    case["training_tokens"] = case.get("training_tokens") or 1e12
    case["n_gpus"] = None
    case["precision"] = None
    case["parallelism"] = {k: None for k in PARALLEL_FIELDS}
    for f in ("n_heads", "n_kv_heads", "ffn_dim", "vocab", "mlp_type", "seq_len"):
        case["model"][f] = None
    out = run_training_case(case)
    fields = {a["field"] for a in out["assumptions"]}
    assert {"n_gpus", "precision", "parallelism.global_batch_tokens", "model.n_heads", "model.ffn_dim",
            "model.vocab"} <= fields
    assert out["gpu_hours"] > 0 and all(a["why"] for a in out["assumptions"])


def test_only_params_and_one_dimension_size_the_model(dev: dict) -> None:
    case = _bare(dev["training_cases"][0])
    case["model"]["d_model"] = None
    out = run_training_case(case)
    assert any(a["field"] == "model.d_model" for a in out["assumptions"]) and out["iter_time_s"] > 0


@pytest.mark.parametrize("alias, kind", [("gelu", "2-matrix"), ("ReLU", "2-matrix"), ("2-matrix", "2-matrix"),
                                         ("SwiGLU", "swiglu"), ("geglu", "swiglu"), ("gated", "swiglu")])
def test_mlp_kinds_by_their_names(alias: str, kind: str) -> None:
    assert mlp_kind(alias) == kind


def test_what_cannot_be_modelled_names_the_field(dev: dict, tmp_path: Path) -> None:
    with pytest.raises(CaseError, match="model.mlp_type: unknown MLP kind 'moe-magic'"):
        mlp_kind("moe-magic")
    base = _bare(dev["training_cases"][0])
    no_gpu = {**copy.deepcopy(base), "id": "no-gpu", "gpu_type": None}
    no_shape = copy.deepcopy(base)
    no_shape["id"] = "no-shape"
    no_shape["model"].update(n_layers=None, d_model=None)
    results = {r["id"]: r for r in run_cases({"training_cases": [no_gpu, no_shape, base]})}
    assert results["no-gpu"]["error"] == "gpu_type: not given"
    assert "model.n_layers and model.d_model are both null" in results["no-shape"]["error"]
    assert "error" not in results[base["id"]]
    path = tmp_path / "cases.json"
    path.write_text(json.dumps({"training_cases": [no_gpu, base]}))
    res = subprocess.run([aidc_bin(), "plan", "cases", str(path), "--json"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "Traceback" not in res.stderr and "gpu_type: not given" in res.stderr
    assert len(json.loads(res.stdout)) == 2


def test_every_prediction_carries_a_reproducible_p10_p90_range(dev: dict) -> None:
    data = {"training_cases": dev["training_cases"][:3], "inference_cases": dev["inference_cases"][:2]}
    first, again = run_cases(data), run_cases(data)
    assert first == again  # a fixed seed: the same range every time
    for r in first:
        key = "iter_time_s" if r["kind"] == "training" else "output_tokens_per_s_per_gpu"
        lo, hi = r["range_p10_p90"][key]
        assert lo < r[key] < hi and hi / lo < 1.6, (r["id"], lo, r[key], hi)
    assert all("range_p10_p90" not in r for r in run_cases(data, ranges=False))


@pytest.mark.parametrize("text, says", [("[1, 2]", "expected a JSON object"), ('{"training_cases": {"a": 1}}', "must be a list"),
                                        ('{"training_cases": [1]}', "must be a list of objects"),
                                        ("[" * 100_000, "nested too deeply|not valid JSON")])
def test_a_case_file_of_the_wrong_shape_is_a_clear_error(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "cases.json"
    path.write_text(text)
    res = subprocess.run([aidc_bin(), "plan", "cases", str(path)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "Traceback" not in res.stderr + res.stdout
    assert any(s in (res.stderr + res.stdout) for s in says.split("|")), res.stderr
