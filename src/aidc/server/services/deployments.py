"""Deployments: serving jobs (kind `serve`), where they answer, and a prompt passed through to them.

A deployment's endpoint is what its spec declares: `env.AIDC_ENDPOINT`, or `workload_config.port` on
its node. Prompts are forwarded only to loopback endpoints (the local executor's host): the control
plane must not become a proxy to arbitrary addresses.
"""

from __future__ import annotations

import ipaddress
import time
from typing import Any
from urllib.parse import urlparse

from sqlalchemy.orm import Session

from aidc.server.errors import BadRequest, Conflict
from aidc.server.models import JobModel
from aidc.server.security import Principal
from aidc.server.services import jobs

PROMPT_TIMEOUT_S = 120.0


def endpoint_of(job: JobModel) -> str | None:
    env = job.spec.get("env") or {}
    if env.get("AIDC_ENDPOINT"):
        return str(env["AIDC_ENDPOINT"]).rstrip("/")
    port = (job.spec.get("workload_config") or {}).get("port")
    return f"http://127.0.0.1:{int(port)}" if port else None


def _loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def prompt(session: Session, *, actor: Principal, job_id: int, text: str, max_tokens: int) -> dict[str, Any]:
    """Send one prompt to a running deployment's /v1/completions; the caller must be able to see the job."""
    import httpx

    job = jobs.get_visible(session, actor=actor, job_id=job_id)
    if job.kind != "serve":
        raise BadRequest(f"job {job_id} is a {job.kind} job, not a deployment (kind serve)")
    if job.status != "running":
        raise Conflict(f"deployment {job_id} is {job.status}, not running")
    url = endpoint_of(job)
    if url is None:
        raise Conflict(f"deployment {job_id} declares no endpoint (env AIDC_ENDPOINT or workload_config.port)")
    if not _loopback(url):
        raise BadRequest(f"endpoint {url} is not on this host; prompts are only passed to loopback endpoints")
    t0 = time.perf_counter()
    try:
        resp = httpx.post(f"{url}/v1/completions", json={"prompt": text, "max_tokens": max_tokens},  # the served model
                          timeout=PROMPT_TIMEOUT_S)
    except httpx.HTTPError as exc:
        raise Conflict(f"deployment {job_id} did not answer at {url} ({exc.__class__.__name__})") from None
    if resp.status_code >= 400:
        raise Conflict(f"deployment {job_id} answered {resp.status_code}: {resp.text[:300]}")
    body = resp.json()
    return {"job_id": job_id, "endpoint": url, "text": body["choices"][0]["text"], "model": body.get("model"),
            "latency_s": round(time.perf_counter() - t0, 3), "usage": body.get("usage")}
