"""Find the fastest parallel layout that fits in memory, honouring whatever the user fixed.

Design note. The space is tp (powers of two dividing the heads, within the scale-up domain) x cp
(powers of two, only for long sequences) x pp (any divisor of what is left; uneven layer splits
are allowed, the slowest stage gets the rounded-up share) x dp (the rest) x micro-batch (powers of two
dividing the per-replica batch) x interleaving (up to 8 chunks) x ZeRO stage x recomputation (none,
selective, or full for 25/50/75/100% of each stage's layers). Memory is checked first (cheap);
recompute options run cheapest first and the first that fits is the only one timed; the
micro-batch loop stops at the first size that fits in no way, since memory only grows with it. Sequence parallelism is on whenever tp > 1 (it saves memory and elementwise time at
no extra communication). When nothing fits the error names the smallest footprint seen and the
knobs that would shrink it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterator

from aidc.core.errors import AidcError
from aidc.planning.config import ParallelConfig
from aidc.planning.memory import MemoryBreakdown, training_memory, usable_gib
from aidc.planning.params import DEFAULT_PARAMS, Params
from aidc.planning.training import IterationTime, Job, iteration_time, per_replica_micro, replica_batch


class PlanError(AidcError):
    """A plan that cannot work (does not fit, does not divide); the message says what to change."""


@dataclass(frozen=True)
class Fixed:
    """Layout choices the user pinned; None = search."""

    tp: int | None = None
    pp: int | None = None
    dp: int | None = None
    cp: int | None = None
    micro_batch: int | None = None
    virtual_pipeline: int | None = None
    zero_stage: int | None = None
    recompute: str | None = None
    sequence_parallel: bool | None = None


@dataclass
class SearchResult:
    cfg: ParallelConfig
    time: IterationTime
    memory: MemoryBreakdown
    evaluated: int = 0
    feasible: int = 0
    runners_up: list[tuple[float, ParallelConfig]] = field(default_factory=list)  # (iter_time_s, layout)


def _pow2_upto(limit: int) -> list[int]:
    out, v = [], 1
    while v <= limit:
        out.append(v)
        v *= 2
    return out


def _tp_options(job: Job, fx: Fixed) -> list[int]:
    if fx.tp is not None:
        return [fx.tp]
    a = job.arch
    return [t for t in _pow2_upto(min(job.hw.scaleup_domain_gpus, a.n_heads)) if a.n_heads % t == 0]


def _cp_options(job: Job, fx: Fixed) -> list[int]:
    if fx.cp is not None:
        return [fx.cp]
    s = job.arch.seq_len
    return [c for c in _pow2_upto(16) if c == 1 or (s >= 8192 and s // c >= 2048)]


def _pp_options(job: Job, fx: Fixed, rest: int) -> list[int]:
    if fx.pp is not None:
        return [fx.pp] if rest % fx.pp == 0 else []
    L = job.arch.n_layers
    return [p for p in range(1, min(rest, L) + 1) if rest % p == 0]


def _v_options(job: Job, fx: Fixed, pp: int, n_micro: int) -> list[int]:
    if fx.virtual_pipeline is not None:
        return [fx.virtual_pipeline]
    if pp == 1 or n_micro % pp:
        return [1]
    per_stage = math.ceil(job.arch.n_layers / pp)  # uneven splits interleave the rounded-up share
    return [v for v in range(1, min(per_stage, MAX_INTERLEAVE) + 1) if per_stage % v == 0]


# Interleaved chunks per pipeline rank: published configs stay at or below 8; deeper interleaving
# adds per-chunk scheduling and send overheads the time model does not carry.
MAX_INTERLEAVE = 8

# Full recomputation of a share of each stage's layers (Megatron --recompute-method block): the
# search recomputes only as much as memory needs.
RECOMPUTE_FRACTIONS = (0.25, 0.5, 0.75, 1.0)


def _recompute_options(job: Job, fx: Fixed) -> list[tuple[str, float]]:
    modes = [fx.recompute] if fx.recompute is not None else (
        ["none", "full"] if job.flash_attention else ["none", "selective", "full"])
    out: list[tuple[str, float]] = []
    for mode in modes:
        pinned_full = fx.recompute == "full"  # a user asking for full recompute gets all layers
        fractions = (1.0,) if mode != "full" or pinned_full else RECOMPUTE_FRACTIONS
        out.extend((mode, f) for f in fractions)
    return out


def _zero_options(fx: Fixed, replicas: int) -> list[int]:
    if fx.zero_stage is not None:
        return [fx.zero_stage]
    return [1] if replicas == 1 else [1, 3]


def layouts(job: Job, n_gpus: int, fx: Fixed) -> Iterator[tuple[int, int, int, int]]:
    """(tp, cp, pp, dp) splits of n_gpus that respect the fixed choices."""
    for tp in _tp_options(job, fx):
        for cp in _cp_options(job, fx):
            if n_gpus % (tp * cp):
                continue
            for pp in _pp_options(job, fx, n_gpus // (tp * cp)):
                dp = n_gpus // (tp * cp * pp)
                if fx.dp is not None and dp != fx.dp:
                    continue
                yield tp, cp, pp, dp


def _micro_batches(job: Job, fx: Fixed, dp: int) -> list[int]:
    per_replica = replica_batch(job, dp)
    if per_replica == 0:
        return []
    if fx.micro_batch is not None:
        return [fx.micro_batch] if per_replica % fx.micro_batch == 0 else []
    return [m for m in _pow2_upto(min(per_replica, 16)) if per_replica % m == 0]


def search(job: Job, n_gpus: int, fx: Fixed = Fixed(), params: Params = DEFAULT_PARAMS) -> SearchResult:
    """The fastest fitting layout; PlanError with the numbers and a suggestion when none fits."""
    limit = usable_gib(job.hw)
    best: SearchResult | None = None
    smallest: tuple[float, ParallelConfig] | None = None
    evaluated = feasible = 0
    scored: list[tuple[float, ParallelConfig]] = []
    for tp, cp, pp, dp in layouts(job, n_gpus, fx):
        sp = fx.sequence_parallel if fx.sequence_parallel is not None else tp > 1
        for zero in _zero_options(fx, dp * cp):
            for mb in _micro_batches(job, fx, dp):
                n_micro = per_replica_micro(job, dp, mb)
                fits_any = False
                for v in _v_options(job, fx, pp, n_micro):
                    # recompute options run cheapest first: the first that fits is the fastest here
                    for rc, frac in _recompute_options(job, fx):
                        cfg = ParallelConfig(tp=tp, pp=pp, dp=dp, cp=cp, micro_batch=mb, virtual_pipeline=v,
                                             zero_stage=zero, recompute=rc, recompute_fraction=frac,  # type: ignore[arg-type]
                                             sequence_parallel=sp)
                        evaluated += 1
                        mem = training_memory(job.arch, cfg, n_micro, job.flash_attention)
                        if smallest is None or mem.total_gib < smallest[0]:
                            smallest = (mem.total_gib, cfg)
                        if mem.total_gib > limit:
                            continue
                        fits_any = True
                        feasible += 1
                        it = iteration_time(job, cfg, params)
                        scored.append((it.iter_time_s, cfg))
                        if best is None or it.iter_time_s < best.time.iter_time_s:
                            best = SearchResult(cfg, it, mem)
                        break
                if not fits_any:
                    break  # larger micro-batches only need more memory
    if best is None:
        raise PlanError(_no_fit_message(job, n_gpus, fx, smallest, limit))
    best.evaluated, best.feasible = evaluated, feasible
    scored.sort(key=lambda x: x[0])
    best.runners_up = scored[1:4]
    return best


def _no_fit_message(job: Job, n_gpus: int, fx: Fixed, smallest: tuple[float, ParallelConfig] | None,
                    limit: float) -> str:
    if smallest is None:
        return (f"no layout of {n_gpus} GPUs divides this job: the global batch of {job.global_batch_seqs} "
                f"sequences must split evenly over data-parallel replicas, tp must divide {job.arch.n_heads} heads "
                f"and stay within the {job.hw.scaleup_domain_gpus}-GPU NVLink domain (fixed: {_fixed_text(fx)})")
    need, cfg = smallest
    tips = []
    if cfg.tp < job.hw.scaleup_domain_gpus:
        tips.append(f"tp>={job.hw.scaleup_domain_gpus}")
    if cfg.zero_stage < 3:
        tips.append("ZeRO-3")
    if cfg.recompute != "full":
        tips.append("activation_recompute: full")
    tips.append("more GPUs (pp) or a GPU with more memory")
    tib = f"{need / 1024:.1f} TiB" if need >= 1024 else f"{need:.0f} GiB"
    return (f"needs {tib} per GPU with {cfg.short()} (the smallest layout allowed), over the "
            f"{limit:.0f} GiB usable on {job.hw.gpu.name}: try {' or '.join(tips)}")


def _fixed_text(fx: Fixed) -> str:
    pinned = {k: v for k, v in fx.__dict__.items() if v is not None}
    return ", ".join(f"{k}={v}" for k, v in pinned.items()) or "nothing"


def evaluate(job: Job, cfg: ParallelConfig, params: Params = DEFAULT_PARAMS) -> SearchResult:
    """Cost one given layout (no search); memory is reported even when it does not fit."""
    n_micro = per_replica_micro(job, cfg.dp, cfg.micro_batch)
    mem = training_memory(job.arch, cfg, n_micro, job.flash_attention)
    return SearchResult(cfg, iteration_time(job, cfg, params), mem, evaluated=1, feasible=1)
