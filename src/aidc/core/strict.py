"""The base of every spec model: unknown keys are errors, values are checked at the edge."""

from __future__ import annotations

import types
import typing
import unicodedata
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

MAX_TEXT_PREVIEW = 40  # characters of an offending value quoted back in an error


def preview(value: Any) -> str:
    """A bounded repr of a value for an error message (a 1 MB string is not echoed back)."""
    text = repr(value)
    return text if len(text) <= MAX_TEXT_PREVIEW else text[:MAX_TEXT_PREVIEW] + f"... ({len(text):,} characters)"


def _kinds(annotation: Any) -> set[type]:
    """The plain types a field annotation allows (Optional/Union unwrapped)."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return {k for a in typing.get_args(annotation) for k in _kinds(a)}
    if typing.get_origin(annotation) is typing.Annotated:
        return _kinds(typing.get_args(annotation)[0])
    return {annotation} if isinstance(annotation, type) else set()


class StrictModel(BaseModel):
    """Base of every spec model: unknown keys are errors, values are checked at the edge.

    Beyond pydantic's checks: a number field takes a number, never a string ("2") or a boolean (true
    is not 1 GPU); floats are finite (no .inf, .nan, 1e309); text has no control characters (a tab or
    newline only where the text is free-form, never in a name)."""

    model_config = ConfigDict(extra="forbid", validate_default=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_coercion(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if field is None:
            return value
        kinds = _kinds(field.annotation)
        numeric = kinds & {int, float}
        if numeric and not kinds & {str, bool}:
            if isinstance(value, bool) or isinstance(value, str):
                want = "a whole number" if numeric == {int} else "a number"
                raise ValueError(f"expected {want}, got {preview(value)}")
        if isinstance(value, str) and str in kinds:
            allowed = "" if info.field_name == "name" else "\n\t"
            bad = next((c for c in value if unicodedata.category(c) == "Cc" and c not in allowed), None)
            if bad is not None:
                what = "a NUL byte" if bad == "\0" else f"control character {bad!r}"
                raise ValueError(f"{what} at position {value.index(bad)}, got {preview(value)}")
        return value
