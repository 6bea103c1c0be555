"""Benchmark: KV-cache decoding against recomputing the prefix every step, 256 new tokens; prints JSON.

Same GPT, same prompts, greedy; `python benchmarks/generate_kv.py [--batch 4]`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from aidc.workloads.generate.decode import generate, gpt_stepper
from aidc.workloads.generate.sampling import SamplingParams
from aidc.workloads.models.gpt import GPT, GPTConfig


def timed(model: GPT, prompts: list[list[int]], new_tokens: int, use_cache: bool) -> tuple[float, list[list[int]]]:
    t0 = time.perf_counter()
    outs = generate(gpt_stepper(model), prompts, [SamplingParams(max_new_tokens=new_tokens)] * len(prompts),
                    pad_id=0, eos_ids=set(), use_cache=use_cache)
    return time.perf_counter() - t0, [o.tokens for o in outs]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--new-tokens", type=int, default=256)
    p.add_argument("--prompt-tokens", type=int, default=32)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = GPTConfig(vocab_size=8000, block_size=512, n_layer=4, n_head=4, d_model=256)
    model = GPT(cfg).eval()
    prompts = torch.randint(4, cfg.vocab_size, (args.batch, args.prompt_tokens)).tolist()
    cached, full = [], []
    for _ in range(args.runs):
        t, out_cached = timed(model, prompts, args.new_tokens, True)
        cached.append(t)
        t, out_full = timed(model, prompts, args.new_tokens, False)
        full.append(t)
    assert out_cached == out_full, "the cache changed the output"
    speedup = statistics.median(full) / statistics.median(cached)
    tokens = args.batch * args.new_tokens
    print(json.dumps({"benchmark": "generate_kv", "model": cfg.model_dump(), "batch": args.batch,
                      "prompt_tokens": args.prompt_tokens, "new_tokens": args.new_tokens, "runs": args.runs,
                      "kv_cache_s": round(statistics.median(cached), 3), "recompute_s": round(statistics.median(full), 3),
                      "kv_cache_tokens_per_s": round(tokens / statistics.median(cached), 1),
                      "recompute_tokens_per_s": round(tokens / statistics.median(full), 1),
                      "speedup": round(speedup, 2), "same_output": True, "target": ">= 5", "met": speedup >= 5}, indent=2))


if __name__ == "__main__":
    main()
