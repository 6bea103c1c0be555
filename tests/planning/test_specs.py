"""Spec YAMLs: typos and unknown names are located errors (file:line: field: message), examples load."""

from __future__ import annotations

from pathlib import Path

import pytest

from aidc.core.errors import SpecError
from aidc.planning.specs import load_serve_spec, load_site_spec, load_train_spec, resolve_model

REPO = Path(__file__).resolve().parents[2]


def test_typo_is_located(fixtures: Path) -> None:
    with pytest.raises(SpecError) as err:
        load_train_spec(fixtures / "train-typo.yaml")
    text = str(err.value)
    assert "train-typo.yaml:7: parallelism.pipline: unknown field 'pipline'" in text


def test_unknown_model_suggests(fixtures: Path) -> None:
    with pytest.raises(SpecError) as err:
        load_train_spec(fixtures / "train-bad-model.yaml")
    assert "train-bad-model.yaml:1: model" in str(err.value) and "llama-9-70b" in str(err.value)


def test_batch_is_required(tmp_path: Path) -> None:
    p = tmp_path / "t.yaml"
    p.write_text("model: llama-3-8b\nn_gpus: 8\n")
    with pytest.raises(SpecError, match="global_batch_tokens or global_batch_seqs"):
        load_train_spec(p)


def test_custom_architecture_inline(tmp_path: Path) -> None:
    p = tmp_path / "t.yaml"
    p.write_text("model: {name: mine, n_layers: 4, d_model: 256, n_heads: 4, vocab: 1000, seq_len: 128}\n"
                 "global_batch_seqs: 8\nn_gpus: 2\n")
    arch = resolve_model(load_train_spec(p).model)
    assert arch.name == "mine" and arch.ffn == 1024


@pytest.mark.parametrize("name", sorted(p.name for p in (REPO / "examples" / "planning").glob("*.yaml")))
def test_examples_load(name: str) -> None:
    path = REPO / "examples" / "planning" / name
    loader = load_train_spec if name.startswith("train") else load_serve_spec if name.startswith("serve") else load_site_spec
    loader(path)
