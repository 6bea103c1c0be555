"""Benchmark: `aidc train` tokens/s against a minimal single-file PyTorch GPT loop, same config and data; prints JSON.

The peer is written here in the nanoGPT style (one model class, AdamW, random windows of a token
array); both train the same shapes on the same prepared shards for the same steps, alternating,
and each reports tokens per second over its whole loop. Run: `python benchmarks/train_throughput.py`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the tests' corpus helpers


class PeerBlock(nn.Module):
    def __init__(self, d: int, nh: int) -> None:
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d, bias=False), nn.LayerNorm(d, bias=False)
        self.qkv, self.proj, self.nh = nn.Linear(d, 3 * d, bias=False), nn.Linear(d, d, bias=False), nh
        self.fc, self.out = nn.Linear(d, 4 * d, bias=False), nn.Linear(4 * d, d, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.nh, C // self.nh).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(B, T, C)
        x = x + self.proj(y)
        return x + self.out(F.gelu(self.fc(self.ln2(x))))


class PeerGPT(nn.Module):
    def __init__(self, vocab: int, block: int, n_layer: int, nh: int, d: int) -> None:
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(block, d)
        self.blocks = nn.Sequential(*(PeerBlock(d, nh) for _ in range(n_layer)))
        self.ln, self.head = nn.LayerNorm(d, bias=False), nn.Linear(d, vocab, bias=False)
        self.head.weight = self.wte.weight

    def forward(self, idx: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        logits = self.head(self.ln(self.blocks(x)))
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def peer_tokens_per_s(tokens: np.ndarray, args: argparse.Namespace) -> float:
    torch.manual_seed(0)
    model = PeerGPT(args.vocab, args.block, args.layers, args.heads, args.d_model)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1)
    data = torch.from_numpy(tokens.astype(np.int64))
    t0 = time.perf_counter()
    for _ in range(args.steps):
        ix = torch.randint(0, len(data) - args.block - 1, (args.batch,))
        x = torch.stack([data[i:i + args.block] for i in ix])
        y = torch.stack([data[i + 1:i + 1 + args.block] for i in ix])
        loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
    return args.steps * args.batch * args.block / (time.perf_counter() - t0)


def aidc_tokens_per_s(data_dir: Path, out: Path, args: argparse.Namespace) -> float:
    from aidc.workloads.train.config import TrainConfig
    from aidc.workloads.train.loop import train

    cfg = TrainConfig.model_validate({
        "data": str(data_dir), "out_dir": str(out), "batch_size": args.batch,
        "model": {"kind": "gpt", "vocab_size": args.vocab, "block_size": args.block, "n_layer": args.layers,
                  "n_head": args.heads, "d_model": args.d_model},
        "log_every": args.steps, "eval_every": args.steps, "eval_batches": 1, "checkpoint_every": args.steps,
        "optim": {"lr": 1e-3, "warmup_steps": 1, "max_steps": args.steps}})
    return train(cfg, resume=False)["tokens_per_s"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--block", type=int, default=128)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--d-model", type=int, default=256)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    from aidc.workloads.data.shards import load_records
    from tests.workloads.conftest import prepared_prose

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = prepared_prose(Path(tmp) / "prose")
        tokens = np.concatenate(load_records(data_dir, "train", "text"))
        args.vocab = int(json.loads((data_dir / "manifest.json").read_text())["vocab_size"])
        ours, peer = [], []
        for run in range(args.runs):  # back to back, order alternating, so each pair sees the same machine load
            if run % 2:
                peer.append(peer_tokens_per_s(tokens, args))
            ours.append(aidc_tokens_per_s(data_dir, Path(tmp) / f"run{run}", args))
            if not run % 2:
                peer.append(peer_tokens_per_s(tokens, args))
    result = {"benchmark": "train_throughput", "config": {k: v for k, v in vars(args).items() if k != "runs"},
              "runs": args.runs, "aidc_tokens_per_s": round(statistics.median(ours), 1),
              "peer_tokens_per_s": round(statistics.median(peer), 1), "aidc_all": ours, "peer_all": [round(x, 1) for x in peer]}
    # the median of per-pair ratios: robust to load that changes between pairs (a shared machine)
    result["ratio"] = round(statistics.median(a / b for a, b in zip(ours, peer)), 3)
    result["target"] = ">= 1.0"
    result["met"] = result["ratio"] >= 1.0
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
