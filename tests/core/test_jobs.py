"""The job spec: defaults, cross-field rules, located errors from YAML."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from aidc.core.errors import SpecError
from aidc.core.jobs import JobSpec
from aidc.core.spec_io import load_model


def test_defaults_and_gpus_per_node() -> None:
    spec = JobSpec(name="t", command="true", gpus=16, nodes=2)
    assert spec.gpus_per_node == 8 and spec.preemptible and spec.kind == "custom"


@pytest.mark.parametrize("kwargs,message", [
    ({"command": "a", "workload": "train"}, "give exactly one of 'command' or 'workload'"),
    ({}, "give exactly one of 'command' or 'workload'"),
    ({"command": "a", "gpus": 10, "nodes": 3}, "10 GPUs do not split evenly over 3 nodes"),
    ({"command": "a", "max_runtime_s": 10, "estimated_runtime_s": 20}, "estimated_runtime_s 20 exceeds max_runtime_s 10"),
])
def test_cross_field_rules(kwargs: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        JobSpec(name="t", **kwargs)


def test_yaml_errors_are_located(tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.write_text("name: t\ncommand: run\ngpus: -1\npriorty: 3\n")
    with pytest.raises(SpecError) as info:
        load_model(path, JobSpec)
    lines = str(info.value).splitlines()
    assert lines == [f"{path}:3: gpus: Input should be greater than or equal to 0 (got -1)",
                     f"{path}:4: priorty: unknown field 'priorty' (did you mean priority?)"]


@pytest.mark.parametrize("env, says", [({"": "x"}, "not a shell name"), ({"A=B": "1"}, "not a shell name"),
                                       ({"1X": "1"}, "not a shell name"), ({"OK": "a\0b"}, "NUL byte"),
                                       ({f"V{i}": "1" for i in range(300)}, "at most 256")])
def test_env_names_and_values_follow_the_shells_rules(env: dict, says: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=says):
        JobSpec(name="x", command="id", env=env)


def test_a_nul_in_the_command_is_refused_at_submit() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="NUL byte"):
        JobSpec(name="x", command="id\0rm -rf /")


@pytest.mark.parametrize("field, value, message", [
    ("gpus", "2", "expected a whole number, got '2'"),
    ("gpus", True, "expected a whole number, got True"),
    ("max_runtime_s", float("inf"), "finite number"),
    ("max_runtime_s", float("nan"), "finite number"),
    ("memory_gib", "4", "expected a number, got '4'"),
    ("name", "a\x1bb", "control character"),
])
def test_numbers_are_numbers_and_finite(field: str, value: object, message: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as info:
        JobSpec.model_validate({"name": "j", "command": "true", field: value})
    assert message.lower() in str(info.value).lower()


def test_a_huge_refused_value_is_not_echoed_back_whole() -> None:
    from aidc.core.spec_io import validate_data
    from aidc.core.errors import SpecError

    with pytest.raises(SpecError) as info:
        validate_data({"name": "j", "command": "x" * 1_000_000}, JobSpec, "job.yaml")
    assert len(str(info.value)) < 500
