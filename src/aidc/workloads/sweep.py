"""`aidc sweep`: grid or random search over training-config fields, each trial a job, best by validation loss.

Trials go through a `TrialRunner`: `LocalRunner` trains them one after another in this process;
a control-plane runner will submit each as a job (the trial config is a complete `aidc train`
config, written to the trial folder, so a job needs nothing else).
"""

from __future__ import annotations

import copy
import itertools
import json
import random
from pathlib import Path
from typing import Any, Literal, Protocol

import yaml
from pydantic import BaseModel, ConfigDict, Field

from aidc.core.errors import SpecError, SpecIssue


class SweepConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base: Path = Field(description="the training config every trial starts from (relative to this file)")
    out_dir: Path = Field(description="one sub-folder per trial, plus sweep.json")
    mode: Literal["grid", "random"] = "grid"
    trials: int = Field(4, ge=1, description="random mode: how many trials to draw")
    seed: int = 0
    params: dict[str, list[Any]] = Field(min_length=1, description="dotted field path -> values, e.g. optim.lr: [1e-3, 3e-3]")
    metric: Literal["val_loss"] = "val_loss"


class TrialRunner(Protocol):
    def run(self, name: str, config_path: Path) -> dict[str, Any]:
        """Train one trial from a complete config file; returns the training summary (with val_loss)."""


class LocalRunner:
    def __init__(self, console: Any = None) -> None:
        self.console = console

    def run(self, name: str, config_path: Path) -> dict[str, Any]:
        from aidc.workloads.train.config import load_train_config
        from aidc.workloads.train.loop import train

        return train(load_train_config(config_path), resume=False, console=self.console)


def set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for key in parents:
        data = data.setdefault(key, {})
    data[last] = value


def trial_settings(cfg: SweepConfig) -> list[dict[str, Any]]:
    """Every grid point, or `trials` distinct random points of the grid."""
    keys = list(cfg.params)
    grid = [dict(zip(keys, values)) for values in itertools.product(*(cfg.params[k] for k in keys))]
    if cfg.mode == "grid":
        return grid
    return random.Random(cfg.seed).sample(grid, min(cfg.trials, len(grid)))


def plan_trials(cfg: SweepConfig, sweep_path: Path) -> list[tuple[str, Path, dict[str, Any]]]:
    """Write each trial's full training config; a bad field path or value is a located error."""
    from aidc.core.spec_io import validate_data
    from aidc.workloads.train.config import TrainConfig

    base_path = (sweep_path.parent / cfg.base) if not cfg.base.is_absolute() else cfg.base
    if not base_path.is_file():
        raise SpecError(str(sweep_path), [SpecIssue("base", f"no such file: {base_path}")])
    from aidc.core.spec_io import read_spec_text, safe_yaml

    base = safe_yaml(read_spec_text(base_path), str(base_path))
    trials = []
    for i, setting in enumerate(trial_settings(cfg)):
        data = copy.deepcopy(base)
        for dotted, value in setting.items():
            set_path(data, dotted, value)
        name = f"trial-{i:03d}"
        data["out_dir"] = str(Path(cfg.out_dir) / name)
        validate_data(data, TrainConfig, f"{sweep_path} ({name}: {setting})")
        path = Path(cfg.out_dir) / name / "train.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(json.loads(json.dumps(data, default=str)), sort_keys=False))
        trials.append((name, path, setting))
    return trials


def read_summary(out_dir: str | Path) -> dict[str, Any]:
    """A finished trial's result from its `metrics.jsonl` (for runners that trained it elsewhere)."""
    path = Path(out_dir) / "metrics.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []
    vals = [r["val_loss"] for r in rows if "val_loss" in r]
    return {"out_dir": str(out_dir), "val_loss": vals[-1] if vals else None, "steps": rows[-1]["step"] if rows else 0}


def run_sweep(cfg: SweepConfig, sweep_path: Path, runner: TrialRunner) -> dict[str, Any]:
    """Run every trial through the runner and pick the lowest validation loss.

    A runner with `run_all(trials)` gets every trial at once (the control-plane runner submits them
    as a set of jobs that run side by side); otherwise trials run one by one.
    """
    results = []
    trials = plan_trials(cfg, sweep_path)
    run_all = getattr(runner, "run_all", None)
    summaries = run_all([(name, path) for name, path, _ in trials]) if run_all else [runner.run(n, p) for n, p, _ in trials]
    for (name, _, setting), summary in zip(trials, summaries):
        results.append({"trial": name, "params": setting, "val_loss": summary.get("val_loss"), "out_dir": summary.get("out_dir"),
                        **({"job_id": summary["job_id"], "status": summary["status"]} if "job_id" in summary else {})})
    scored = [r for r in results if r["val_loss"] is not None]
    best = min(scored, key=lambda r: r["val_loss"]) if scored else None
    report = {"mode": cfg.mode, "metric": cfg.metric, "trials": results, "best": best}
    Path(cfg.out_dir).mkdir(parents=True, exist_ok=True)
    (Path(cfg.out_dir) / "sweep.json").write_text(json.dumps(report, indent=2))
    return report
