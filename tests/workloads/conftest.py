"""Fixtures for workload tests: one torch thread, tiny corpora written in the test's temp folder."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

WORDS_EN = "the cat dog house red blue green open close file folder save delete small big new old".split()
EN_FR = {"the": "le", "cat": "chat", "dog": "chien", "house": "maison", "red": "rouge", "blue": "bleu",
         "green": "vert", "open": "ouvrir", "close": "fermer", "file": "fichier", "folder": "dossier",
         "save": "enregistrer", "delete": "supprimer", "small": "petit", "big": "grand", "new": "nouveau",
         "old": "vieux"}


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)


def make_pairs(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """Distinct synthetic English-French pairs with a word-for-word mapping (learnable, dictionary-friendly)."""
    rng, seen, out = random.Random(seed), set(), []
    while len(out) < n:
        words = rng.choices(list(EN_FR), k=rng.randint(2, 5))
        src = " ".join(words)
        if src in seen:
            continue
        seen.add(src)
        out.append((src, " ".join(EN_FR[w] for w in words)))
    return out


def write_pairs_tsv(path: Path, n: int = 300, seed: int = 0) -> Path:
    path.write_text("".join(f"{s}\t{t}\n" for s, t in make_pairs(n, seed)), encoding="utf-8")
    return path


def write_prose(path: Path, n_docs: int = 60, seed: int = 0) -> Path:
    rng = random.Random(seed)
    vocab = WORDS_EN + ["".join(rng.choices("abcdefghijklmnoprstuvw", k=rng.randint(3, 8))) for _ in range(300)]
    docs = [" ".join(rng.choices(vocab, k=rng.randint(20, 60))) + "." for _ in range(n_docs)]
    path.write_text("\n\n".join(docs) + "\n", encoding="utf-8")
    return path


def write_yaml(path: Path, data: dict) -> Path:
    import yaml

    path.write_text(yaml.safe_dump(json.loads(json.dumps(data, default=str)), sort_keys=False))
    return path


def prepared_pairs(out: Path, n: int = 400) -> Path:
    """A prepared translation folder (tokenizer, shards, manifest) from synthetic pairs."""
    from aidc.workloads.data.config import DataConfig
    from aidc.workloads.data.pipeline import prepare

    out.mkdir(parents=True, exist_ok=True)
    tsv = write_pairs_tsv(out / "pairs.tsv", n)
    prepare(DataConfig.model_validate({
        "name": "pairs", "task": "translation", "output_dir": out / "data", "sources": [{"kind": "pairs", "path": tsv}],
        "clean": {"source_language": None}, "dedup": {"near": False},
        "tokenizer": {"vocab_size": 300, "min_frequency": 1}, "split": {"validation": 0.1, "test": 0.1}}))
    return out / "data"


def prepared_prose(out: Path) -> Path:
    from aidc.workloads.data.config import DataConfig
    from aidc.workloads.data.pipeline import prepare

    out.mkdir(parents=True, exist_ok=True)
    prose = write_prose(out / "prose.txt", 80)
    prepare(DataConfig.model_validate({
        "name": "prose", "task": "lm", "output_dir": out / "data", "sources": [{"kind": "text", "path": prose}],
        "clean": {"source_language": None}, "tokenizer": {"vocab_size": 300, "min_frequency": 1},
        "split": {"validation": 0.1, "test": 0.1}}))
    return out / "data"


def gpt_train_config(data: Path, out: Path, **over) -> dict:
    cfg = {"data": str(data), "out_dir": str(out),
           "model": {"kind": "gpt", "vocab_size": 300, "block_size": 32, "n_layer": 2, "n_head": 2, "d_model": 32},
           "batch_size": 4, "log_every": 2, "eval_every": 4, "eval_batches": 2, "checkpoint_every": 100,
           "optim": {"lr": 0.01, "warmup_steps": 2, "max_steps": 8}}
    cfg.update(over)
    return cfg


@pytest.fixture(scope="session")
def prose_data(tmp_path_factory) -> Path:
    return prepared_prose(tmp_path_factory.mktemp("prose"))


@pytest.fixture(scope="session")
def pairs_data(tmp_path_factory) -> Path:
    return prepared_pairs(tmp_path_factory.mktemp("pairs"))
