"""The base of every spec model: unknown keys are errors, values are checked at the edge."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Base of every spec model: unknown keys are errors, values are checked at the edge."""

    model_config = ConfigDict(extra="forbid", validate_default=True)
