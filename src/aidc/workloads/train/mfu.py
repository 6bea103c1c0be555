"""Model FLOPs utilisation: achieved training FLOP/s over the device's peak (an estimate, as in nanoGPT)."""

from __future__ import annotations

from pathlib import Path

# dense bf16 peak TFLOP/s by GPU name fragment
GPU_PEAK_TFLOPS = {"H200": 989.0, "H100": 989.0, "B200": 2250.0, "A100": 312.0, "L40S": 362.0, "L4": 121.0, "A10": 125.0}


def cpu_peak_tflops_per_thread() -> float:
    """fp32 peak of one core at ~3 GHz with two FMA units: 16 lanes x 2 x 2 x 3e9 with AVX-512, half with AVX2."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return 0.1
    return 0.19 if "avx512f" in flags else 0.1


def peak_tflops(device: str) -> float:
    import torch

    if device == "cuda":
        name = torch.cuda.get_device_name()
        return next((v for k, v in GPU_PEAK_TFLOPS.items() if k in name), 312.0)
    return cpu_peak_tflops_per_thread() * torch.get_num_threads()


def mfu(flops_per_token: float, tokens_per_s: float, peak: float) -> float:
    return flops_per_token * tokens_per_s / (peak * 1e12)
