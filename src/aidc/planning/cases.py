"""Run the published cases of `../shared/planning/cases-*.json` through the planner: one prediction object per case.

Design note. A case gives what its source published; nulls are filled by `case_fill` (the peers'
values from `assumed_for_peer_runs` first, so every tool models the same network, then one rule per
field), and each filled value is listed in the prediction's `assumptions`. The rules are the same for
every case:
- tp x pp from `model_parallel_size` as the source describes it (tensor parallel inside the 8-GPU
  node, pipeline across nodes); anything else unpublished is searched (fastest that fits);
- recomputation implied by the source's FLOP formula (`assumed_for_peer_runs.activation_recompute`
  that starts with none/selective/full) and interleaving from the source's execution config
  (`pipeline_interleaving`) are taken as published;
- "fp16 mixed" runs are the 2021-22 Megatron stack (no fused attention, no sequence parallelism
  unless stated, no distributed optimizer unless nothing fits without one, gradient all-reduce after
  the backward); bf16/fp8 runs are 2023+ stacks with fused attention and overlapped reductions;
- runs the file marks as FSDP (published or assumed) are PyTorch-native: unfused elementwise
  kernels and no tensor-parallel overlap;
- a batch given only in tokens is rounded to the power-of-two number of sequences within 5% (the
  "4M tokens" of the LLaMA papers is 2^22).
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

from aidc.core.errors import AidcError
from aidc.core.gpus import DEFAULT_CATALOG, Precision
from aidc.planning.case_fill import (Assumptions, assume, fill_batch, fill_inference, fill_model, fill_n_gpus, fill_precision,
                                     require)
from aidc.planning.config import Hardware, ParallelConfig
from aidc.planning.inference import ServeJob, estimate_inference
from aidc.planning.memory import training_memory
from aidc.planning.models import ModelArch
from aidc.planning.params import DEFAULT_PARAMS, Params
from aidc.planning.project import Costing, TrainEstimate, estimate_training
from aidc.planning.search import Fixed, PlanError
from aidc.planning.uncertainty import draws, p10_p90
from aidc.planning.training import Job

# The cases' energy convention (power_anchors: "Meta LLaMA carbon method"): GPU TDP x PUE 1.1.
CASE_COSTING = Costing(pue=1.1)


def load_cases(path: str | Path) -> dict[str, Any]:
    """A case file: a JSON object whose training_cases, inference_cases and memory_anchors are lists of objects."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AidcError(f"no such case file: {path}") from None
    except UnicodeDecodeError:
        raise AidcError(f"{path}: not a text file (expected JSON in UTF-8)") from None
    except json.JSONDecodeError as exc:
        raise AidcError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    except RecursionError:
        raise AidcError(f"{path}: nested too deeply to be a case file") from None
    if not isinstance(data, dict):
        raise AidcError(f"{path}: expected a JSON object with training_cases, inference_cases and memory_anchors, "
                        f"got a {type(data).__name__}")
    for key in ("training_cases", "inference_cases", "memory_anchors"):
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(c, dict) for c in value):
            raise AidcError(f"{path}: {key} must be a list of objects")
    return data


def _assumed(case: dict[str, Any]) -> dict[str, Any]:
    return case.get("assumed_for_peer_runs") or {}


def case_arch(case: dict[str, Any], out: Assumptions | None = None) -> ModelArch:
    filled = fill_model(case.get("model"), _assumed(case), [] if out is None else out)
    return ModelArch(name=str(case.get("id", "case")), **filled)


def case_precision(text: str | None) -> Precision:
    """'bf16 mixed' -> bf16; integer formats map to the float format of the same width (int8 ~ fp8,
    int4/w4 ~ fp4: same bytes per weight; a GPU without that tensor rate falls back to 16-bit)."""
    text = (text or "bf16").lower()
    for key, p in (("fp8", "fp8"), ("int8", "fp8"), ("w8", "fp8"), ("fp4", "fp4"), ("int4", "fp4"), ("w4", "fp4"),
                   ("bf16", "bf16"), ("fp16", "fp16")):
        if key in text:
            return p  # type: ignore[return-value]
    return "bf16"


def _legacy_stack(case: dict[str, Any]) -> bool:
    return "fp16" in (case.get("precision") or "").lower()


def _batch_seqs(par: dict[str, Any], seq_len: int) -> tuple[int, bool]:
    """(sequences, exact) of a published batch (fill_batch made sure one of the two forms is given)."""
    if par.get("global_batch_seqs"):
        return int(par["global_batch_seqs"]), True
    seqs = float(par["global_batch_tokens"]) / seq_len
    pow2 = 2 ** round(math.log2(seqs))
    if abs(pow2 / seqs - 1) <= 0.05:
        return int(pow2), True
    return max(1, round(seqs)), False


def _recompute(par: dict[str, Any], extra: dict[str, Any]) -> str | None:
    for text in (par.get("activation_recompute"), extra.get("activation_recompute")):
        if isinstance(text, str):
            for mode in ("none", "selective", "full"):
                if text.lower().startswith(mode):
                    return mode
    return None


def case_fixed(case: dict[str, Any]) -> Fixed:
    par, extra = case.get("parallelism") or {}, _assumed(case)
    tp, pp = par.get("tp"), par.get("pp")
    mp = par.get("model_parallel_size")
    if mp and tp is None and pp is None:
        tp = min(int(mp), 8)
        pp = int(mp) // tp
    elif mp and tp is not None and pp is None:
        pp = max(1, int(mp) // int(tp))
    elif mp and pp is not None and tp is None:
        tp = max(1, int(mp) // int(pp))
    zero = par.get("zero_stage")
    if zero is None and par.get("fsdp"):
        zero = 3
    sp = par.get("sequence_parallel")
    if sp is None and _legacy_stack(case):
        sp = False
    v = par.get("virtual_pipeline") or extra.get("pipeline_interleaving")
    return Fixed(tp=tp, pp=pp, dp=par.get("dp"), cp=par.get("cp"), micro_batch=par.get("micro_batch"),
                 virtual_pipeline=v if isinstance(v, int) else None, zero_stage=zero,
                 recompute=_recompute(par, extra), sequence_parallel=sp)


def case_gpu(name: str):  # -> GpuModel
    """The catalog entry for a case's gpu_type ('H100 SXM5 80GB' and 'H100-SXM5-80GB' alike)."""
    if name not in DEFAULT_CATALOG and name.replace(" ", "-") in DEFAULT_CATALOG:
        name = name.replace(" ", "-")
    return DEFAULT_CATALOG.get(name)


def case_job(case: dict[str, Any], out: Assumptions | None = None) -> tuple[Job, int]:
    out = [] if out is None else out
    require(case, "gpu_type")
    arch = case_arch(case, out)
    gpu = case_gpu(case["gpu_type"])
    batch, exact = _batch_seqs(fill_batch(case.get("parallelism") or {}, arch.seq_len, out), arch.seq_len)
    fx = case_fixed(case)
    n_gpus = fill_n_gpus(case, _assumed(case), batch, (fx.tp or 1) * (fx.pp or 1) * (fx.cp or 1), out)
    legacy = _legacy_stack(case)
    hw = Hardware(gpu=gpu, gpus_per_node=8, scaleup_domain_gpus=8, nic_gbps=DEFAULT_PARAMS.nic_gbps(gpu.name))
    fsdp_stack = bool((case.get("parallelism") or {}).get("fsdp") or _assumed(case).get("fsdp"))
    job = Job(arch=arch, hw=hw, global_batch_seqs=batch, batch_exact=exact, precision=case_precision(fill_precision(case, out)),
              flash_attention=not legacy, overlap_grad_reduce=not legacy, overlap_tp_comm=not legacy and not fsdp_stack,
              fused_kernels=not fsdp_stack)
    return job, int(n_gpus)


def run_training_case(case: dict[str, Any], params: Params = DEFAULT_PARAMS) -> dict[str, Any]:
    """Predict one training case, relaxing only what the run itself proves possible.

    The 2021-22 Megatron stack had no distributed optimizer, so fp16 cases try ZeRO-0 first; a run
    that cannot fit without one was Megatron-DeepSpeed with ZeRO. A published batch that no layout
    divides (1024 sequences on 124 replicas) was still run: replicas take the nearest whole share.
    """
    assumptions: Assumptions = []
    job, n_gpus = case_job(case, assumptions)
    fixed, tokens = case_fixed(case), case.get("training_tokens")
    attempts = [(job, fixed)]
    if _legacy_stack(case) and fixed.zero_stage is None:
        attempts.insert(0, (job, replace(fixed, zero_stage=0)))
    if job.batch_exact:
        attempts.append((replace(job, batch_exact=False), fixed))
    for i, (j, fx) in enumerate(attempts):
        try:
            return {**training_output(estimate_training(j, n_gpus, fx, tokens, CASE_COSTING, params)),
                    "assumptions": assumptions}
        except PlanError:
            if i == len(attempts) - 1:
                raise
    raise AssertionError("unreachable")


def training_output(est: TrainEstimate) -> dict[str, Any]:
    mem = est.result.memory
    return {
        "iter_time_s": est.iter_time_s,
        "tokens_per_s_per_gpu": est.tokens_per_s_per_gpu,
        "model_tflops_per_gpu": est.model_tflops_per_gpu,
        "mfu": est.mfu,
        "hfu": est.hfu,
        "gpu_hours": est.gpu_hours,
        "steady_state_gpu_hours": est.steady_gpu_hours,
        "goodput": est.goodput,
        "wall_days": est.wall_days,
        "energy_mwh": est.energy_mwh,
        "memory_gib_per_gpu": {"weights_grads_optimizer": mem.weights_grads_optimizer_gib,
                               "activations": mem.activations_gib, "total": mem.total_gib},
        "parallelism": est.cfg.as_dict(),
        "n_gpus": est.n_gpus,
    }


def run_memory_anchor(anchor: dict[str, Any], training: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Memory of the named training case's layout, plus activations without recompute or SP."""
    like = training.get(anchor.get("model_like", ""))
    if like is None:
        raise AidcError(f"memory anchor refers to unknown case {anchor.get('model_like')!r}")
    assumptions: Assumptions = []
    job, n_gpus = case_job(like, assumptions)
    fx = case_fixed(like)
    tp, pp, mb = fx.tp or 1, fx.pp or 1, fx.micro_batch or 1
    cfg = ParallelConfig(tp=tp, pp=pp, dp=n_gpus // (tp * pp), micro_batch=mb, virtual_pipeline=fx.virtual_pipeline or 1,
                         zero_stage=fx.zero_stage or 0, recompute=fx.recompute or "selective",  # type: ignore[arg-type]
                         sequence_parallel=bool(fx.sequence_parallel))
    n_micro = max(1, job.global_batch_seqs // (cfg.dp * mb))
    mem = training_memory(job.arch, cfg, n_micro, job.flash_attention)
    plain = ParallelConfig(**{**cfg.as_dict(), "recompute": "none", "sequence_parallel": False})  # type: ignore[arg-type]
    no_rc = training_memory(job.arch, plain, n_micro, flash=False)
    return {"memory_gib_per_gpu": {"weights_grads_optimizer": mem.weights_grads_optimizer_gib,
                                   "activations": mem.activations_gib, "total": mem.total_gib,
                                   "activations_no_recompute": no_rc.activations_gib},
            "parallelism": cfg.as_dict(), "assumptions": assumptions}


def run_inference_case(case: dict[str, Any], params: Params = DEFAULT_PARAMS) -> dict[str, Any]:
    assumptions: Assumptions = []
    require(case, "gpu_type")
    case = fill_inference(case, assumptions)
    arch = case_arch(case, assumptions)
    gpu = case_gpu(case["gpu_type"])
    hw = Hardware(gpu=gpu, nic_gbps=params.nic_gbps(gpu.name))
    precision = case_precision(fill_precision(case, assumptions))
    kv = case_precision(case.get("kv_cache_precision") or case.get("precision"))
    choices = [int(case["tp"])] if case.get("tp") else [1, 2, 4, 8]
    for i, tp in enumerate(choices):  # unpublished tp: the smallest that holds the weights and the KV caches
        job = ServeJob(arch=arch, hw=hw, tp=tp, pp=int(case["pp"]), precision=precision, kv_precision=kv)
        try:
            est = estimate_inference(job, batch_size=int(case["batch_size"]), input_len=int(case["input_len"]),
                                     output_len=int(case["output_len"]), params=params)
        except PlanError:
            if i == len(choices) - 1:
                raise
            continue
        if not case.get("tp"):
            assume(assumptions, "tp", tp, "not published: the smallest tensor-parallel degree at which it fits")
        break
    return {"output_tokens_per_s_per_gpu": est.output_tokens_per_s_per_gpu, "ttft_ms": est.ttft_ms,
            "tpot_ms": est.tpot_ms, "parallelism": {"tp": job.tp, "pp": job.pp, "batch_size": est.batch_size},
            "assumptions": assumptions}


def run_cases(data: dict[str, Any], params: Params = DEFAULT_PARAMS, ranges: bool = True) -> list[dict[str, Any]]:
    """One object per case (training, inference, memory), in file order; a failure is an `error` string.
    With `ranges`, each prediction carries `range_p10_p90` (uncertainty.py: the parameters drawn over
    their documented ranges)."""
    out: list[dict[str, Any]] = []
    training = {c.get("id", ""): c for c in data.get("training_cases", [])}
    samples = draws() if ranges else []
    groups = (("training", data.get("training_cases", []), run_training_case),
              ("inference", data.get("inference_cases", []), run_inference_case),
              ("memory", data.get("memory_anchors", []), lambda c, _p: run_memory_anchor(c, training)))
    for kind, cases, run in groups:
        for case in cases:
            result = _safe(kind, case, lambda c, run=run: run(c, params))
            if samples and "error" not in result and kind != "memory":
                result["range_p10_p90"] = p10_p90(lambda p, c=case, run=run: run(c, p), samples)
            out.append(result)
    return out


def _safe(kind: str, case: Any, run: Any) -> dict[str, Any]:
    cid = case.get("id", "?") if isinstance(case, dict) else "?"
    try:
        return {"id": cid, "kind": kind, **run(case)}
    except AidcError as exc:
        return {"id": cid, "kind": kind, "error": str(exc)}
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:  # malformed case: report, never crash
        return {"id": cid, "kind": kind, "error": f"cannot model this case: {exc.__class__.__name__}: {exc}"}
