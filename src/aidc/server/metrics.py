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

        node_gpu = ["node", "gpu"]
        self.gpu_util = Gauge("aidc_node_gpu_utilization_percent", "GPU utilization reported by node agents", node_gpu,
                              registry=self.registry)
        self.gpu_power = Gauge("aidc_node_gpu_power_watts", "GPU power draw reported by node agents", node_gpu,
                               registry=self.registry)
        self.gpu_temp = Gauge("aidc_node_gpu_temperature_celsius", "GPU temperature reported by node agents", node_gpu,
                              registry=self.registry)
        self.gpu_mem = Gauge("aidc_node_gpu_memory_used_bytes", "GPU memory in use reported by node agents", node_gpu,
                             registry=self.registry)
        self.node_cpu = Gauge("aidc_node_cpu_percent", "Host CPU busy share reported by node agents", ["node"],
                              registry=self.registry)
        self.node_mem = Gauge("aidc_node_memory_used_bytes", "Host memory in use reported by node agents", ["node"],
                              registry=self.registry)
        self.node_seen = Gauge("aidc_node_heartbeat_timestamp_seconds", "Last agent heartbeat (epoch s)", ["node"],
                               registry=self.registry)
        self.job_gpu_util = Gauge("aidc_job_gpu_utilization_percent", "Mean utilization of a running job's GPUs",
                                  ["job", "node"], registry=self.registry)

    def observe_node(self, node: str, gpus: list[dict], host: dict) -> None:
        """One agent heartbeat's telemetry (thread-safe: prometheus_client gauges lock)."""
        import time

        for g in gpus:
            labels = {"node": node, "gpu": str(g.get("index", 0))}
            self.gpu_util.labels(**labels).set(float(g.get("util_pct") or 0))
            self.gpu_power.labels(**labels).set(float(g.get("power_w") or 0))
            self.gpu_temp.labels(**labels).set(float(g.get("temp_c") or 0))
            self.gpu_mem.labels(**labels).set(float(g.get("mem_used_gib") or 0) * 2**30)
        self.node_cpu.labels(node=node).set(float(host.get("cpu_pct") or 0))
        self.node_mem.labels(node=node).set(float(host.get("mem_used_gib") or 0) * 2**30)
        self.node_seen.labels(node=node).set(time.time())

    def observe_job(self, job_id: int, node: str, util_pct: float) -> None:
        self.job_gpu_util.labels(job=str(job_id), node=node).set(util_pct)

    def forget_job(self, job_id: int, node: str) -> None:
        try:
            self.job_gpu_util.remove(str(job_id), node)
        except KeyError:
            pass

    def refresh_gauges(self, session: Session) -> None:
        """Queue depth, running jobs and allocation from the database (called per scrape, not per cycle)."""
        from aidc.server.services import jobs

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
