"""The workload commands through the installed `aidc` entry point: data, train, eval, generate, sweep, errors."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, aidc_bin
from tests.workloads.conftest import gpt_train_config, write_pairs_tsv, write_yaml


def run(*args: str, cwd: Path = REPO, timeout: int = 240) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([aidc_bin(), *args], capture_output=True, text=True, cwd=cwd, timeout=timeout, env=env)


def _data_config(tmp: Path, **over) -> Path:
    tsv = write_pairs_tsv(tmp / "pairs.tsv", 300)
    cfg = {"name": "cli", "task": "translation", "output_dir": str(tmp / "data"),
           "sources": [{"kind": "pairs", "path": str(tsv)}], "clean": {"source_language": None},
           "tokenizer": {"vocab_size": 300, "min_frequency": 1}, "split": {"validation": 0.1, "test": 0.1}}
    cfg.update(over)
    return write_yaml(tmp / "data.yaml", cfg)


def test_help_lists_the_workload_commands() -> None:
    res = run("--help")
    assert res.returncode == 0
    for cmd in ("data", "train", "eval", "sweep", "generate", "serve"):
        assert cmd in res.stdout


def test_data_prepare_json_and_verify(tmp_path: Path) -> None:
    res = run("data", "prepare", str(_data_config(tmp_path)), "--json")
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["read"] == 300 and report["kept"] + sum(report["dropped"].values()) == 300 and report["kept"] > 250
    assert set(report["splits"]) == {"train", "validation", "test"}
    ok = run("data", "verify", str(tmp_path / "data"), "--json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["ok"] is True


def test_data_config_typo_is_a_located_error(tmp_path: Path) -> None:
    path = _data_config(tmp_path, tokeniser={"vocab_size": 300})
    res = run("data", "prepare", str(path))
    assert res.returncode == 2
    assert f"{path}:" in res.stderr and "tokeniser" in res.stderr and "Traceback" not in res.stderr


def test_data_config_bad_value_is_a_located_error(tmp_path: Path) -> None:
    path = _data_config(tmp_path, split={"validation": 0.6, "test": 0.5})
    res = run("data", "prepare", str(path))
    assert res.returncode == 2 and "split" in res.stderr and "leaves nothing" in res.stderr


def test_train_on_missing_data_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "t.yaml", gpt_train_config(tmp_path / "nowhere", tmp_path / "out"))
    res = run("train", str(path))
    assert res.returncode == 2 and "manifest.json" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.slow
def test_prepare_train_eval_generate_sweep(tmp_path: Path) -> None:
    assert run("data", "prepare", str(_data_config(tmp_path)), "--json").returncode == 0
    train_cfg = {"data": str(tmp_path / "data"), "out_dir": str(tmp_path / "s2s"),
                 "model": {"kind": "seq2seq", "vocab_size": 300, "max_len": 24, "n_encoder_layer": 1,
                           "n_decoder_layer": 1, "n_head": 2, "d_model": 32, "dropout": 0.0},
                 "batch_size": 16, "log_every": 10, "eval_every": 20, "optim": {"lr": 0.01, "warmup_steps": 5, "max_steps": 40}}
    path = write_yaml(tmp_path / "train.yaml", train_cfg)
    res = run("train", str(path), "--json")
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["steps"] == 40 and Path(summary["loss_png"]).is_file()
    ev = run("eval", str(tmp_path / "s2s"), "--json")
    assert ev.returncode == 0, ev.stderr
    result = json.loads(ev.stdout)
    assert result["perplexity"] > 1 and {"copy", "dictionary"} <= set(result["baselines"])
    assert 0 <= result["model"]["bleu"] <= 100
    gen = run("generate", str(tmp_path / "s2s"), "the cat", "open the file", "--json")
    assert gen.returncode == 0, gen.stderr
    assert [g["prompt"] for g in json.loads(gen.stdout)] == ["the cat", "open the file"]
    sweep = write_yaml(tmp_path / "sweep.yaml", {"base": str(path), "out_dir": str(tmp_path / "sweep"),
                                                 "params": {"optim.lr": [0.01, 0.0001], "optim.max_steps": [10]}})
    res = run("sweep", str(sweep), "--json")
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert len(report["trials"]) == 2 and report["best"]["params"]["optim.lr"] == 0.01


def test_sweep_with_a_bad_field_path_is_located(tmp_path: Path) -> None:
    base = write_yaml(tmp_path / "train.yaml", gpt_train_config(tmp_path / "d", tmp_path / "o"))
    sweep = write_yaml(tmp_path / "sweep.yaml", {"base": str(base), "out_dir": str(tmp_path / "sw"),
                                                 "params": {"optim.learning_rate": [0.1]}})
    res = run("sweep", str(sweep))
    assert res.returncode == 2 and "learning_rate" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.slow
def test_generate_with_a_local_t5_folder(tmp_path: Path) -> None:
    import torch
    from transformers import PreTrainedTokenizerFast, T5Config, T5ForConditionalGeneration

    from aidc.workloads.data.tokenizer import train_bpe
    from tests.workloads.conftest import make_pairs

    torch.manual_seed(0)
    T5ForConditionalGeneration(T5Config(vocab_size=300, d_model=16, d_kv=8, d_ff=32, num_layers=1, num_heads=2,
                                        decoder_start_token_id=0, pad_token_id=0, eos_token_id=2)).save_pretrained(tmp_path / "t5")
    bpe = train_bpe([s + " " + t for s, t in make_pairs(200)], vocab_size=300, min_frequency=1)
    PreTrainedTokenizerFast(tokenizer_object=bpe, pad_token="<pad>", eos_token="<eos>").save_pretrained(tmp_path / "t5")
    res = run("generate", str(tmp_path / "t5"), "the cat", "--max-tokens", "4", "--json")
    assert res.returncode == 0, res.stderr[-2000:]
    assert [r["prompt"] for r in json.loads(res.stdout)] == ["the cat"]
