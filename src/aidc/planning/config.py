"""One concrete way to run a training job: the parallel layout and memory-saving choices, plus the hardware it runs on."""

from __future__ import annotations

from dataclasses import dataclass, asdict

from aidc.core.gpus import GpuModel
from aidc.planning.flops import Recompute


@dataclass(frozen=True)
class ParallelConfig:
    """A fully decided layout. tp·pp·cp·dp = GPUs; micro-batches per step = global_batch / (dp·micro_batch)."""

    tp: int = 1
    pp: int = 1
    dp: int = 1
    cp: int = 1
    micro_batch: int = 1
    virtual_pipeline: int = 1  # interleaved 1F1B chunks per pipeline rank
    zero_stage: int = 1  # 0 none, 1 optimizer (Megatron distributed optimizer), 2 +grads, 3 +weights (FSDP)
    recompute: Recompute = "none"
    recompute_fraction: float = 1.0  # full recompute of this share of each stage's layers (Megatron block method)
    sequence_parallel: bool = False

    @property
    def n_gpus(self) -> int:
        return self.tp * self.pp * self.dp * self.cp

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    def short(self) -> str:
        sp = "+sp" if self.sequence_parallel else ""
        v = f" v{self.virtual_pipeline}" if self.virtual_pipeline > 1 else ""
        frac = f"({self.recompute_fraction:.0%} of layers)" if self.recompute == "full" and self.recompute_fraction < 1 else ""
        return (f"tp{self.tp}{sp} pp{self.pp}{v} cp{self.cp} dp{self.dp} mb{self.micro_batch} "
                f"zero{self.zero_stage} recompute={self.recompute}{frac}")


@dataclass(frozen=True)
class Hardware:
    """The GPU and how GPUs are wired: scale-up domain (NVLink) and scale-out NIC per GPU."""

    gpu: GpuModel
    gpus_per_node: int = 8
    scaleup_domain_gpus: int = 8
    nic_gbps: float = 400.0  # per GPU, Gbit/s

    @property
    def nic_gbs(self) -> float:
        """Scale-out bandwidth per GPU per direction, GB/s."""
        return self.nic_gbps / 8.0

    @property
    def scaleup_gbs(self) -> float:
        """Scale-up bandwidth per GPU per direction, GB/s (the catalog gives bidirectional)."""
        if self.gpu.scaleup_bw_gbs is None:
            return self.gpu.pcie_bw_gbs / 2.0
        return self.gpu.scaleup_bw_gbs / 2.0

    @property
    def memory_gib(self) -> float:
        """HBM is sized in binary units: an '80 GB' part shows ~80 GiB (81,559 MiB on H100)."""
        return float(self.gpu.memory_gb)
