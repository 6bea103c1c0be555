"""Typed server settings from the environment (AIDC_*), with the embedded defaults: SQLite, local executor."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AIDC_", extra="ignore")

    data_dir: Path = Field(default=Path(".aidc"), description="database, logs and job folders")
    database_url: str | None = Field(default=None, description="default: sqlite under data_dir")
    host: str = "127.0.0.1"
    port: int = Field(default=8700, ge=0, le=65535)
    executor: str = Field(default="local", description="local (this host)")
    policy: str = Field(default="fairshare", description="scheduling policy (aidc.scheduling registry name)")
    placement: str = Field(default="consolidate", description="placement plugin")
    schedule_interval_s: float = Field(default=0.2, gt=0, le=60, description="loop period when idle")
    bootstrap_token: str | None = Field(default=None, description="admin token to create on an empty database")
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    token_ttl_days: float = Field(default=90, gt=0)
    start_loop: bool = Field(default=True, description="run the scheduling loop in the background")
    initial_datacenter: Path | None = Field(default=None, description="spec imported at start when none is")
    isolate_tenants: bool = Field(default=False, description="a job runs only on nodes its tenant owns")

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'aidc.db').resolve()}"

    @property
    def jobs_dir(self) -> Path:
        return self.data_dir / "jobs"
