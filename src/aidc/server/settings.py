"""Typed server settings from the environment (AIDC_*), with the embedded defaults: SQLite, local executor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AIDC_", extra="ignore", allow_inf_nan=False)

    data_dir: Path = Field(default=Path(".aidc"), description="database, logs and job folders")
    database_url: str | None = Field(default=None, description="default: sqlite under data_dir")
    host: str = "127.0.0.1"
    port: int = Field(default=8700, ge=0, le=65535)
    executor: str = Field(default="local", description="local (this host), agent (node agents), slurm, ray")
    executor_options: dict[str, Any] = Field(default_factory=dict,
                                             description="the executor's keyword options, JSON in AIDC_EXECUTOR_OPTIONS")
    policy: str = Field(default="fairshare", description="scheduling policy (aidc.scheduling registry name)")
    placement: str = Field(default="consolidate", description="placement plugin")
    schedule_interval_s: float = Field(default=0.2, gt=0, le=60, description="loop period when idle")
    bootstrap_token: str | None = Field(default=None, description="admin token to create on an empty database")
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    request_threads: int = Field(default=40, ge=1, le=200, description="threads serving sync routes (anyio's "
                                 "limiter); submissions need none (they are awaited on the event loop)")
    token_ttl_days: float = Field(default=90, gt=0)
    start_loop: bool = Field(default=True, description="run the scheduling loop in the background")
    initial_datacenter: Path | None = Field(default=None, description="spec imported at start when none is")
    sandbox: str = Field(default="bwrap", pattern="^(bwrap|off)$",
                         description="job isolation of the local executor: bwrap (bubblewrap), or off (never shared)")
    sandbox_uid_base: int = Field(default=200_000, ge=1000, le=2**31 - 2**20,
                                  description="tenant t's jobs run as uid base + 1 + t unless it names a unix_uid")
    sandbox_max_processes: int = Field(default=1024, ge=16, le=1_000_000, description="processes per job")
    isolate_tenants: bool = Field(default=False, description="a job runs only on nodes its tenant owns")
    runtime_predictor: bool = Field(default=True, description="predict run times from this cluster's finished jobs "
                                    "(services/predictor.py) for the policies that rank by them and the ETAs")
    predictor_refit_s: float = Field(default=300.0, gt=0, le=86_400, description="refit the run-time predictor this often")
    # abuse limits per tenant (services/limits.py): 429 with Retry-After, or 422 for replicas
    max_pending_jobs_per_tenant: int = Field(default=10_000, ge=1, description="pending jobs a tenant may have")
    max_replicas: int = Field(default=64, ge=1, le=100_000, description="replicas of one serve deployment")
    submit_rate_per_tenant: float = Field(default=50.0, gt=0, description="sustained submissions per second")
    submit_burst: int = Field(default=200, ge=1, description="submissions a tenant may make at once")
    # node agents and the health loop (see services/health.py)
    heartbeat_interval_s: float = Field(default=5.0, gt=0, le=600, description="agents heartbeat this often")
    heartbeat_misses: int = Field(default=3, ge=1, le=100, description="a node is lost after this many missed")
    max_gpu_temp_c: float = Field(default=90.0, gt=0, description="hotter for a few heartbeats: drain")
    failed_jobs_in_a_row: int = Field(default=3, ge=1, description="this many jobs failing on a node: drain")
    repair_check_command: str | None = Field(default=None, description="agent check before a node returns; "
                                             "default: the agent's built-in GPU check")
    repair_check_retry_s: float = Field(default=30.0, gt=0)
    repair_max_checks: int = Field(default=5, ge=1)

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'aidc.db').resolve()}"

    @property
    def jobs_dir(self) -> Path:
        return self.data_dir / "jobs"

    def sandbox_options(self, given: dict[str, Any]) -> dict[str, Any]:
        """The local executor's sandbox: these settings under the executor options' own, and the server's data
        dir always hidden from jobs."""
        hidden = [str(self.data_dir.resolve())] + list(given.get("hidden_paths", []))
        return {"mode": self.sandbox, "uid_base": self.sandbox_uid_base, "max_processes": self.sandbox_max_processes,
                **given, "hidden_paths": hidden}

    @property
    def server_url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"

    def health_rules(self):  # -> HealthRules (imported here: settings stay import-light)
        from aidc.server.services.health import HealthRules

        return HealthRules(heartbeat_interval_s=self.heartbeat_interval_s, heartbeat_misses=self.heartbeat_misses,
                           max_gpu_temp_c=self.max_gpu_temp_c, failed_jobs_in_a_row=self.failed_jobs_in_a_row,
                           check_command=self.repair_check_command, check_retry_s=self.repair_check_retry_s,
                           max_checks=self.repair_max_checks)


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment and `overrides` (command-line options), or an AidcError naming each
    AIDC_* variable (or option) that is wrong and why: never a pydantic traceback. Names that the
    registries know (policy, placement, executor) are checked here too, before anything starts."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from aidc.core.errors import AidcError

    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            where = f"--{field.replace('_', '-')}" if field in overrides else f"AIDC_{field.upper()}"
            value = str(err.get("input", ""))[:40]
            lines.append(f"{where}={value!r}: {err['msg']}")
        raise AidcError("bad server setting" + ("s" if len(lines) > 1 else "") + ": " + "; ".join(lines)) from None
    except SettingsError as exc:  # a JSON-valued variable that is not JSON
        field = str(exc).split('"')[1] if '"' in str(exc) else "?"
        raise AidcError(f"AIDC_{field.upper()}: not valid JSON ({exc.__cause__ or exc})") from None
    _check_names(settings)
    return settings


def _check_names(settings: Settings) -> None:
    from aidc.core.errors import AidcError, UnknownNameError, did_you_mean
    from aidc.executors import REGISTRY
    from aidc.scheduling import get_placer, get_policy

    for var, check in (("AIDC_POLICY", lambda: get_policy(settings.policy)),
                       ("AIDC_PLACEMENT", lambda: get_placer(settings.placement))):
        try:
            check()
        except UnknownNameError as exc:
            raise AidcError(f"{var}: {exc}") from None
    if settings.executor not in REGISTRY:
        raise AidcError(f"AIDC_EXECUTOR: unknown executor {settings.executor[:40]!r}{did_you_mean(settings.executor, list(REGISTRY))}")
