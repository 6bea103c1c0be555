"""Batched translation with our encoder-decoder: encode once, decode with the self-attention KV cache."""

from __future__ import annotations

import torch

from aidc.workloads.data.tokenizer import BOS_ID, EOS_ID
from aidc.workloads.generate.sampling import SamplingParams, sample_next
from aidc.workloads.models.seq2seq import PAD_ID


@torch.no_grad()
def generate_seq2seq(model, sources: list[list[int]], params: SamplingParams = SamplingParams(), *,
                     seed: int | None = None) -> list[list[int]]:
    """Target ids (without BOS/EOS) for each source (ids ending in EOS)."""
    device = next(model.parameters()).device
    width = min(model.config.max_len, max(len(s) for s in sources))
    src = torch.full((len(sources), width), PAD_ID, dtype=torch.long)
    for i, s in enumerate(sources):
        s = s[:width]
        src[i, :len(s)] = torch.tensor(s)
    src = src.to(device)
    memory = model.encode(src)  # (B, S, C)
    gen = torch.Generator(device=device).manual_seed(seed) if seed is not None else None
    tokens = torch.full((len(sources), 1), BOS_ID, dtype=torch.long, device=device)
    logits, past = model.decode(tokens, memory, src)
    outs: list[list[int]] = [[] for _ in sources]
    done = [False] * len(sources)
    for _ in range(min(params.max_new_tokens, model.config.max_len - 1)):
        nxt = sample_next(logits[:, -1], [params] * len(sources), gen)
        for row, tok in enumerate(nxt.tolist()):
            if not done[row]:
                done[row] = tok == EOS_ID
                if not done[row]:
                    outs[row].append(tok)
        if all(done):
            break
        logits, past = model.decode(nxt[:, None], memory, src, past)
    return outs


def translate(model, tokenizer, texts: list[str], *, batch_size: int = 64, max_new_tokens: int = 64,
              console=None) -> list[str]:
    """Greedy translations of plain texts with a trained Seq2Seq and its tokenizer (a progress bar on `console`)."""
    from aidc.workloads.progress import track

    out: list[str] = []
    params = SamplingParams(max_new_tokens=max_new_tokens)
    starts = range(0, len(texts), batch_size)
    for i in track(starts, "translating", console, total=len(starts)):
        ids = [e.ids + [EOS_ID] for e in tokenizer.encode_batch(texts[i:i + batch_size])]
        out.extend(tokenizer.decode(t) for t in generate_seq2seq(model, ids, params))
    return out
