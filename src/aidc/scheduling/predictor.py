"""Run-time predictor for live jobs: gradient-boosted trees over what the control plane knows of a job.

A trace gives a job's VC, GPU count and submit time; the control plane knows much more: its user,
name, command, the run time the user asked for (`estimated_runtime_s`) and the limit (`max_runtime_s`),
the GPU model, and every past run of that user. The predictor turns those into features and fits
scikit-learn's HistGradientBoostingRegressor on log run time:

* the numbers as given: log requested run time, log limit, log GPUs (missing = NaN, which the
  trees route on their own);
* the GPU model as a category;
* for each of five keys — user, (user, name), (user, command with its numbers blanked), (tenant,
  GPUs) and name — the median and the last log run time of its past jobs and how many there were.
  (tenant, GPUs) alone is what the trace-only History estimator knows: the `baseline` below.

Training is online and honest: each finished job's key features are computed from the jobs that
finished before it was submitted, exactly as they would have been when it waited in the queue.
`fit` scores itself on time: trained on the earlier 75% of the history, it predicts the later 25%,
and the median absolute error (s) and the share within 2x are reported beside the baseline's and
the users' own estimates' (`Accuracy`). It then refits on everything. The held-out log errors also
give a spread: `samples_for` turns one prediction into a run-time distribution (prediction x the
empirical error quantiles) for the gittins policy, which ranks by a distribution.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

MIN_JOBS = 30  # below this many finished jobs there is nothing to learn from: predict nothing
MAX_HISTORY = 20_000  # the latest finished jobs kept for training (fit time grows with it)
HOLDOUT = 0.25  # the later share of the history scored out of sample
KEEP_PER_KEY = 25  # past run times kept per key for its median
ERROR_QUANTILES = 16  # points of the held-out log-error distribution kept for `samples_for`


@dataclass(frozen=True)
class JobRecord:
    """What the control plane knows of one job; `runtime_s` is None while it has not finished."""

    submit_s: float
    gpus: int
    user: str | None = None
    tenant: str | None = None
    name: str | None = None
    command: str | None = None
    requested_s: float | None = None  # the user's estimate of its run time
    max_runtime_s: float | None = None  # the limit it is killed at
    gpu_model: str | None = None
    runtime_s: float | None = None
    finished_s: float | None = None  # default: submit_s + runtime_s (no queue)

    @property
    def done_s(self) -> float:
        if self.finished_s is not None:
            return self.finished_s
        return self.submit_s + (self.runtime_s or 0.0)


def _command_key(command: str | None) -> str | None:
    """The command with numbers blanked (seeds, step counts and dates vary; the program does not)."""
    return None if command is None else re.sub(r"\d+", "#", command.strip())[:300]


KEYS: tuple[tuple[str, Callable[[JobRecord], object]], ...] = (
    ("user", lambda r: r.user),
    ("user_name", lambda r: None if r.user is None and r.name is None else (r.user, r.name)),
    ("user_command", lambda r: None if r.command is None else (r.user, _command_key(r.command))),
    ("tenant_gpus", lambda r: (r.tenant, r.gpus)),
    ("name", lambda r: r.name),
)
BASELINE_KEY = "tenant_gpus"  # what a trace-only estimator (VC and size) knows


def _log(value: float | None) -> float:
    return math.log(max(value, 1.0)) if value is not None and math.isfinite(value) and value > 0 else math.nan


class _KeyStats:
    """Past log run times per key value: median of the latest KEEP_PER_KEY, the last one, the count."""

    def __init__(self) -> None:
        self.runs: dict[object, deque[float]] = {}
        self.count: dict[object, int] = {}

    def add(self, key: object, log_runtime: float) -> None:
        if key is None:
            return
        self.runs.setdefault(key, deque(maxlen=KEEP_PER_KEY)).append(log_runtime)
        self.count[key] = self.count.get(key, 0) + 1

    def observe(self, job: JobRecord) -> None:
        """A finished job's run time counts for each of its keys."""
        for _, key in KEYS:
            self.add(key(job), _log(job.runtime_s))

    def features(self, key: object) -> tuple[float, float, float]:
        runs = self.runs.get(key) if key is not None else None
        if not runs:
            return math.nan, math.nan, 0.0
        return float(np.median(runs)), runs[-1], math.log1p(self.count[key])


@dataclass
class Accuracy:
    """How the predictor did on the later part of the history it was trained on (out of sample)."""

    jobs: int = 0  # finished jobs in the history
    scored: int = 0  # of them, held out and predicted
    median_abs_error_s: float | None = None
    within_2x: float | None = None  # share of held-out jobs predicted within a factor of 2
    baseline_median_abs_error_s: float | None = None  # (tenant, GPUs) history median: the trace-only estimator
    baseline_within_2x: float | None = None
    user_estimate_median_abs_error_s: float | None = None  # the users' own estimates, where given
    user_estimate_jobs: int = 0

    def as_dict(self) -> dict:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def _errors(pred: np.ndarray, true: np.ndarray) -> tuple[float | None, float | None]:
    ok = np.isfinite(pred)
    if not ok.any():
        return None, None
    p, t = pred[ok], true[ok]
    return float(np.median(np.abs(p - t))), float(np.mean(np.abs(np.log(np.maximum(p, 1)) - np.log(np.maximum(t, 1))) <= math.log(2)))


def _blank(x: np.ndarray, dead: np.ndarray | None) -> np.ndarray:
    if dead is None or not dead.any():
        return x
    x = x.copy()
    x[:, dead] = 0.0
    return x


@dataclass
class RuntimePredictor:
    """Fit on finished jobs (`fit`), then `predict` run times of waiting ones; None where it cannot."""

    min_jobs: int = MIN_JOBS
    max_iter: int = 200
    seed: int = 0
    model: object | None = field(default=None, repr=False)
    stats: _KeyStats = field(default_factory=_KeyStats, repr=False)
    models: dict[str, int] = field(default_factory=dict, repr=False)  # GPU model -> category code
    error_quantiles: tuple[float, ...] = ()  # held-out log errors (true - predicted), ascending
    accuracy: Accuracy = field(default_factory=Accuracy)
    _dead: np.ndarray | None = field(default=None, repr=False)  # feature columns blanked (no value in training)

    def _row(self, job: JobRecord, stats: _KeyStats) -> list[float]:
        row = [_log(job.requested_s), _log(job.max_runtime_s), math.log(max(job.gpus, 1)),
               float(self.models.get(job.gpu_model, math.nan)) if job.gpu_model else math.nan]
        for _, key in KEYS:
            row.extend(stats.features(key(job)))
        return row

    def _online_rows(self, history: Sequence[JobRecord]) -> tuple[np.ndarray, _KeyStats]:
        """Features of each finished job as of its submit time (only jobs finished by then count)."""
        stats = _KeyStats()
        by_finish = sorted(range(len(history)), key=lambda i: history[i].done_s)
        k, rows = 0, []
        for job in history:  # history is in submit order
            while k < len(by_finish) and history[by_finish[k]].done_s <= job.submit_s:
                stats.observe(history[by_finish[k]])
                k += 1
            rows.append(self._row(job, stats))
        for i in by_finish[k:]:  # the rest: everything is known at prediction time
            stats.observe(history[i])
        return np.asarray(rows, dtype=float), stats

    def _new_model(self):  # noqa: ANN202
        from sklearn.ensemble import HistGradientBoostingRegressor

        mask = [False, False, False, True] + [False] * (3 * len(KEYS))
        return HistGradientBoostingRegressor(max_iter=self.max_iter, learning_rate=0.08, min_samples_leaf=10,
                                             l2_regularization=1.0, categorical_features=mask, random_state=self.seed)

    def fit(self, finished: Sequence[JobRecord]) -> Accuracy:
        """Train on finished jobs (any order; the latest MAX_HISTORY kept), score on the later 25%."""
        history = sorted((j for j in finished if j.runtime_s is not None and math.isfinite(j.runtime_s)),
                         key=lambda j: j.submit_s)[-MAX_HISTORY:]
        self.accuracy = Accuracy(jobs=len(history))
        if len(history) < self.min_jobs:
            self.model, self.stats, self.error_quantiles = None, _KeyStats(), ()
            return self.accuracy
        self.models = {m: i for i, m in enumerate(sorted({j.gpu_model for j in history if j.gpu_model})[:250])}
        x, stats = self._online_rows(history)
        y = np.log(np.maximum([j.runtime_s for j in history], 1.0))
        cut = int(len(history) * (1 - HOLDOUT))
        if cut >= self.min_jobs and len(history) - cut >= 10:
            held, dead = self._fit_model(x[:cut], y[:cut])
            pred_log = held.predict(_blank(x[cut:], dead))
            self._score(history[cut:], x[cut:], np.exp(pred_log))
            self.error_quantiles = tuple(np.quantile(y[cut:] - pred_log, np.linspace(0.03, 0.97, ERROR_QUANTILES)))
        self.model, self._dead = self._fit_model(x, y)
        self.stats = stats
        return self.accuracy

    def _fit_model(self, x: np.ndarray, y: np.ndarray):  # noqa: ANN202
        """The trees on x; a column with no value at all in training (say, nobody gave an estimate) is
        blanked to 0 there and at prediction, as the binner needs one value per feature."""
        dead = np.isnan(x).all(axis=0)
        return self._new_model().fit(_blank(x, dead), y), dead

    def _score(self, held: Sequence[JobRecord], x: np.ndarray, pred: np.ndarray) -> None:
        true = np.array([j.runtime_s for j in held], dtype=float)
        a = self.accuracy
        a.scored = len(held)
        a.median_abs_error_s, a.within_2x = _errors(pred, true)
        base_col = 4 + 3 * [name for name, _ in KEYS].index(BASELINE_KEY)  # the (tenant, GPUs) median
        a.baseline_median_abs_error_s, a.baseline_within_2x = _errors(np.exp(x[:, base_col]), true)
        asked = np.array([j.requested_s if j.requested_s is not None else math.nan for j in held], dtype=float)
        a.user_estimate_jobs = int(np.isfinite(asked).sum())
        a.user_estimate_median_abs_error_s = _errors(asked, true)[0]

    @property
    def ready(self) -> bool:
        return self.model is not None

    def predict(self, jobs: Sequence[JobRecord]) -> list[float | None]:
        """Predicted run time (s) of each job from everything finished so far; None before a fit."""
        if self.model is None or not jobs:
            return [None] * len(jobs)
        x = np.asarray([self._row(j, self.stats) for j in jobs], dtype=float)
        out = np.exp(self.model.predict(_blank(x, self._dead)))
        return [float(max(1.0, v)) for v in out]

    def samples_for(self, predicted_s: float) -> tuple[float, ...]:
        """A run-time distribution around one prediction: it times the held-out error quantiles (ascending)."""
        if not self.error_quantiles:
            return ()
        return tuple(max(1.0, predicted_s * math.exp(q)) for q in self.error_quantiles)

