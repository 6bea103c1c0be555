"""Batched autoregressive decoding for causal LMs (ours or Hugging Face) with or without a KV cache.

Prompts are left-padded to one length; an attention mask hides the padding and position ids count
real tokens only, so a padded row computes what it would alone. With the cache each step feeds one
token per row; without it (the baseline) every step recomputes the whole prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol

import torch

from aidc.workloads.generate.sampling import SamplingParams, sample_next


class Stepper(Protocol):
    def __call__(self, ids: torch.Tensor, mask: torch.Tensor, pos: torch.Tensor, past: Any
                 ) -> tuple[torch.Tensor, Any]:
        """ids (B, T), mask (B, S) over all keys so far, pos (B, T) -> logits (B, T, V), new cache."""


def gpt_stepper(model) -> Stepper:
    def step(ids, mask, pos, past):
        logits, _, presents = model(ids, attention_mask=mask, position_ids=pos, past=past)
        return logits, presents
    return step


def hf_stepper(model) -> Stepper:
    """A Hugging Face causal LM as a stepper; transformers >= 5.2x names the cache `cache`, older ones `past_key_values`."""
    import inspect

    new_api = "cache" in inspect.signature(model.forward).parameters

    def step(ids, mask, pos, past):
        cache_arg = {"cache": past} if new_api else {"past_key_values": past}
        out = model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=True, logits_to_keep=1, **cache_arg)
        return out.logits, (out.cache if new_api else out.past_key_values)
    return step


@dataclass
class Generation:
    tokens: list[int]
    finish_reason: str  # "stop" (end-of-sequence) or "length"
    # per token: (its log-probability, [(token, log-probability)] of the k most likely), when asked for
    logprobs: list[tuple[float, list[tuple[int, float]]]] | None = None


def left_pad(prompts: list[list[int]], pad_id: int, device: str | torch.device = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for i, p in enumerate(prompts):
        ids[i, width - len(p):] = torch.tensor(p, dtype=torch.long)
        mask[i, width - len(p):] = 1
    return ids.to(device), mask.to(device)


@torch.no_grad()
def generate(step: Stepper, prompts: list[list[int]], params: list[SamplingParams], *, pad_id: int,
             eos_ids: set[int], use_cache: bool = True, seed: int | None = None, device: str = "cpu",
             on_token: Callable[[int, int], None] | None = None) -> list[Generation]:
    """New tokens for every prompt; `on_token(row, token)` is called as each token is chosen (streaming)."""
    gen = torch.Generator(device=device).manual_seed(seed) if seed is not None else None
    own = [torch.Generator(device=device).manual_seed(p.seed % 2**63) if p.seed is not None else None for p in params]
    ids, mask = left_pad(prompts, pad_id, device)
    pos = (mask.cumsum(-1) - 1).clamp(min=0)
    logits, past = step(ids, mask, pos, None)
    outs: list[list[int]] = [[] for _ in prompts]
    done = [False] * len(prompts)
    reasons = ["length"] * len(prompts)
    want = [p.logprobs for p in params]
    lps: list[list] = [[] for _ in prompts]
    for _ in range(max(p.max_new_tokens for p in params)):
        nxt = sample_next(logits[:, -1], params, gen, own)  # (B,)
        logp = logits[:, -1].float().log_softmax(-1) if any(k is not None for k in want) else None  # (B, V)
        for row, token in enumerate(nxt.tolist()):
            if done[row]:
                continue
            if token in eos_ids and not params[row].ignore_eos:
                done[row], reasons[row] = True, "stop"
                continue
            outs[row].append(token)
            if logp is not None and want[row] is not None:
                top = logp[row].topk(want[row]) if want[row] > 0 else None
                alts = list(zip(top.indices.tolist(), top.values.tolist())) if top is not None else []
                lps[row].append((float(logp[row, token]), alts))
            if on_token is not None:
                on_token(row, token)
            done[row] = len(outs[row]) >= params[row].max_new_tokens
        if all(done):
            break
        nxt = torch.where(torch.tensor(done, device=device), torch.full_like(nxt, pad_id), nxt)
        mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
        pos_next = pos[:, -1:] + 1
        if use_cache:
            logits, past = step(nxt[:, None], mask, pos_next, past)
            pos = pos_next
        else:
            ids, pos = torch.cat([ids, nxt[:, None]], dim=1), torch.cat([pos, pos_next], dim=1)
            logits, _ = step(ids, mask, pos, None)
    return [Generation(o, r, lp if k is not None else None) for o, r, lp, k in zip(outs, reasons, lps, want)]
