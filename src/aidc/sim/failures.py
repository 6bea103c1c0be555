"""Failures and maintenance: node MTBF/MTTR (jobs restart from their last checkpoint), drain windows.

A node that goes down (failure or maintenance) stops being schedulable; every job with GPUs on it
goes back to the queue. After a failure a job keeps only the work up to its last checkpoint (every
`checkpoint_interval_s` of run time since it started), so goodput (useful / used GPU-seconds)
drops; a maintenance drain checkpoints first and loses nothing but the restart overhead.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from aidc.core.errors import AidcError

DOWN, UP = 1, 2  # must match aidc.sim.engine


@dataclass(frozen=True)
class FailureModel:
    """Exponential time between failures and to repair, per node."""

    mtbf_s: float
    mttr_s: float
    seed: int = 0

    def schedule(self, engine) -> None:  # noqa: ANN001
        engine.rng = random.Random(self.seed)
        engine.failure_model = self
        for part in engine.parts:
            for i in range(len(part.nodes)):
                engine.push(engine.origin_s + engine.rng.expovariate(1 / self.mtbf_s), DOWN, (part, i, "failure"))


@dataclass(frozen=True)
class Maintenance:
    """Drain `fraction` of every partition's nodes from start_s to end_s (seconds from the trace start)."""

    start_s: float
    end_s: float
    fraction: float

    def schedule(self, engine) -> None:  # noqa: ANN001
        for part in engine.parts:
            n = len(part.nodes)
            k = min(n, math.ceil(self.fraction * n - 1e-9))
            for j in range(k):  # evenly spread over the partition
                i = (j * n) // k
                engine.push(engine.origin_s + self.start_s, DOWN, (part, i, "maintenance"))
                engine.push(engine.origin_s + self.end_s, UP, (part, i, "maintenance"))


def parse_maintenance(text: str) -> Maintenance:
    """'START_H:END_H:FRACTION', e.g. '24:48:0.1' drains 10% of nodes on the second day."""
    try:
        a, b, f = (float(x) for x in text.split(":"))
    except ValueError:
        raise AidcError(f"--maintenance {text!r}: expected START_H:END_H:FRACTION, e.g. 24:48:0.1") from None
    if not (0 <= a < b and 0 < f <= 1):
        raise AidcError(f"--maintenance {text!r}: need 0 <= start < end and 0 < fraction <= 1")
    return Maintenance(a * 3600, b * 3600, f)


def handle_node_event(engine, kind: int, a: tuple, now: float):  # noqa: ANN001, ANN201
    """Apply a node going down or coming back; returns the partition to re-schedule, if any."""
    part, i, cause = a
    down = engine.__dict__.setdefault("down_causes", {})
    causes = down.setdefault((id(part), i), set())
    if kind == DOWN:
        if cause == "failure":
            engine.push(now + engine.rng.expovariate(1 / engine.failure_model.mttr_s), UP, a)
        if causes:
            causes.add(cause)
            return None
        causes.add(cause)
        _take_down(engine, part, i, now, cause)
        return None
    causes.discard(cause)
    if cause == "failure":
        engine.push(now + engine.rng.expovariate(1 / engine.failure_model.mtbf_s), DOWN, a)
    if causes or part.up[i]:
        return None
    part.up[i] = True
    part.set_free(i, part.base[i].gpus)
    return part if part.pending else None


def _take_down(engine, part, i: int, now: float, cause: str) -> None:  # noqa: ANN001
    name = part.base[i].name
    part.up[i] = False
    victims = [engine.trace.jobs[jid] for jid, r in part.running.items() if any(n == name for n, _ in r.placement)]
    ckpt_s = engine.cfg.checkpoint_interval_s
    for job in victims:
        ran_s = now - job.last_start_s
        if cause == "failure":
            job.restarts += 1
            kept_s = math.floor(ran_s / ckpt_s) * ckpt_s if ckpt_s > 0 else 0.0
        else:
            job.preemptions += 1
            kept_s = ran_s
        engine.requeue(part, job, now, kept_s=kept_s)
    part.set_free(i, 0)
    if victims:
        engine.book(part, now)
