"""Duration estimators: what the scheduler is told about a job at submit time.

`oracle` tells the truth (the peers' SJF/SRTF). `history` needs no oracle: the typical run time of
the last `k` jobs of the same tenant and GPU count that have *finished by the submit time* (falling
back to the tenant, then to everyone), which is what a control plane knows from its own history.
`samples` hands the scheduler that evidence itself (the sorted run times), for policies that rank
by a distribution (gittins). Only jobs that have ended by the time of a prediction are ever used.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict, deque
from typing import Protocol

from aidc.sim.jobs import SimJob


class Estimator(Protocol):
    name: str

    def predict(self, job: SimJob, now_s: float) -> float: ...

    def observe(self, job: SimJob, now_s: float) -> None: ...

    def samples(self, job: SimJob, now_s: float) -> tuple[float, ...]: ...


class Oracle:
    name = "oracle"

    def predict(self, job: SimJob, now_s: float) -> float:
        return job.duration_s

    def samples(self, job: SimJob, now_s: float) -> tuple[float, ...]:
        return ()

    def observe(self, job: SimJob, now_s: float) -> None:
        pass


class History:
    """Geometric mean of the last `k` finished jobs of the same (tenant, GPUs), else tenant, else all.

    (On Philly, log-correlation with the truth: 0.64 for the median of 9, 0.68 for the geometric
    mean of 27; run times are log-normal-ish, so the geometric mean is the natural centre.)
    """

    name = "history"

    def __init__(self, k: int = 27, default_s: float = 3600.0, geometric: bool = True) -> None:
        self.k, self.default_s, self.geometric = k, default_s, geometric
        self.by_key: dict[tuple, deque] = defaultdict(lambda: deque(maxlen=k))
        self._sorted: dict[tuple, tuple[float, ...]] = {}  # class -> its samples, sorted (until it changes)

    def predict(self, job: SimJob, now_s: float) -> float:
        for key in ((job.tenant, job.gpus), (job.tenant,), ()):
            seen = self.by_key.get(key)
            if seen:
                if self.geometric:
                    return float(math.exp(sum(math.log(max(d, 1.0)) for d in seen) / len(seen)))
                return float(statistics.median(seen))
        return self.default_s

    def observe(self, job: SimJob, now_s: float) -> None:
        for key in ((job.tenant, job.gpus), (job.tenant,), ()):
            self.by_key[key].append(job.duration_s)
            self._sorted.pop(key, None)

    min_samples: int = 8

    def samples(self, job: SimJob, now_s: float) -> tuple[float, ...]:
        """Ascending run times of the last `k` finished jobs of the first class with `min_samples` of
        them ((tenant, GPUs), tenant, all), else of the first with any; one tuple per class until it changes."""
        keys = ((job.tenant, job.gpus), (job.tenant,), ())
        key = next((k for k in keys if len(self.by_key.get(k, ())) >= self.min_samples), None)
        key = key if key is not None else next((k for k in keys if self.by_key.get(k)), None)
        if key is None:
            return ()
        out = self._sorted.get(key)
        if out is None:
            out = self._sorted[key] = tuple(sorted(self.by_key[key]))
        return out


class Predictor:
    """The control plane's run-time predictor (aidc.scheduling.predictor) replayed: trained online on
    the jobs finished so far (refitted each time their number grows by `refit_growth`, from
    `min_jobs` on), over what a trace has of a job (user, name, tenant, GPUs, its given estimate as
    the user's request); before the first fit, `history`'s answer."""

    name = "predictor"

    def __init__(self, min_jobs: int = 200, refit_growth: float = 1.5) -> None:
        from aidc.scheduling.predictor import RuntimePredictor

        self.model = RuntimePredictor(min_jobs=min_jobs, max_iter=120)
        self.fallback = History()
        self.finished: list = []
        self.refit_growth, self._next_fit = refit_growth, min_jobs
        self._last: tuple[int, float] | None = None  # (job id, prediction): samples() follows predict()

    @staticmethod
    def _record(job: SimJob, runtime_s: float | None = None, finished_s: float | None = None):  # noqa: ANN205
        from aidc.scheduling.predictor import JobRecord

        return JobRecord(submit_s=job.submit_s, gpus=job.gpus, user=job.user or None, tenant=job.tenant,
                         name=job.name or None, requested_s=job.given_estimate_s, runtime_s=runtime_s, finished_s=finished_s)

    def predict(self, job: SimJob, now_s: float) -> float:
        if self.model.ready:
            got = self.model.predict([self._record(job)])[0]
            if got is not None:
                self._last = (job.jid, got)
                return got
        return self.fallback.predict(job, now_s)

    def samples(self, job: SimJob, now_s: float) -> tuple[float, ...]:
        if self.model.ready:
            last = self._last if self._last is not None and self._last[0] == job.jid else None
            return self.model.samples_for(last[1] if last else self.predict(job, now_s))
        return self.fallback.samples(job, now_s)

    def observe(self, job: SimJob, now_s: float) -> None:
        self.fallback.observe(job, now_s)
        self.finished.append(self._record(job, job.duration_s, now_s))
        if len(self.finished) >= self._next_fit:
            self.model.fit(self.finished)
            self._last = None
            self._next_fit = int(len(self.finished) * self.refit_growth) + 1


ESTIMATORS = {"oracle": Oracle, "history": History, "predictor": Predictor}


def get_estimator(name: str) -> Estimator:
    from aidc.core.errors import UnknownNameError, did_you_mean

    if name not in ESTIMATORS:
        raise UnknownNameError(f"unknown estimator {name!r}{did_you_mean(name, list(ESTIMATORS))}")
    return ESTIMATORS[name]()
