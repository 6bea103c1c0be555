"""Calibrate the planner's few free parameters on published cases, and measure it out of sample.

`calibrate` moves only the parameters of `FREE` (each inside its documented range, uncertainty.RANGES)
to minimise the mean absolute error on the cases given, by coordinate search on a grid of each range.
`cross_validate` leaves one source out at a time: that source's cases are predicted by parameters
calibrated on the others only. Comparing its error with the in-sample one says how much of the
accuracy is fitted: the two should be close (issue 14: within 1.5x).
"""

from __future__ import annotations

from typing import Any

from aidc.planning.cases import run_cases
from aidc.planning.params import DEFAULT_PARAMS, Params
from aidc.planning.uncertainty import RANGES, set_param

# what a case's peer_baselines entry is compared on -> the prediction's key
COMPARE_ON = {"iteration time (s) implied by measured throughput": "iter_time_s", "total GPU-hours": "gpu_hours",
              "output tokens/s/GPU": "output_tokens_per_s_per_gpu", "time to first token (ms)": "ttft_ms"}
# the free parameters: the ones every case depends on and whose published ranges are widest
FREE = ("gemm_scale", "eff.overlap", "eff.flash_attn_rel_eff", "eff.mem_bw_eff")
GRID = 9


def compared(data: dict[str, Any]) -> dict[str, tuple[str, str, float]]:
    """baseline id -> (case id, prediction key, measured value), for the baselines this planner predicts."""
    out = {}
    for bid, base in (data.get("peer_baselines") or {}).get("cases", {}).items():
        key = COMPARE_ON.get(base.get("compare_on", ""))
        if key is not None and base.get("measured_value"):
            out[bid] = (bid.split("#")[0], key, float(base["measured_value"]))
    return out


def _subset(data: dict[str, Any], case_ids: set[str]) -> dict[str, Any]:
    return {kind: [c for c in data.get(kind, []) if c.get("id") in case_ids]
            for kind in ("training_cases", "inference_cases")}


def errors(data: dict[str, Any], params: Params, baselines: dict[str, tuple[str, str, float]]) -> dict[str, float]:
    """baseline id -> relative error (predicted / measured - 1); cases that cannot be modelled left out."""
    preds = {r["id"]: r for r in run_cases(_subset(data, {c for c, _, _ in baselines.values()}), params, ranges=False)}
    out = {}
    for bid, (cid, key, measured) in baselines.items():
        value = preds.get(cid, {}).get(key)
        if isinstance(value, (int, float)):
            out[bid] = value / measured - 1.0
    return out


def mape(errs: dict[str, float]) -> float | None:
    return 100.0 * sum(abs(e) for e in errs.values()) / len(errs) if errs else None


def calibrate(data: dict[str, Any], baselines: dict[str, tuple[str, str, float]], base: Params = DEFAULT_PARAMS,
              passes: int = 2) -> tuple[Params, dict[str, float]]:
    """Parameters minimising the MAPE on these baselines, each free parameter on a grid of its range."""
    params = base
    best = mape(errors(data, params, baselines)) or 0.0
    for _ in range(passes):
        for name in FREE:
            lo, hi = RANGES[name]
            for i in range(GRID):
                trial = set_param(params, name, lo + (hi - lo) * i / (GRID - 1))
                score = mape(errors(data, trial, baselines))
                if score is not None and score < best - 1e-9:
                    params, best = trial, score
    return params, {name: _get(params, name) for name in FREE}


def _get(params: Params, name: str) -> float:
    group, _, attr = name.rpartition(".")
    return getattr(getattr(params, group) if group else params, attr)


def cross_validate(data: dict[str, Any], source_of: dict[str, str]) -> dict[str, Any]:
    """Leave one source out: per source, the MAPE of its baselines predicted with parameters calibrated on
    every other source; beside it the in-sample MAPE (calibrated on all) and the defaults'."""
    baselines = compared(data)
    sources = sorted({source_of[b] for b in baselines})
    fitted_all, values_all = calibrate(data, baselines)
    in_sample = errors(data, fitted_all, baselines)
    defaults = errors(data, DEFAULT_PARAMS, baselines)
    held_out: dict[str, float] = {}
    per_source = {}
    for source in sources:
        train = {b: v for b, v in baselines.items() if source_of[b] != source}
        test = {b: v for b, v in baselines.items() if source_of[b] == source}
        fitted, values = calibrate(data, train)
        errs = errors(data, fitted, test)
        held_out.update(errs)
        per_source[source] = {"cases": len(test), "held_out_mape_pct": _round(mape(errs)),
                              "in_sample_mape_pct": _round(mape({b: in_sample[b] for b in test if b in in_sample})),
                              "defaults_mape_pct": _round(mape({b: defaults[b] for b in test if b in defaults})),
                              "calibrated_without_it": {k: round(v, 3) for k, v in values.items()}}
    overall = {"held_out_mape_pct": _round(mape(held_out)), "in_sample_mape_pct": _round(mape(in_sample)),
               "defaults_mape_pct": _round(mape(defaults)),
               "calibrated_on_all": {k: round(v, 3) for k, v in values_all.items()}}
    if overall["held_out_mape_pct"] and overall["in_sample_mape_pct"]:
        overall["held_out_over_in_sample"] = round(overall["held_out_mape_pct"] / overall["in_sample_mape_pct"], 2)
    return {"free_parameters": list(FREE), "by_source": per_source, "overall": overall}


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 2)

