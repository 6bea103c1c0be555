"""Read YAML specs into typed models with errors located by file, line and field path.

This is the one module in `core` that touches files: everything else takes parsed models. It
keeps a map from field paths to YAML line numbers so both pydantic's errors and the inventory's
cross-field issues point at the line a person has to change.
"""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from aidc.core.errors import SpecError, SpecIssue, did_you_mean
from aidc.core.strict import NUMBER_TEXT, NumberText, preview

M = TypeVar("M", bound=BaseModel)
LineMap = dict[str, int]


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys instead of silently keeping the last."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first on line {seen[key]})", key_node.start_mark)
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _construct_str(loader: _UniqueKeyLoader, node: yaml.ScalarNode) -> str:
    """YAML 1.1 (PyYAML) reads a plain 1e9 or 1.0e12 as text, where people, JSON and YAML 1.2 mean a
    number. Such a plain (unquoted) scalar is kept as `NumberText`: a number field takes it as the
    number, a text field as the text (a Philly VC named 6214e9 stays a name)."""
    value = loader.construct_scalar(node)
    if node.style is None and NUMBER_TEXT.match(value):
        return NumberText(value)
    return value


_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:str", _construct_str)


def format_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """('site', 'rooms', 0, 'name') -> 'site.rooms[0].name'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _line_map(node: yaml.Node, prefix: tuple[Any, ...] = (), out: LineMap | None = None) -> LineMap:
    """Field path -> 1-based line of every mapping key and sequence item in a composed YAML tree."""
    out = {} if out is None else out
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            path = (*prefix, key_node.value)
            out[format_path(path)] = key_node.start_mark.line + 1
            _line_map(value_node, path, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            path = (*prefix, i)
            out[format_path(path)] = item.start_mark.line + 1
            _line_map(item, path, out)
    return out


def line_for(path: str, lines: LineMap) -> int | None:
    """The line of a path, or of its nearest ancestor present in the file (line 1 for the document)."""
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return 1 if lines else None


MAX_SPEC_BYTES = 16 * 2**20  # a spec, job or config file; a fleet of 100,000 nodes written out is ~10 MB
MAX_YAML_DEPTH = 64  # nesting of mappings and lists; real specs use fewer than 10
MAX_YAML_NODES = 1_000_000  # values after aliases are expanded: a "billion laughs" document is refused


def _bad_yaml(source: str, message: str, line: int | None = None) -> SpecError:
    return SpecError(source, [SpecIssue(path="", message=message, line=line)])


def _check_shape(text: str, source: str) -> None:
    """Refuse, before building anything, a document nested deeper than MAX_YAML_DEPTH (the composer
    recurses) or with more than MAX_YAML_NODES nodes once its aliases are expanded (an alias bomb)."""
    if len(text) > MAX_SPEC_BYTES:
        raise _bad_yaml(source, f"file too large: {len(text):,} characters (at most {MAX_SPEC_BYTES:,})")
    if "\x00" in text:
        raise _bad_yaml(source, "not a text file: it contains NUL bytes")
    total, sizes, open_ = 0, {}, []  # values so far (aliases expanded); anchor -> its size; open collections
    for event in yaml.parse(text, Loader=_UniqueKeyLoader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            if len(open_) >= MAX_YAML_DEPTH:
                raise _bad_yaml(source, f"nested more than {MAX_YAML_DEPTH} levels deep", event.start_mark.line + 1)
            open_.append((total, event.anchor))
            total += 1
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            before, anchor = open_.pop()
            if anchor:
                sizes[anchor] = total - before
        elif isinstance(event, yaml.AliasEvent):
            total += sizes.get(event.anchor, 1)
        elif isinstance(event, yaml.ScalarEvent):
            total += 1
            if event.anchor:
                sizes[event.anchor] = 1
        if total > MAX_YAML_NODES:
            raise _bad_yaml(source, f"more than {MAX_YAML_NODES:,} values once its aliases are expanded "
                            "(an alias bomb?)", event.start_mark.line + 1)


def _construct(root: yaml.Node | None) -> Any:
    """The data of a composed document, built from its nodes (the text is not parsed a second time)."""
    if root is None:
        return None
    loader = _UniqueKeyLoader("")
    try:
        return loader.construct_document(root)
    finally:
        loader.dispose()


def parse_yaml(text: str, source: str) -> tuple[Any, LineMap]:
    """YAML text -> (data, line map); malformed, too deep, too large or alias-bomb YAML is a located SpecError."""
    try:
        _check_shape(text, source)
        root = yaml.compose(text, Loader=_UniqueKeyLoader)
        data = _construct(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = " ".join(p for p in (exc.context, exc.problem) if p) or "malformed YAML"
        raise SpecError(source, [SpecIssue(path="", message=f"malformed YAML: {problem}", line=line)]) from None
    except yaml.YAMLError as exc:
        raise SpecError(source, [SpecIssue(path="", message=f"malformed YAML: {exc}")]) from None
    return data, (_line_map(root) if root is not None else {})


def safe_yaml(text: str, source: str) -> Any:
    """Parsed YAML under the same limits as a spec (for configs and job files read outside load_model)."""
    return parse_yaml(text, source)[0]


def read_spec_text(path: str | Path) -> str:
    """A spec file's text: missing, unreadable, binary or oversized files are a SpecError naming the file."""
    source = str(path)
    try:
        size = Path(path).stat().st_size
        if size > MAX_SPEC_BYTES:
            raise _bad_yaml(source, f"file too large: {size:,} bytes (at most {MAX_SPEC_BYTES:,})")
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(source, [SpecIssue(path="", message="no such file")]) from None
    except UnicodeDecodeError:
        raise _bad_yaml(source, "not a text file (expected YAML in UTF-8)") from None
    except (IsADirectoryError, PermissionError) as exc:
        raise SpecError(source, [SpecIssue(path="", message=f"cannot read: {exc.__class__.__name__}")]) from None


def _unwrap(annotation: Any) -> list[Any]:
    """The concrete types inside Optional/Union annotations."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return [a for a in typing.get_args(annotation) if a is not type(None)]
    return [annotation]


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that owns the last element of a pydantic error location."""
    current: Any = model
    for part in loc:
        nxt = None
        for candidate in _unwrap(current):
            origin = typing.get_origin(candidate)
            if isinstance(candidate, type) and issubclass(candidate, BaseModel) and isinstance(part, str):
                field = candidate.model_fields.get(part)
                nxt = field.annotation if field else None
            elif origin in (list, tuple) and isinstance(part, int):
                nxt = typing.get_args(candidate)[0]
            elif origin is dict and isinstance(part, str):
                nxt = typing.get_args(candidate)[1]
            if nxt is not None:
                break
        if nxt is None:
            return None
        current = nxt
    for candidate in _unwrap(current):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _describe(err: dict[str, Any], model: type[BaseModel]) -> str:
    """A pydantic error as a sentence that says what was expected and what was given."""
    kind, loc = err["type"], tuple(err["loc"])
    if kind == "extra_forbidden":
        owner = _model_at(model, loc[:-1])
        allowed = list(owner.model_fields) if owner else []
        return f"unknown field {loc[-1]!r}{did_you_mean(str(loc[-1]), allowed)}"
    if kind == "missing":
        return "required field is missing"
    message = err["msg"]
    if kind == "value_error":
        message = message.removeprefix("Value error, ")
        if "got " in message:
            return message
    if "input" in err and kind not in ("model_type", "dict_type") and not isinstance(err["input"], (dict, list)):
        message += f" (got {preview(err['input'])})"
    return message


def validate_data(data: Any, model: type[M], source: str, lines: LineMap | None = None) -> M:
    """Validate parsed data against a model; every problem becomes a located SpecIssue."""
    lines = lines or {}
    if not isinstance(data, dict):
        got = "an empty document" if data is None else f"a {type(data).__name__}"
        raise SpecError(source, [SpecIssue(path="", message=f"expected a mapping of fields at the top level, got {got}", line=1)])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        issues = []
        for err in exc.errors(include_url=False):
            path = format_path([p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))])
            issues.append(SpecIssue(path=path, message=_describe(err, model), line=line_for(path, lines)))
        raise SpecError(source, sorted(issues, key=lambda i: i.line or 0)) from None


def load_model(path: str | Path, model: type[M]) -> tuple[M, LineMap]:
    """Read and validate one YAML file; returns the model and its line map (for later checks)."""
    source = str(path)
    data, lines = parse_yaml(read_spec_text(path), source)
    return validate_data(data, model, source, lines), lines


def locate(issues: list[SpecIssue], lines: LineMap) -> list[SpecIssue]:
    """Fill in line numbers for issues found after parsing (cross-field checks)."""
    located = [i if i.line is not None else SpecIssue(i.path, i.message, line_for(i.path, lines), i.severity) for i in issues]
    return sorted(located, key=lambda i: i.line or 0)
