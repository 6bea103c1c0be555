"""The iteration-time model behaves physically: more GPUs are faster, bubbles shrink with interleaving, recompute costs."""

from __future__ import annotations

from dataclasses import replace

import pytest

from aidc.core.gpus import get_gpu
from aidc.planning.config import Hardware, ParallelConfig
from aidc.planning.models import get_preset
from aidc.planning.params import DEFAULT_PARAMS, Efficiency, Params, Reliability
from aidc.planning.training import Job, iteration_time, layer_time

H100 = Hardware(gpu=get_gpu("H100-SXM"), nic_gbps=400)


def job(model: str = "llama-3-8b", batch: int = 256, **kw: object) -> Job:
    return Job(arch=get_preset(model), hw=H100, global_batch_seqs=batch, **kw)  # type: ignore[arg-type]


def test_parts_add_up_to_the_iteration() -> None:
    t = iteration_time(job(), ParallelConfig(tp=2, pp=2, dp=4, micro_batch=1, sequence_parallel=True))
    parts = t.compute_s + t.tp_comm_s + t.pp_bubble_s + t.pp_p2p_s + t.dp_exposed_s + t.optimizer_s
    assert t.iter_time_s == pytest.approx(parts, rel=1e-9)
    assert t.n_micro == 256 // (4 * 1)


def test_doubling_data_parallel_nearly_halves_the_step() -> None:
    small = iteration_time(job(), ParallelConfig(tp=2, dp=8, micro_batch=1)).iter_time_s
    large = iteration_time(job(), ParallelConfig(tp=2, dp=16, micro_batch=1)).iter_time_s
    assert 0.45 < large / small < 0.6


def test_interleaving_shrinks_the_bubble() -> None:
    plain = ParallelConfig(tp=8, pp=4, dp=1, micro_batch=1, sequence_parallel=True)
    inter = replace(plain, virtual_pipeline=2)
    j = job("llama-3-70b", batch=16)
    assert iteration_time(j, inter).pp_bubble_s == pytest.approx(iteration_time(j, plain).pp_bubble_s / 2, rel=0.01)


def test_recompute_costs_time() -> None:
    j = job()
    cfgs = {rc: ParallelConfig(tp=1, dp=8, micro_batch=1, recompute=rc) for rc in ("none", "full")}
    assert iteration_time(j, cfgs["full"]).iter_time_s > 1.25 * iteration_time(j, cfgs["none"]).iter_time_s
    unfused = job(flash_attention=False)
    sel = ParallelConfig(tp=1, dp=8, micro_batch=1, recompute="selective")
    assert layer_time(unfused, sel).recompute_s > 0 and layer_time(j, cfgs["none"]).recompute_s == 0


def test_tensor_parallel_comm_only_when_split_and_hidden_when_overlapped() -> None:
    assert layer_time(job(), ParallelConfig(tp=1)).tp_comm_s == 0
    exposed = layer_time(job(overlap_tp_comm=False), ParallelConfig(tp=8, sequence_parallel=True)).tp_comm_s
    hidden = layer_time(job(), ParallelConfig(tp=8, sequence_parallel=True)).tp_comm_s
    assert exposed > hidden > 0  # 20% of an overlapped collective is always paid


def test_slower_gemms_mean_slower_steps() -> None:
    slow = Params(eff=Efficiency(mem_bw_eff=0.5), reliability=Reliability())
    cfg = ParallelConfig(tp=1, dp=8, micro_batch=2)
    assert iteration_time(job(), cfg, slow).iter_time_s > iteration_time(job(), cfg, DEFAULT_PARAMS).iter_time_s


def test_goodput_falls_with_scale() -> None:
    r = Reliability()
    assert 0.9 < r.goodput(1024) < 0.97
    assert r.goodput(16384) < r.goodput(1024)
    assert r.goodput(16384) == pytest.approx(0.88, abs=0.02)  # Llama 3: ~90% effective training time
