"""Request bodies of the dashboard's form routes (what-if, plan); `extra="forbid"` like every API body."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Scenario(_Body):
    policy: str = Field(min_length=1, max_length=64, description="an aidc.scheduling policy name")
    scale_nodes: float = Field(default=1.0, gt=0, le=4, description="share of the datacenter's GPU nodes")


class WhatIfRequest(_Body):
    source: str = Field(default="history", max_length=128, description="'history' or 'example:NAME'")
    datacenter: str | None = Field(default=None, max_length=128, description="default: the first imported")
    scenarios: list[Scenario] = Field(min_length=2, max_length=6)


class PlanRequest(_Body):
    kind: Literal["train", "serve"]
    spec: dict[str, Any] = Field(description="a TrainSpec or ServeSpec (see docs/planning.md)")
    datacenter: str | None = Field(default=None, max_length=128, description="where it should fit; none: anywhere")
