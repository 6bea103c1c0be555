"""The training loop: AdamW, warmup + cosine, clipping, accumulation, bf16 autocast on GPU, DDP, resume.

Run as `aidc train CONFIG`, or under torchrun (`python -m torch.distributed.run --nproc_per_node 2
-m aidc.workloads.train CONFIG`): with WORLD_SIZE > 1 each process trains a replica through DDP
(gloo on CPU, NCCL on GPU) on its own batches; rank 0 writes logs and checkpoints.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import torch

from aidc.workloads.data.shards import load_manifest
from aidc.workloads.models.registry import build_model
from aidc.workloads.train import checkpoint as ckpt
from aidc.workloads.train.batches import batch_generator, make_batches, model_loss
from aidc.workloads.train.config import TrainConfig
from aidc.workloads.train.mfu import mfu, peak_tflops
from aidc.workloads.train.plot import plot_loss
from aidc.workloads.train.schedule import lr_at

METRICS = "metrics.jsonl"


def resolve_device(cfg: TrainConfig) -> str:
    if cfg.device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return cfg.device


def autocast(device: str, precision: str) -> contextlib.AbstractContextManager:
    if precision == "bf16" or (precision == "auto" and device == "cuda"):
        return torch.autocast(device_type=device, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.AdamW:
    """AdamW; weight decay on matrices and embeddings only (not on norms or biases)."""
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg.optim.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    # the fused kernel (one pass over all parameters, CPU and CUDA) is faster than the per-tensor loop
    return torch.optim.AdamW(groups, lr=cfg.optim.lr, betas=(cfg.optim.beta1, cfg.optim.beta2), fused=True)


def _dist() -> tuple[int, int]:
    """(rank, world size), initialising the process group under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not torch.distributed.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        torch.distributed.init_process_group(backend)
    return int(os.environ.get("RANK", "0")), world


def _card(cfg: TrainConfig, manifest: dict[str, Any]) -> dict[str, Any]:
    return {"task": manifest["task"], "model": cfg.model.model_dump(mode="json"), "tokenizer": "tokenizer.json",
            "data": str(cfg.data), "vocab_size": manifest["vocab_size"]}


def _restore(cfg: TrainConfig, model: torch.nn.Module, opt: torch.optim.Optimizer) -> tuple[int, list[dict[str, Any]]]:
    """Step to start from and the metrics logged up to it (later lines of an interrupted run are dropped)."""
    state = ckpt.load_state(cfg.out_dir)
    if state is None:
        return 0, []
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    torch.set_rng_state(state["rng"])
    path = Path(cfg.out_dir) / METRICS
    lines = path.read_text().splitlines() if path.is_file() else []
    return state["step"], [m for m in map(json.loads, lines) if m["step"] <= state["step"]]


@torch.no_grad()
def evaluate_loss(model: torch.nn.Module, batches: list[dict[str, torch.Tensor]], device: str, precision: str) -> float:
    """Token-weighted mean loss over fixed batches."""
    model.eval()
    total, weight = 0.0, 0
    for b in batches:
        b = {k: v.to(device) for k, v in b.items()}
        with autocast(device, precision):
            loss = model_loss(model, b)
        n = int((b.get("targets", b.get("tgt_out")) != (-100 if "targets" in b else 0)).sum())
        total, weight = total + loss.item() * n, weight + n
    model.train()
    return total / max(1, weight)


def _prepare_out(cfg: TrainConfig, manifest: dict[str, Any], rank: int, world: int, resume: bool) -> Path:
    """Create out_dir with the tokenizer; without resume, forget an earlier checkpoint and log."""
    out = Path(cfg.out_dir)
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        shutil.copy(Path(cfg.data) / manifest["tokenizer"], out / "tokenizer.json")
        if not resume:
            for name in (ckpt.CKPT, METRICS):
                (out / name).unlink(missing_ok=True)
    if world > 1:
        torch.distributed.barrier()
    return out


def _optimizer_step(net, model, opt, data, cfg: TrainConfig, step: int, rank: int, world: int, device: str
                    ) -> tuple[torch.Tensor, int]:
    """One optimizer step over `grad_accum` micro-batches; returns the mean loss and the tokens seen (all ranks)."""
    o, tokens = cfg.optim, 0
    lr = lr_at(step, lr=o.lr, warmup_steps=o.warmup_steps, max_steps=o.max_steps, min_lr_ratio=o.min_lr_ratio)
    for group in opt.param_groups:
        group["lr"] = lr
    loss_sum = torch.zeros((), device=device)
    for micro in range(o.grad_accum):
        batch = data.sample(cfg.batch_size, batch_generator(cfg.seed, rank, step, micro))
        tokens += data.n_tokens(batch) * world
        batch = {k: v.to(device) for k, v in batch.items()}
        sync = contextlib.nullcontext() if world == 1 or micro == o.grad_accum - 1 else net.no_sync()
        with sync:  # DDP all-reduces gradients only on the last micro-batch
            with autocast(device, cfg.precision):
                loss = model_loss(net, batch) / o.grad_accum
            loss.backward()
        loss_sum += loss.detach()
    if o.grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), o.grad_clip)
    opt.step()
    opt.zero_grad(set_to_none=True)
    if world > 1:
        torch.distributed.all_reduce(loss_sum, op=torch.distributed.ReduceOp.AVG)
    return loss_sum, tokens


def _print(console: Any, record: dict[str, Any]) -> None:
    if console is not None and ("tokens_per_s" in record or "val_loss" in record):
        console.print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in record.items()))


def train(cfg: TrainConfig, *, resume: bool = True, stop_after: int | None = None, console: Any = None) -> dict[str, Any]:
    """Train to `optim.max_steps` (or stop after step `stop_after`, checkpointed, to resume later)."""
    from aidc.workloads.progress import track

    rank, world = _dist()
    device = resolve_device(cfg)
    if device == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    manifest = load_manifest(cfg.data)
    out = _prepare_out(cfg, manifest, rank, world, resume)
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model).to(device)
    opt = make_optimizer(model, cfg)
    start, history = _restore(cfg, model, opt) if resume else (0, [])
    net = torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model
    data = make_batches(manifest["task"], cfg.data, "train", cfg.model)
    val_batches = make_batches(manifest["task"], cfg.data, "validation", cfg.model).sequential(cfg.batch_size, cfg.eval_batches)
    seq_len = getattr(cfg.model, "block_size", getattr(cfg.model, "max_len", 128))
    flops_tok, peak = model.flops_per_token(seq_len), cfg.peak_tflops or peak_tflops(device)
    card, end = _card(cfg, manifest), min(cfg.optim.max_steps, stop_after or cfg.optim.max_steps)
    log_path = out / METRICS
    if rank == 0:
        log_path.write_text("".join(json.dumps(m) + "\n" for m in history))
    tokens, t0 = 0, time.perf_counter()
    for step in track(range(start, end), "training", console if rank == 0 else None, total=end - start):
        loss, n = _optimizer_step(net, model, opt, data, cfg, step, rank, world, device)
        tokens += n
        record: dict[str, Any] = {"step": step + 1, "loss": round(loss.item(), 6), "lr": opt.param_groups[0]["lr"]}
        last = step + 1 == end
        if (step + 1) % cfg.log_every == 0 or last:  # throughput over the steps since the last log line
            dt = time.perf_counter() - t0
            record["tokens_per_s"] = round(tokens / dt, 1)
            record["mfu"] = round(mfu(flops_tok, tokens / dt / world, peak), 6)
            tokens, t0 = 0, time.perf_counter()
        if (step + 1) % cfg.eval_every == 0 or last:
            record["val_loss"] = round(evaluate_loss(model, val_batches, device, cfg.precision), 6)
        history.append(record)
        if rank == 0:
            with log_path.open("a") as fh:
                fh.write(json.dumps(record) + "\n")
            _print(console, record)
            if (step + 1) % cfg.checkpoint_every == 0 or last:
                ckpt.save_checkpoint(out, model=model, optimizer=opt, step=step + 1, card=card)
    if rank == 0 and history:
        plot_loss(history, out / "loss.png", title=f"{manifest['name']}: {cfg.model.kind}")
    if world > 1:
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
    return _summary(history, out, model, world)


def _summary(history: list[dict[str, Any]], out: Path, model: torch.nn.Module, world: int) -> dict[str, Any]:
    speeds = [m["tokens_per_s"] for m in history if "tokens_per_s" in m]
    vals = [m["val_loss"] for m in history if "val_loss" in m]
    return {"out_dir": str(out), "steps": history[-1]["step"] if history else 0,
            "final_loss": history[-1]["loss"] if history else None, "val_loss": vals[-1] if vals else None,
            "tokens_per_s": speeds[-1] if speeds else None,
            "mfu": next((m["mfu"] for m in reversed(history) if "mfu" in m), None),
            "params": sum(p.numel() for p in model.parameters()), "processes": world,
            "loss_png": str(out / "loss.png"), "checkpoint": str(out / ckpt.CKPT)}
