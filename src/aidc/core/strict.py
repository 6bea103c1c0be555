"""The base of every spec model: unknown keys are errors, values are checked at the edge."""

from __future__ import annotations

import functools
import re
import types
import typing
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


NUMBER_TEXT = re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$")


class NumberText(str):
    """A plain YAML scalar such as 1e9 that YAML 1.1 reads as text: a number to a number field."""


def _check_kind(kinds: frozenset[type], value: Any) -> Any:
    """A number field takes a number and a boolean field a boolean: never "2", true for 1, or "yes"
    (a plain YAML 1e9, NumberText, is the number). Returns the value to validate."""
    numeric = kinds & {int, float}
    if numeric and isinstance(value, NumberText) and str not in kinds:
        return float(value.replace("_", ""))
    if numeric and not kinds & {str, bool}:
        if isinstance(value, bool) or isinstance(value, str):
            want = "a whole number" if numeric == {int} else "a number"
            raise ValueError(f"expected {want}, got {preview(value)}")
    if bool in kinds and not kinds & {str, int, float} and value is not None and not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {preview(value)}")
    return value


class StrictValuesModel(BaseModel):
    """Unknown keys are errors, numbers and booleans are not coerced, floats are finite. The base of
    request bodies whose text may be anything (job output, reasons); specs use StrictModel."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_coercion(cls, value: Any, info: ValidationInfo) -> Any:
        return _check_kind(_field_kinds(cls, info.field_name or ""), value)


class StrictModel(BaseModel):
    """Base of every spec model: unknown keys are errors, values are checked at the edge.

    Beyond pydantic's checks: a number field takes a number, never a string ("2") or a boolean (true
    is not 1 GPU), and a boolean field a boolean ("yes" is not true); floats are finite (no .inf,
    .nan, 1e309); text has no control characters (a tab or newline only where the text is free-form,
    never in a name)."""

    model_config = ConfigDict(extra="forbid", validate_default=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_coercion(cls, value: Any, info: ValidationInfo) -> Any:
        kinds = _field_kinds(cls, info.field_name or "")
        value = _check_kind(kinds, value)
        if isinstance(value, str) and str in kinds:
            bad = (_CONTROL_IN_NAME if info.field_name == "name" else _CONTROL_IN_TEXT).search(value)
            if bad is not None:
                what = "a NUL byte" if bad.group() == "\0" else f"control character {bad.group()!r}"
                raise ValueError(f"{what} at position {bad.start()}, got {preview(value)}")
        return value


# Unicode category Cc is exactly U+0000-U+001F and U+007F-U+009F; free text may hold tabs and newlines
_CONTROL_IN_NAME = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_IN_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@functools.lru_cache(maxsize=None)
def _field_kinds(model: type[BaseModel], name: str) -> frozenset[type]:
    """The plain types a model's field allows, worked out once per model and field (validation is a hot path)."""
    field = model.model_fields.get(name)
    return frozenset(_kinds(field.annotation)) if field is not None else frozenset()
