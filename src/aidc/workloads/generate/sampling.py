"""Choosing the next token: greedy, temperature, top-k and top-p (nucleus), with per-row parameters."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class SamplingParams:
    max_new_tokens: int = 64
    temperature: float = 0.0  # 0 = greedy (argmax)
    top_k: int = 0  # keep the k most likely tokens; 0 = all
    top_p: float = 1.0  # keep the smallest set whose probability reaches p; 1 = all
    seed: int | None = None  # this row samples from its own generator (same seed, same prompt: same text)
    logprobs: int | None = None  # report each chosen token's log-probability and the k most likely (None: off)
    ignore_eos: bool = False  # generate max_new_tokens whatever the model says (benchmarks fix output length so)


def filter_logits(logits: torch.Tensor, top_k: torch.Tensor, top_p: torch.Tensor) -> torch.Tensor:
    """logits (B, V) with tokens outside each row's top-k / top-p set at -inf; top_k (B,) long, top_p (B,)."""
    sorted_logits, order = logits.sort(dim=-1, descending=True)  # (B, V)
    ranks = torch.arange(logits.shape[-1], device=logits.device)[None]  # (1, V)
    drop = (top_k[:, None] > 0) & (ranks >= top_k[:, None])
    probs = sorted_logits.softmax(dim=-1)
    mass_before = probs.cumsum(dim=-1) - probs  # the most likely token is always kept
    drop |= mass_before >= top_p[:, None]
    sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
    return torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)


def sample_next(logits: torch.Tensor, params: list[SamplingParams], generator: torch.Generator | None = None,
                row_generators: list[torch.Generator | None] | None = None) -> torch.Tensor:
    """Next token per row (B,) from logits (B, V); rows with temperature 0 take the argmax; a row with
    its own generator (`row_generators`, from its seed) samples from it, the others from `generator`."""
    logits = logits.float()
    greedy = logits.argmax(dim=-1)
    temps = torch.tensor([p.temperature for p in params], device=logits.device)
    if bool((temps == 0).all()):
        return greedy
    top_k = torch.tensor([p.top_k for p in params], device=logits.device)
    top_p = torch.tensor([p.top_p for p in params], device=logits.device)
    scaled = filter_logits(logits / temps.clamp(min=1e-5)[:, None], top_k, top_p)
    probs = scaled.softmax(dim=-1)
    sampled = torch.multinomial(probs, 1, generator=generator).squeeze(-1)
    for row, own in enumerate(row_generators or ()):
        if own is not None:
            sampled[row] = torch.multinomial(probs[row], 1, generator=own)[0]
    return torch.where(temps == 0, greedy, sampled)
