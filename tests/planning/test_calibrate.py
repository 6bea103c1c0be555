"""Calibration finds parameters that explain the measurements, and cross-validation scores it honestly."""

from __future__ import annotations

import json

from aidc.planning.calibrate import calibrate, compared, cross_validate, errors, mape
from aidc.planning.cases import run_cases
from aidc.planning.params import DEFAULT_PARAMS
from aidc.planning.uncertainty import set_param
from tests.planning.conftest import FIXTURES


def _measured_by(params) -> dict:  # noqa: ANN001
    """The mini cases with 'measurements' that a known parameter set predicts exactly."""
    data = json.loads((FIXTURES / "cases-mini.json").read_text())
    data = {k: [c for c in data[k] if "broken" not in c["id"] and "unknown" not in c["id"]]
            for k in ("training_cases", "inference_cases")}
    truth = {r["id"]: r for r in run_cases(data, params, ranges=False)}
    cases = {}
    for c in data["training_cases"]:
        cases[c["id"]] = {"compare_on": "iteration time (s) implied by measured throughput",
                          "measured_value": truth[c["id"]]["iter_time_s"]}
    for c in data["inference_cases"]:
        cases[c["id"]] = {"compare_on": "output tokens/s/GPU", "measured_value": truth[c["id"]]["output_tokens_per_s_per_gpu"]}
    return {**data, "peer_baselines": {"cases": cases}}


def test_calibration_recovers_a_known_gemm_rate_and_cross_validation_stays_close() -> None:
    truth = set_param(DEFAULT_PARAMS, "gemm_scale", 0.925)
    data = _measured_by(truth)
    baselines = compared(data)
    assert mape(errors(data, DEFAULT_PARAMS, baselines)) > 2.0  # the defaults are off by the GEMM rate
    fitted, values = calibrate(data, baselines)
    assert abs(values["gemm_scale"] - 0.925) <= 0.026 and mape(errors(data, fitted, baselines)) < 1.5
    cv = cross_validate(data, {b: ("train" if b.startswith("T-") else "infer") for b in baselines})
    assert set(cv["by_source"]) == {"train", "infer"}
    assert cv["overall"]["held_out_mape_pct"] <= max(3.0, 1.5 * cv["overall"]["in_sample_mape_pct"])
