"""Per-tenant abuse limits on submissions: pending jobs, replicas per deployment, submissions per second.

Design note. A tenant is held to three limits (Settings: `max_pending_jobs_per_tenant`,
`max_replicas`, `submit_rate_per_tenant` with `submit_burst`), each a 429 with Retry-After or a 422
that says which limit and how to change it, so one tenant flooding the API cannot starve another's
submissions: each has its own token bucket and its own pending count. The rate is a token bucket per
tenant in this server process (a restarted server starts with full buckets). The pending count is
read from the database at most once a second per tenant and advanced by what this process accepts
in between, so the hot path does not count rows on every submit.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aidc.server.errors import BadRequest, TooMany

PENDING_RECOUNT_S = 1.0


@dataclass
class _Bucket:
    tokens: float
    at_s: float


@dataclass
class TenantLimits:
    """The limits of one server (one instance on app.state; tests make their own)."""

    max_pending: int = 10_000
    max_replicas: int = 64
    rate_per_s: float = 50.0
    burst: int = 200
    _buckets: dict[int, _Bucket] = field(default_factory=dict)
    _pending: dict[int, tuple[float, int]] = field(default_factory=dict)  # tenant -> (counted at, count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, session: Session, tenant_id: int, tenant: str, jobs: int) -> None:
        """Admit a submission of `jobs` rows for a tenant, or raise TooMany / BadRequest naming the limit."""
        if jobs > self.max_replicas:
            raise BadRequest(f"replicas: {jobs} asked, at most {self.max_replicas} per deployment "
                             "(the server's AIDC_MAX_REPLICAS)", field="replicas")
        pending = self._pending_count(session, tenant_id)
        if pending + jobs > self.max_pending:
            raise TooMany(f"tenant {tenant} has {pending:,} pending jobs, at most {self.max_pending:,} "
                          "(AIDC_MAX_PENDING_JOBS_PER_TENANT); wait for some to start or cancel some",
                          field="tenant", retry_after_s=30.0)
        self._take(tenant_id, tenant, jobs)
        with self._lock:
            at, count = self._pending.get(tenant_id, (0.0, 0))
            self._pending[tenant_id] = (at, count + jobs)

    def _take(self, tenant_id: int, tenant: str, jobs: int) -> None:
        """Token bucket: `burst` submissions at once, refilled at `rate_per_s`; a submission of N replicas costs N."""
        now = time.monotonic()
        with self._lock:
            b = self._buckets.setdefault(tenant_id, _Bucket(float(self.burst), now))
            b.tokens = min(float(self.burst), b.tokens + (now - b.at_s) * self.rate_per_s)
            b.at_s = now
            cost = min(float(jobs), float(self.burst))
            if b.tokens < cost:
                wait_s = (cost - b.tokens) / self.rate_per_s
                raise TooMany(f"tenant {tenant} is submitting faster than {self.rate_per_s:g} jobs/s (burst "
                              f"{self.burst}; AIDC_SUBMIT_RATE_PER_TENANT, AIDC_SUBMIT_BURST); retry in {wait_s:.1f} s",
                              field="tenant", retry_after_s=wait_s)
            b.tokens -= cost

    def _pending_count(self, session: Session, tenant_id: int) -> int:
        from aidc.core.status import JobStatus
        from aidc.server.models import JobModel

        now = time.monotonic()
        with self._lock:
            at, count = self._pending.get(tenant_id, (0.0, 0))
        if now - at < PENDING_RECOUNT_S:
            return count
        count = int(session.scalar(select(func.count()).select_from(JobModel).where(
            JobModel.tenant_id == tenant_id, JobModel.status == JobStatus.PENDING.value)) or 0)
        with self._lock:
            self._pending[tenant_id] = (now, count)
        return count
