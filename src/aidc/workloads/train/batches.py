"""Batches from prepared shards, drawn from a generator seeded by (seed, rank, step, micro-step).

Seeding every micro-batch from its coordinates makes a resumed run draw exactly the batches the
uninterrupted run would have drawn, without saving any sampler state.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from aidc.workloads.data.shards import load_records
from aidc.workloads.models.seq2seq import PAD_ID


def batch_generator(seed: int, rank: int, step: int, micro: int) -> torch.Generator:
    return torch.Generator().manual_seed(((seed * 1_000_003 + rank) * 1_000_003 + step) * 1_009 + micro)


class LMBatches:
    """Random windows of `block_size + 1` tokens from the concatenated split."""

    def __init__(self, data_dir: Path, split: str, block_size: int) -> None:
        records = load_records(data_dir, split, "text")
        self.tokens = torch.from_numpy(np.concatenate(records).astype(np.int64)) if records else torch.zeros(0, dtype=torch.long)
        self.block_size = min(block_size, max(1, len(self.tokens) - 1))

    def sample(self, batch_size: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
        starts = torch.randint(0, len(self.tokens) - self.block_size, (batch_size,), generator=gen)
        return self._windows(starts)

    def _windows(self, starts: torch.Tensor) -> dict[str, torch.Tensor]:
        windows = self.tokens.unfold(0, self.block_size + 1, 1)[starts]  # (B, T + 1): one gather, no Python loop
        return {"idx": windows[:, :-1], "targets": windows[:, 1:]}

    def sequential(self, batch_size: int, n_batches: int) -> list[dict[str, torch.Tensor]]:
        """The first n_batches of non-overlapping windows, for a stable validation loss."""
        n_windows = (len(self.tokens) - 1) // self.block_size
        starts = torch.arange(n_windows) * self.block_size
        return [self._windows(starts[i:i + batch_size]) for i in range(0, min(n_windows, n_batches * batch_size), batch_size)]

    def n_tokens(self, batch: dict[str, torch.Tensor]) -> int:
        return batch["idx"].numel()


def pad(seqs: list[np.ndarray], max_len: int) -> torch.Tensor:
    """(B, L) long tensor, sequences truncated to max_len and right-padded with PAD_ID."""
    length = min(max_len, max(len(s) for s in seqs))
    out = torch.full((len(seqs), length), PAD_ID, dtype=torch.long)
    for i, s in enumerate(seqs):
        s = s[:length]
        out[i, :len(s)] = torch.from_numpy(s.astype(np.int64))
    return out


class PairBatches:
    """Random (source, target) pairs, padded per batch; the decoder reads tgt[:-1] and predicts tgt[1:].

    (Length-bucketed batches cut padding but, for a fixed number of steps, trained worse here:
    batches of only short or only long pairs give a biased gradient.)
    """

    def __init__(self, data_dir: Path, split: str, max_len: int) -> None:
        self.src = load_records(data_dir, split, "src")
        self.tgt = load_records(data_dir, split, "tgt")
        self.max_len = max_len

    def _batch(self, ids: list[int]) -> dict[str, torch.Tensor]:
        tgt = pad([self.tgt[i] for i in ids], self.max_len + 1)
        return {"src": pad([self.src[i] for i in ids], self.max_len), "tgt_in": tgt[:, :-1], "tgt_out": tgt[:, 1:]}

    def sample(self, batch_size: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
        return self._batch(torch.randint(0, len(self.src), (batch_size,), generator=gen).tolist())

    def sequential(self, batch_size: int, n_batches: int) -> list[dict[str, torch.Tensor]]:
        n = min(len(self.src), n_batches * batch_size)
        return [self._batch(list(range(i, min(n, i + batch_size)))) for i in range(0, n, batch_size)]

    def n_tokens(self, batch: dict[str, torch.Tensor]) -> int:
        return int((batch["src"] != PAD_ID).sum() + (batch["tgt_out"] != PAD_ID).sum())


def make_batches(task: str, data_dir: Path, split: str, model_cfg) -> LMBatches | PairBatches:
    if task == "lm":
        return LMBatches(data_dir, split, model_cfg.block_size)
    return PairBatches(data_dir, split, model_cfg.max_len)


def model_loss(model, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean cross-entropy of a batch, whichever the model kind."""
    if "idx" in batch:
        return model(batch["idx"], batch["targets"])[1]
    return model(batch["src"], batch["tgt_in"], batch["tgt_out"])[1]
