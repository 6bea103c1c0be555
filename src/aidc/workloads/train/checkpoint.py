"""Checkpoints: save atomically, resume exactly (model, optimizer, step, RNG), load a trained model to use."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from aidc.core.errors import AidcError

CKPT = "ckpt.pt"
CARD = "model.json"  # task, model config and tokenizer file: what eval/generate/serve need


def save_checkpoint(out_dir: Path, *, model: torch.nn.Module, optimizer: torch.optim.Optimizer, step: int,
                    card: dict[str, Any]) -> Path:
    """Write ckpt.pt (via a temp file and rename, so a crash never leaves half a checkpoint) and model.json."""
    path = Path(out_dir) / CKPT
    tmp = path.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
                "rng": torch.get_rng_state(), "card": card}, tmp)
    os.replace(tmp, path)
    (Path(out_dir) / CARD).write_text(json.dumps(card, indent=2))
    return path


def load_state(out_dir: Path) -> dict[str, Any] | None:
    path = Path(out_dir) / CKPT
    return torch.load(path, map_location="cpu", weights_only=False) if path.is_file() else None


def load_trained(path: Path, device: str = "cpu"):
    """(model in eval mode, tokenizer, card) from a training output folder."""
    from pydantic import TypeAdapter

    from aidc.workloads.data.tokenizer import load_tokenizer
    from aidc.workloads.models.registry import ModelConfig, build_model

    path = Path(path)
    state = load_state(path)
    if state is None:
        raise AidcError(f"no {CKPT} in {path}: train a model there first (`aidc train CONFIG`)")
    card = state["card"]
    model = build_model(TypeAdapter(ModelConfig).validate_python(card["model"]))
    model.load_state_dict(state["model"])
    return model.to(device).eval(), load_tokenizer(path / card["tokenizer"]), card
