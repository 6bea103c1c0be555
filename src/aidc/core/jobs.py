"""The job spec a tenant submits (YAML or JSON): what to run and what it needs."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, NonNegativeInt, PositiveFloat, PositiveInt, field_validator, model_validator

from aidc.core.datacenter import StrictModel
from aidc.core.tenancy import JobVolume

JobKind = Literal["train", "finetune", "eval", "batch_infer", "serve", "custom", "data"]
# the built-in workloads a job may name (each is `aidc <workload>`: cli/workloads.py)
Workload = Literal["train", "eval", "sweep", "generate", "serve", "data"]

MAX_GPUS_PER_JOB = 100_000
MAX_ENV_VARS = 256
MAX_ENV_VALUE = 32_768
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


class JobSpec(StrictModel):
    """One job. Either `command` (a shell command) or `workload` (a built-in aidc workload) is given."""

    name: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    kind: JobKind = "custom"
    command: str | None = Field(default=None, max_length=16_384, description="shell command run on the node")
    workload: Workload | None = Field(default=None, description="built-in workload, e.g. 'train' (run as `aidc <workload>`)")
    workload_config: dict[str, Any] = Field(default_factory=dict, description="config for the built-in workload")
    gpus: NonNegativeInt = Field(default=1, le=MAX_GPUS_PER_JOB, description="GPUs in total")
    gpu_model: str | None = Field(default=None, description="required GPU model; None = any")
    nodes: PositiveInt = Field(default=1, description="nodes the GPUs are spread over")
    cpu_cores: PositiveFloat = 1
    memory_gib: PositiveFloat = 4
    priority: int = Field(default=0, ge=-1000, le=1000)
    preemptible: bool = True
    max_runtime_s: PositiveFloat | None = Field(default=None, description="killed after this long")
    estimated_runtime_s: PositiveFloat | None = Field(default=None, description="user's estimate, for backfill and ETAs")
    checkpoint_dir: str | None = None
    env: dict[str, str] = Field(default_factory=dict)
    replicas: PositiveInt = Field(default=1, le=10_000, description="serve: copies of the deployment")
    volumes: list[JobVolume] | None = Field(default=None, max_length=64,
                                            description="tenant volumes to mount (default: all of them, as declared)")
    image: str | None = Field(default=None, max_length=4096,
                              description="run inside this root filesystem ('dir:/abs/path') instead of the host's")

    @field_validator("env")
    @classmethod
    def _env(cls, env: dict[str, str]) -> dict[str, str]:
        if len(env) > MAX_ENV_VARS:
            raise ValueError(f"{len(env)} variables; at most {MAX_ENV_VARS}")
        for key, value in env.items():
            if not ENV_NAME.fullmatch(key):
                raise ValueError(f"variable name {key[:64]!r} is not a shell name (letters, digits, _; not first a digit)")
            if "\0" in value or len(value) > MAX_ENV_VALUE:
                raise ValueError(f"{key}: the value has a NUL byte or is longer than {MAX_ENV_VALUE} characters")
        return env

    @field_validator("command")
    @classmethod
    def _command(cls, command: str | None) -> str | None:
        if command is not None and "\0" in command:
            raise ValueError("the command has a NUL byte")
        return command

    @model_validator(mode="after")
    def _one_thing_to_run(self) -> "JobSpec":
        if (self.command is None) == (self.workload is None):
            raise ValueError("give exactly one of 'command' or 'workload'")
        if self.gpus and self.gpus % self.nodes:
            raise ValueError(f"{self.gpus} GPUs do not split evenly over {self.nodes} nodes")
        if self.max_runtime_s is not None and self.estimated_runtime_s is not None and \
                self.estimated_runtime_s > self.max_runtime_s:
            raise ValueError(f"estimated_runtime_s {self.estimated_runtime_s:g} exceeds max_runtime_s {self.max_runtime_s:g}")
        return self

    @property
    def gpus_per_node(self) -> int:
        return self.gpus // self.nodes
