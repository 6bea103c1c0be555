"""The planner checked on runs nobody published: aidc's own GPT trained on this machine's CPU; prints JSON.

    python benchmarks/planner_on_cpu.py            # two model sizes, 5 timed steps each (about 2 minutes)

This machine becomes a device of the catalog from two probes (the way a datasheet gives a GPU's peak):
a large fp32 GEMM on one thread (its FLOP/s are the device's `fp32_tflops`) and a large tensor copy
(its bytes/s are `memory_bw_gbs`). The planner (`aidc.planning.training.iteration_time`, eager
PyTorch: no fused kernels, no FlashAttention, fp32, one device) then predicts the time of one
AdamW step of the workloads' GPT, which is measured (median of 5 steps after 2 warm-up steps,
`torch.set_num_threads(1)`). The planner's own constants are left as they are (GEMM efficiency 0.70
of the peak, memory 0.8 of the bandwidth, ...): the error printed is what it gets wrong on a device
and model sizes it was never fitted on. A second figure takes the probe as the sustained GEMM rate
(efficiency 0.98), since a probe, unlike a datasheet, already is what large GEMMs reach.
"""

from __future__ import annotations

import json
import statistics
import time

SIZES = ({"n_layer": 4, "d_model": 256, "n_head": 4}, {"n_layer": 6, "d_model": 384, "n_head": 6})
BATCH, SEQ, VOCAB = 8, 256, 8000
STEPS, WARMUP = 5, 2


def _best_s(fn, repeats: int = 5) -> float:  # noqa: ANN001
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def probe_device() -> dict:
    """This CPU's sustained fp32 GEMM rate (one thread) and copy bandwidth."""
    import torch

    n = 1536
    a, b = torch.randn(n, n), torch.randn(n, n)
    gemm_flops = 2 * n**3 / _best_s(lambda: torch.mm(a, b))
    big = torch.empty(64 * 2**20 // 4)  # 64 MiB, past the caches
    out = torch.empty_like(big)
    copy_bytes_s = 2 * big.numel() * 4 / _best_s(lambda: out.copy_(big))  # read + write
    return {"fp32_tflops": gemm_flops / 1e12, "memory_bw_gbs": copy_bytes_s / 1e9}


def predicted_step_s(size: dict, device: dict, sustained_peak: bool = False) -> float:
    """The planner's step time; `sustained_peak`: the probe is taken as the GEMM rate itself (efficiency
    0.98 instead of the 0.70 a datasheet peak gets), the one constant a CPU device would need."""
    import dataclasses

    from aidc.core.gpus import GpuModel
    from aidc.planning.config import Hardware, ParallelConfig
    from aidc.planning.models import ModelArch
    from aidc.planning.params import DEFAULT_PARAMS, GEMM_EFF_DEFAULT
    from aidc.planning.training import Job, iteration_time

    cpu = GpuModel(name="this-CPU", vendor="other", memory_gb=24, memory_bw_gbs=device["memory_bw_gbs"],
                   fp32_tflops=device["fp32_tflops"], tdp_w=100, notes="measured by benchmarks/planner_on_cpu.py")
    arch = ModelArch(name="aidc-gpt", n_layers=size["n_layer"], d_model=size["d_model"], n_heads=size["n_head"],
                     ffn_dim=4 * size["d_model"], mlp_type="2-matrix", vocab=VOCAB, seq_len=SEQ, tied_embeddings=True)
    job = Job(arch=arch, hw=Hardware(gpu=cpu, gpus_per_node=1, scaleup_domain_gpus=1), global_batch_seqs=BATCH,
              precision="fp32", flash_attention=False, fused_kernels=False, overlap_grad_reduce=False, overlap_tp_comm=False)
    params = dataclasses.replace(DEFAULT_PARAMS, gemm_scale=1 / GEMM_EFF_DEFAULT) if sustained_peak else DEFAULT_PARAMS
    return iteration_time(job, ParallelConfig(micro_batch=BATCH, zero_stage=0), params).iter_time_s


def measured_step_s(size: dict) -> float:
    import torch

    from aidc.workloads.models.gpt import GPT, GPTConfig

    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=VOCAB, block_size=SEQ, **size))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x = torch.randint(0, VOCAB, (BATCH, SEQ))
    y = torch.randint(0, VOCAB, (BATCH, SEQ))
    times = []
    for step in range(WARMUP + STEPS):
        t0 = time.perf_counter()
        _, loss, _ = model(x, y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if step >= WARMUP:
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    import torch

    torch.set_num_threads(1)
    device = probe_device()
    rows = []
    for size in SIZES:
        pred, meas = predicted_step_s(size, device), measured_step_s(size)
        sustained = predicted_step_s(size, device, sustained_peak=True)
        rows.append({**size, "batch": BATCH, "seq": SEQ, "predicted_step_s": round(pred, 4), "measured_step_s": round(meas, 4),
                     "error_pct": round(100 * (pred - meas) / meas, 1),
                     "predicted_step_s_probe_as_sustained": round(sustained, 4),
                     "error_pct_probe_as_sustained": round(100 * (sustained - meas) / meas, 1),
                     "measured_tokens_per_s": round(BATCH * SEQ / meas), "predicted_tokens_per_s": round(BATCH * SEQ / pred)})
    errors = [abs(r["error_pct"]) for r in rows]
    sustained = [abs(r["error_pct_probe_as_sustained"]) for r in rows]
    print(json.dumps({"device": {k: round(v, 4) for k, v in device.items()}, "runs": rows,
                      "mape_pct": round(sum(errors) / len(errors), 1),
                      "mape_pct_probe_as_sustained": round(sum(sustained) / len(sustained), 1)}, indent=2))


if __name__ == "__main__":
    main()
