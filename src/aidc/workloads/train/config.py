"""Typed config of `aidc train`: data folder, model, optimiser and schedule, batch, device, logging."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from aidc.workloads.models.registry import ModelConfig


class OptimConfig(BaseModel):
    """AdamW with linear warmup then cosine decay to min_lr_ratio * lr."""

    model_config = ConfigDict(extra="forbid")

    lr: float = Field(1e-3, gt=0, le=1, description="peak learning rate")
    min_lr_ratio: float = Field(0.1, ge=0, le=1, description="final learning rate as a fraction of lr")
    warmup_steps: int = Field(20, ge=0, description="optimizer steps of linear warmup")
    max_steps: int = Field(200, ge=1, description="optimizer steps in the whole run (sets the schedule)")
    weight_decay: float = Field(0.1, ge=0, description="decoupled weight decay on matrices (not norms, biases)")
    beta1: float = Field(0.9, ge=0, lt=1)
    beta2: float = Field(0.95, ge=0, lt=1)
    grad_clip: float = Field(1.0, ge=0, description="max global gradient norm; 0 disables clipping")
    grad_accum: int = Field(1, ge=1, description="micro-batches per optimizer step")

    @model_validator(mode="after")
    def _check(self) -> "OptimConfig":
        if self.warmup_steps > self.max_steps:
            raise ValueError(f"warmup_steps ({self.warmup_steps}) exceeds max_steps ({self.max_steps})")
        return self


class TrainConfig(BaseModel):
    """Top level of a training config (examples/workloads/train-*.yaml)."""

    model_config = ConfigDict(extra="forbid")

    data: Path = Field(description="a folder written by `aidc data prepare` (manifest.json)")
    out_dir: Path = Field(description="checkpoint, metrics.jsonl, loss.png, tokenizer and model card go here")
    model: ModelConfig
    batch_size: int = Field(16, ge=1, description="sequences per micro-batch per process")
    seed: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: Literal["auto", "fp32", "bf16"] = Field("auto", description="auto: bf16 autocast on GPU, fp32 on CPU")
    log_every: int = Field(10, ge=1, description="steps between log lines")
    eval_every: int = Field(100, ge=1, description="steps between validation losses (and at the end)")
    eval_batches: int = Field(8, ge=1, description="validation micro-batches per evaluation")
    checkpoint_every: int = Field(100, ge=1, description="steps between checkpoints (and at the end)")
    peak_tflops: float | None = Field(None, gt=0, description="device peak for MFU; default from the device")
    optim: OptimConfig = Field(default_factory=OptimConfig)


def load_train_config(path: Path) -> TrainConfig:
    """Read and validate a training config, then check it against its data folder (located errors)."""
    from aidc.core.errors import SpecError, SpecIssue
    from aidc.core.spec_io import load_model, locate
    from aidc.workloads.data.shards import load_manifest

    cfg, lines = load_model(path, TrainConfig)
    manifest = load_manifest(cfg.data)
    wanted = {"lm": "gpt", "translation": "seq2seq"}[manifest["task"]]
    issues = []
    if cfg.model.kind != wanted:
        issues.append(SpecIssue("model.kind", f"the data in {cfg.data} is for task {manifest['task']!r}, "
                                              f"which trains a {wanted!r} model, not {cfg.model.kind!r}"))
    if cfg.model.vocab_size < manifest["vocab_size"]:
        issues.append(SpecIssue("model.vocab_size", f"{cfg.model.vocab_size} is below the tokenizer's "
                                                    f"{manifest['vocab_size']} tokens"))
    if issues:
        raise SpecError(str(path), locate(issues, lines))
    return cfg
