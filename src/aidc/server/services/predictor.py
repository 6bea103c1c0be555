"""The control plane's run-time predictor: trained on this cluster's own finished jobs, applied to each snapshot.

`LivePredictor.apply(session, snap)` gives every pending and running job of the scheduler's snapshot
the run time `aidc.scheduling.predictor` predicts from its user, name, command, requested run time,
limit, GPU model and its user's past runs (duration and remaining estimates, and a run-time
distribution for gittins). Policies that rank by estimates (srtf, sjf, psrtf, gittins, easy
backfill) and the ETAs then use it. A job without a prediction keeps what it had (the user's
estimate, or the (tenant, GPUs) history).

The model is refitted at most every `refit_s` (300 s) when jobs have finished since, on a
background thread (a fit of 20,000 jobs takes a few seconds; the loop never waits for it). Its
out-of-sample accuracy on this history is `status()`, served at GET /api/v1/predictor and shown in
the dashboard. Without scikit-learn (an agent-only install) it says so and predicts nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aidc.scheduling import ClusterSnapshot
from aidc.scheduling.predictor import MAX_HISTORY, JobRecord, RuntimePredictor
from aidc.server.models import JobModel

log = logging.getLogger("aidc.predictor")
REFIT_S = 300.0
RECORD_COLUMNS = (JobModel.id, JobModel.user_id, JobModel.tenant_id, JobModel.name, JobModel.spec, JobModel.gpus,
                  JobModel.gpu_model, JobModel.submitted_s, JobModel.started_s, JobModel.finished_s, JobModel.attained_gpu_s)


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def record(row, finished: bool) -> JobRecord:  # noqa: ANN001 (a Row of RECORD_COLUMNS)
    """What the predictor sees of a job row; a finished one with its whole run time (service before
    its last run included)."""
    spec = row.spec or {}
    runtime = None
    if finished and row.started_s is not None and row.finished_s is not None:
        runtime = max(0.0, row.finished_s - row.started_s) + (row.attained_gpu_s or 0.0) / max(row.gpus, 1)
    command = spec.get("command") or (f"workload {spec['workload']}" if spec.get("workload") else None)
    return JobRecord(submit_s=row.submitted_s, gpus=row.gpus, user=f"u{row.user_id}", tenant=f"t{row.tenant_id}",
                     name=row.name, command=command, requested_s=_number(spec.get("estimated_runtime_s")),
                     max_runtime_s=_number(spec.get("max_runtime_s")), gpu_model=row.gpu_model or spec.get("gpu_model"),
                     runtime_s=runtime, finished_s=row.finished_s if finished else None)


def finished_records(session: Session, limit: int = MAX_HISTORY) -> list[JobRecord]:
    """The latest `limit` succeeded jobs (failed and cancelled runs say little about a run time)."""
    rows = session.execute(select(*RECORD_COLUMNS).where(JobModel.status == "succeeded", JobModel.started_s.is_not(None))
                           .order_by(JobModel.finished_s.desc()).limit(limit))
    return [record(r, finished=True) for r in rows]


class LivePredictor:
    """A fitted RuntimePredictor behind a lock, refitted in the background; predictions cached per job."""

    def __init__(self, refit_s: float = REFIT_S, min_jobs: int | None = None) -> None:
        self.refit_s = refit_s
        self._predictor = RuntimePredictor() if min_jobs is None else RuntimePredictor(min_jobs=min_jobs)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._next_fit_s = 0.0
        self._fitted_jobs = -1  # finished jobs seen by the last fit
        self._fitted_at: float | None = None
        self._fit_s: float | None = None
        self._generation = 0
        self._cache: dict[int, tuple[int, float | None]] = {}  # job id -> (generation, prediction)
        self._error: str | None = None
        self.available = self._sklearn()

    @staticmethod
    def _sklearn() -> bool:
        try:
            import sklearn  # noqa: F401
        except ImportError:
            return False
        return True

    # -- fitting ------------------------------------------------------------------------------
    def maybe_refit(self, session: Session, now_s: float | None = None, wait: bool = False) -> None:
        """Start a refit when one is due (every refit_s, and only with new finished jobs)."""
        now = time.monotonic() if now_s is None else now_s
        if not self.available or now < self._next_fit_s or (self._thread is not None and self._thread.is_alive()):
            return
        self._next_fit_s = now + self.refit_s
        count = session.scalar(select(func.count()).select_from(JobModel).where(JobModel.status == "succeeded")) or 0
        if count == self._fitted_jobs:
            return
        records = finished_records(session)
        self._fitted_jobs = count
        self._thread = threading.Thread(target=self._fit, args=(records,), name="aidc-predictor-fit", daemon=True)
        self._thread.start()
        if wait:
            self._thread.join()

    def _fit(self, records: list[JobRecord]) -> None:
        t0 = time.perf_counter()
        fresh = RuntimePredictor(min_jobs=self._predictor.min_jobs)
        try:
            from threadpoolctl import threadpool_limits  # (scikit-learn's own dependency)

            with threadpool_limits(limits=1):  # one core: the API and the loop keep the others
                fresh.fit(records)
        except Exception as exc:  # noqa: BLE001 (advice only: keep the last good model)
            self._error = f"{type(exc).__name__}: {exc}"
            log.warning("run-time predictor fit failed: %s", self._error)
            return
        with self._lock:
            self._predictor = fresh
            self._generation += 1
            self._fitted_at = time.time()
            self._fit_s = time.perf_counter() - t0
            self._error = None

    # -- predicting ---------------------------------------------------------------------------
    def predictions(self, session: Session, job_ids: list[int]) -> dict[int, float]:
        """Predicted run time (s) of these jobs (those it can predict), from the cache or the database."""
        with self._lock:
            predictor, gen = self._predictor, self._generation
        if not predictor.ready:
            return {}
        todo = [j for j in job_ids if self._cache.get(j, (-1, None))[0] != gen]
        for i in range(0, len(todo), 500):
            rows = list(session.execute(select(*RECORD_COLUMNS).where(JobModel.id.in_(todo[i:i + 500]))))
            for row, value in zip(rows, predictor.predict([record(r, finished=False) for r in rows])):
                self._cache[row.id] = (gen, value)
        if len(self._cache) > 4 * max(len(job_ids), 1000):  # forget jobs that left
            keep = set(job_ids)
            self._cache = {k: v for k, v in self._cache.items() if k in keep}
        return {j: v for j in job_ids if (v := self._cache.get(j, (0, None))[1]) is not None}

    def apply(self, session: Session, snap: ClusterSnapshot) -> ClusterSnapshot:
        """The snapshot with predicted durations on every job the model can predict."""
        self.maybe_refit(session)
        ids = [p.job_id for p in snap.pending] + [r.job_id for r in snap.running]
        got = self.predictions(session, ids) if ids else {}
        if not got:
            return snap
        with self._lock:
            predictor = self._predictor
        pending = []
        for p in snap.pending:
            d = got.get(p.job_id)
            if d is not None:
                left = max(1.0, d - p.attained_gpu_s / max(p.gpus, 1))
                p = replace(p, duration_estimate_s=d, remaining_estimate_s=left,
                            runtime_samples_s=predictor.samples_for(d) or p.runtime_samples_s)
            pending.append(p)
        running = []
        for r in snap.running:
            d = got.get(r.job_id)
            if d is not None:
                left = max(1.0, d - r.attained_at_start_gpu_s / max(r.gpus, 1))
                r = replace(r, remaining_at_start_s=left, runtime_samples_s=predictor.samples_for(d) or r.runtime_samples_s)
            running.append(r)
        return replace(snap, pending=tuple(pending), running=tuple(running))

    def status(self) -> dict:
        """For GET /api/v1/predictor and the dashboard: whether it predicts, and how well (out of sample)."""
        with self._lock:
            p = self._predictor
            return {"available": self.available, "ready": p.ready, "fitted_at": self._fitted_at,
                    "fit_s": None if self._fit_s is None else round(self._fit_s, 3), "refit_s": self.refit_s,
                    "min_jobs": p.min_jobs, "error": self._error, "accuracy": p.accuracy.as_dict(),
                    "features": ["requested run time", "max_runtime_s", "GPUs", "GPU model",
                                 "user", "user+name", "user+command", "tenant+GPUs", "name"]}
