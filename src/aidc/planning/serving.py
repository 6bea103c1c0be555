"""How many GPUs a serving target needs: pick tp and batch per replica under TTFT/TPOT targets, then count replicas.

Design note. A replica (tp GPUs) runs continuous batching at concurrency b. Each second it spends
r·prefill(1 request) on prompts and r·out/b decode steps of t_step(b) on generation, so its request
capacity is r_max(b) = 1 / (prefill + out·t_step(b)/b). Prompts interleaved with decoding stretch
each step: TPOT = t_step(b) / (1 - r·prefill). TTFT is one prompt's prefill plus one decode step of
waiting. For every tp whose weights fit, b runs over powers of two up to the KV-cache limit; the
plan is the fewest GPUs that carry the target load within both targets (ties: the lower TTFT).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from aidc.core.errors import AidcError
from aidc.planning.config import Hardware
from aidc.planning.inference import ServeJob, decode_step_s, max_concurrency, prefill_s, weights_bytes_per_gpu
from aidc.planning.memory import GIB, RESERVED_GIB
from aidc.planning.params import DEFAULT_PARAMS, Params
from aidc.planning.placement import Placement
from aidc.planning.specs import ServeSpec, resolve_model


@dataclass
class ReplicaPoint:
    tp: int
    batch: int
    ttft_ms: float
    tpot_ms: float
    requests_per_s: float  # one replica at this batch
    output_tokens_per_s_per_gpu: float
    max_concurrency: int


@dataclass
class ServePlan:
    spec: ServeSpec
    best: ReplicaPoint
    replicas: int
    gpus_needed: int
    weights_gib_per_gpu: float
    considered: list[ReplicaPoint]
    placement: Placement | None = None
    datacenter: str | None = None

    @property
    def target_rps(self) -> float:
        return self.spec.workload.requests_per_s or self.best.requests_per_s


def replica_point(job: ServeJob, batch: int, input_len: int, output_len: int, params: Params) -> ReplicaPoint:
    t_prefill = prefill_s(job, 1, input_len, params)
    t_step = decode_step_s(job, batch, input_len + output_len / 2.0, params)
    rps = 1.0 / (t_prefill + output_len * t_step / batch)
    busy = min(0.95, rps * t_prefill)
    tpot = t_step / (1.0 - busy)
    ttft = t_prefill + t_step
    tokens = rps * output_len / job.n_gpus
    return ReplicaPoint(job.tp, batch, ttft * 1e3, tpot * 1e3, rps, tokens, max_concurrency(job, input_len + output_len))


def _tp_options(spec: ServeSpec, hw: Hardware) -> list[int]:
    if spec.tp:
        return [spec.tp]
    domain = spec.cluster.scaleup_domain_gpus or hw.scaleup_domain_gpus
    return [t for t in (1, 2, 4, 8, 16, 32, 64) if t <= domain]


def _meets(p: ReplicaPoint, spec: ServeSpec) -> bool:
    ok_ttft = spec.slo.ttft_ms is None or p.ttft_ms <= spec.slo.ttft_ms
    ok_tpot = spec.slo.tpot_ms is None or p.tpot_ms <= spec.slo.tpot_ms
    return ok_ttft and ok_tpot


def plan_serving_job(spec: ServeSpec, hw: Hardware, params: Params = DEFAULT_PARAMS) -> ServePlan:
    """The fewest GPUs that meet the load and latency targets; AidcError naming the blocker when none can."""
    arch = resolve_model(spec.model)
    wl = spec.workload
    considered: list[ReplicaPoint] = []
    best: tuple[int, float, ReplicaPoint, int, float] | None = None
    smallest_weights = math.inf
    for tp in _tp_options(spec, hw):
        if arch.n_heads % tp:
            continue
        job = ServeJob(arch=arch, hw=hw, tp=tp, precision=spec.precision, kv_precision=spec.kv_cache_precision or spec.precision)
        w_gib = weights_bytes_per_gpu(job) / GIB
        smallest_weights = min(smallest_weights, w_gib)
        limit = max_concurrency(job, wl.input_len + wl.output_len)
        if limit < 1:
            continue
        batches = [spec.batch_size] if spec.batch_size else [b for b in (2 ** k for k in range(12)) if b <= limit]
        for b in batches:
            p = replica_point(job, b, wl.input_len, wl.output_len, params)
            considered.append(p)
            if not _meets(p, spec) or b > limit:
                continue
            target = wl.requests_per_s or p.requests_per_s
            replicas = math.ceil(target / p.requests_per_s - 1e-9)
            key = (replicas * tp, p.ttft_ms)
            if best is None or key < (best[0], best[1]):
                best = (replicas * tp, p.ttft_ms, p, replicas, w_gib)
    if best is None:
        raise AidcError(_why_not(spec, hw, considered, smallest_weights))
    gpus, _, point, replicas, w_gib = best
    return ServePlan(spec, point, replicas, gpus, w_gib, considered)


def _why_not(spec: ServeSpec, hw: Hardware, considered: list[ReplicaPoint], weights_gib: float) -> str:
    usable = hw.memory_gib - RESERVED_GIB
    if not considered:
        return (f"the weights need {weights_gib:.0f} GiB per GPU even at the largest tp tried, over the "
                f"{usable:.0f} GiB usable on {hw.gpu.name}: try a larger tp, fp8 weights or a GPU with more memory")
    fastest_ttft = min(p.ttft_ms for p in considered)
    fastest_tpot = min(p.tpot_ms for p in considered)
    return (f"no tp/batch meets the targets (ttft {spec.slo.ttft_ms} ms, tpot {spec.slo.tpot_ms} ms): the best "
            f"reachable are ttft {fastest_ttft:.0f} ms and tpot {fastest_tpot:.1f} ms on {hw.gpu.name}")
