"""Training: schedule, loss goes down, exact resume, accumulation, loss PNG, located config errors, DDP."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from aidc.core.errors import SpecError
from aidc.workloads.train.config import TrainConfig, load_train_config
from aidc.workloads.train.loop import train
from aidc.workloads.train.schedule import lr_at
from tests.workloads.conftest import gpt_train_config, write_yaml


def _metrics(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_warmup_then_cosine() -> None:
    lrs = [lr_at(s, lr=1.0, warmup_steps=4, max_steps=20, min_lr_ratio=0.1) for s in range(20)]
    assert lrs[:4] == [0.25, 0.5, 0.75, 1.0]
    assert all(a >= b for a, b in zip(lrs[3:], lrs[4:]))
    assert lrs[-1] == pytest.approx(0.1)


def test_gpt_loss_goes_down_and_png_written(prose_data: Path, tmp_path: Path) -> None:
    cfg = TrainConfig.model_validate(gpt_train_config(prose_data, tmp_path / "run", optim={"lr": 0.01, "warmup_steps": 2, "max_steps": 30}))
    summary = train(cfg)
    m = _metrics(tmp_path / "run")
    assert len(m) == 30 and m[-1]["loss"] < m[0]["loss"] - 1.0
    assert summary["tokens_per_s"] > 0 and 0 < summary["mfu"] < 1
    assert (tmp_path / "run" / "loss.png").stat().st_size > 5_000
    assert (tmp_path / "run" / "ckpt.pt").is_file() and (tmp_path / "run" / "tokenizer.json").is_file()


def test_resume_reproduces_the_uninterrupted_loss_curve(prose_data: Path, tmp_path: Path) -> None:
    full = TrainConfig.model_validate(gpt_train_config(prose_data, tmp_path / "full"))
    train(full)
    parted = TrainConfig.model_validate(gpt_train_config(prose_data, tmp_path / "parted"))
    train(parted, stop_after=3)
    assert [m["step"] for m in _metrics(tmp_path / "parted")] == [1, 2, 3]
    train(parted)  # resumes from the step-3 checkpoint
    losses = lambda out: [(m["step"], m["loss"]) for m in _metrics(out)]  # noqa: E731
    assert losses(tmp_path / "parted") == losses(tmp_path / "full")


def test_accumulation_matches_a_bigger_batch_in_expectation(prose_data: Path, tmp_path: Path) -> None:
    cfg = TrainConfig.model_validate(gpt_train_config(prose_data, tmp_path / "acc", batch_size=2,
                                                      optim={"grad_accum": 2, "warmup_steps": 1, "max_steps": 2}))
    summary = train(cfg)
    assert summary["steps"] == 2 and summary["final_loss"] > 0


def test_seq2seq_trains(pairs_data: Path, tmp_path: Path) -> None:
    cfg = TrainConfig.model_validate({
        "data": str(pairs_data), "out_dir": str(tmp_path / "s2s"),
        "model": {"kind": "seq2seq", "vocab_size": 300, "max_len": 24, "n_encoder_layer": 1, "n_decoder_layer": 1,
                  "n_head": 2, "d_model": 32, "dropout": 0.0},
        "batch_size": 8, "log_every": 5, "eval_every": 10, "optim": {"lr": 0.01, "warmup_steps": 2, "max_steps": 20}})
    train(cfg)
    m = _metrics(tmp_path / "s2s")
    assert m[-1]["val_loss"] < m[0]["loss"] - 1.0


def test_wrong_model_for_the_data_is_a_located_error(pairs_data: Path, tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "t.yaml", gpt_train_config(pairs_data, tmp_path / "x"))
    with pytest.raises(SpecError) as err:
        load_train_config(path)
    issue = err.value.issues[0]
    assert issue.path == "model.kind" and issue.line == 4


def test_typo_is_a_located_error(prose_data: Path, tmp_path: Path) -> None:
    cfg = gpt_train_config(prose_data, tmp_path / "x")
    cfg["optim"]["learning_rate"] = 0.1
    with pytest.raises(SpecError) as err:
        load_train_config(write_yaml(tmp_path / "t.yaml", cfg))
    assert err.value.issues[0].path == "optim.learning_rate" and "unknown field" in err.value.issues[0].message
    assert err.value.issues[0].line is not None and err.value.issues[0].line > 1


@pytest.mark.slow
def test_ddp_two_processes_with_gloo_through_the_cli(prose_data: Path, tmp_path: Path) -> None:
    from tests.conftest import aidc_bin

    path = write_yaml(tmp_path / "ddp.yaml", gpt_train_config(prose_data, tmp_path / "ddp", device="cpu"))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1"}
    res = subprocess.run([aidc_bin(), "train", str(path), "--nproc", "2", "--no-resume"],
                         capture_output=True, text=True, env=env, timeout=240)
    assert res.returncode == 0, res.stderr[-3000:]
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert summary["processes"] == 2 and summary["steps"] == 8
    metrics = _metrics(tmp_path / "ddp")
    assert len(metrics) == 8 and metrics[-1]["tokens_per_s"] > 0


def test_bf16_autocast_path_runs_on_cpu(prose_data: Path, tmp_path: Path) -> None:
    cfg = TrainConfig.model_validate(gpt_train_config(prose_data, tmp_path / "bf16", precision="bf16",
                                                      optim={"warmup_steps": 1, "max_steps": 3}))
    summary = train(cfg)
    assert summary["steps"] == 3 and summary["final_loss"] == summary["final_loss"]  # not NaN
