"""Prometheus metrics of the control plane on its own registry (queue, allocation, cycle time, API latency)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge, Histogram, generate_latest
from sqlalchemy.orm import Session


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.queue_depth = Gauge("aidc_queue_depth", "Pending jobs per tenant", ["tenant"], registry=self.registry)
        self.running_jobs = Gauge("aidc_running_jobs", "Jobs starting or running", registry=self.registry)
        self.gpus_allocated = Gauge("aidc_gpus_allocated", "GPUs held by jobs", ["tenant", "gpu_model"],
                                    registry=self.registry)
        self.cycle_s = Histogram("aidc_scheduling_cycle_seconds", "Duration of a scheduling cycle",
                                 buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5), registry=self.registry)
        self.api_s = Histogram("aidc_api_request_seconds", "API latency", ["method", "route", "status"],
                               buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5), registry=self.registry)

    def observe_cycle(self, session: Session, stats) -> None:  # stats: CycleStats
        from aidc.server.services import jobs

        self.cycle_s.observe(stats.duration_s)
        self.queue_depth.clear()
        for tenant, n in jobs.queue_depth(session).items():
            self.queue_depth.labels(tenant=tenant).set(n)
        self.gpus_allocated.clear()
        allocated = jobs.allocated_gpus(session)
        for (tenant, model), gpus in allocated.items():
            self.gpus_allocated.labels(tenant=tenant, gpu_model=model).set(gpus)
        self.running_jobs.set(jobs.live_count(session))

    def render(self) -> bytes:
        return generate_latest(self.registry)
