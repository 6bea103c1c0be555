"""The planner's front door: a spec (and optionally a real datacenter) in, a plan out. Decides; prints nothing."""

from __future__ import annotations

from dataclasses import dataclass

from aidc.core.errors import AidcError
from aidc.core.gpus import DEFAULT_CATALOG
from aidc.core.inventory import Datacenter
from aidc.planning.config import Hardware
from aidc.planning.params import DEFAULT_PARAMS, Params
from aidc.planning.placement import Placement, candidate_nodes, place
from aidc.planning.project import Costing, TrainEstimate, estimate_training
from aidc.planning.search import Fixed
from aidc.planning.serving import ServePlan, plan_serving_job
from aidc.planning.specs import ClusterSpec, CostSpec, ServeSpec, TrainSpec, resolve_model
from aidc.planning.training import Job


@dataclass
class TrainPlan:
    spec: TrainSpec
    estimate: TrainEstimate
    placement: Placement | None
    datacenter: str | None


def hardware_for(gpu_name: str, cluster: ClusterSpec, dc: Datacenter | None, params: Params) -> Hardware:
    """The GPU model plus wiring: from the datacenter's nodes when given, else the spec, else defaults."""
    gpu = (dc.catalog if dc is not None else DEFAULT_CATALOG).get(gpu_name)
    per_node, domain, nic = cluster.gpus_per_node, cluster.scaleup_domain_gpus, cluster.nic_gbps
    if dc is not None:
        nodes = candidate_nodes(dc, gpu.name)
        if nodes:
            per_node, domain = nodes[0].gpus, nodes[0].nvlink_domain_gpus
            nic = nic or (nodes[0].nic_gbps * nodes[0].nics / max(1, nodes[0].gpus))
    return Hardware(gpu=gpu, gpus_per_node=per_node, scaleup_domain_gpus=domain or per_node,
                    nic_gbps=nic or params.nic_gbps(gpu.name))


def costing_for(cost: CostSpec, dc: Datacenter | None) -> Costing:
    pue = cost.pue or (dc.spec.site.pue if dc is not None else 1.3)
    price = cost.electricity_usd_per_kwh
    if price is None:
        price = dc.spec.site.electricity_usd_per_kwh if dc is not None else 0.08
    return Costing(pue=pue, gpu_power_w=cost.gpu_power_w, usd_per_gpu_hour=cost.usd_per_gpu_hour,
                   capex_usd_per_gpu=cost.capex_usd_per_gpu, amortization_years=cost.amortization_years,
                   opex_usd_per_gpu_hour=cost.opex_usd_per_gpu_hour,
                   electricity_usd_per_kwh=price)


def fixed_from(spec: TrainSpec) -> Fixed:
    p = spec.parallelism
    return Fixed(tp=p.tp, pp=p.pp, dp=p.dp, cp=p.cp, micro_batch=p.micro_batch, virtual_pipeline=p.virtual_pipeline,
                 zero_stage=p.zero_stage, recompute=p.activation_recompute, sequence_parallel=p.sequence_parallel)


def train_job(spec: TrainSpec, hw: Hardware) -> Job:
    arch = resolve_model(spec.model, spec.seq_len)
    if spec.global_batch_seqs is not None:
        batch, exact = spec.global_batch_seqs, True
    else:
        batch, exact = max(1, round((spec.global_batch_tokens or 0) / arch.seq_len)), False
    return Job(arch=arch, hw=hw, global_batch_seqs=batch, batch_exact=exact, precision=spec.precision,
               flash_attention=spec.stack.flash_attention, overlap_grad_reduce=spec.stack.overlap_grad_reduce,
               overlap_tp_comm=spec.stack.overlap_tp_comm, fused_kernels=spec.stack.fused_kernels)


def plan_training(spec: TrainSpec, dc: Datacenter | None = None, n_gpus: int | None = None,
                  params: Params = DEFAULT_PARAMS) -> TrainPlan:
    """Search the layout, roll up the project and, with a datacenter, say whether and where it fits."""
    hw = hardware_for(spec.gpu, spec.cluster, dc, params)
    n = n_gpus or spec.n_gpus
    if n is None and dc is not None:
        n = sum(node.gpus for node in candidate_nodes(dc, hw.gpu.name, spec.tenant))
    if not n:
        raise AidcError("give n_gpus in the spec (or --datacenter with GPUs of that model)")
    estimate = estimate_training(train_job(spec, hw), n, fixed_from(spec), spec.training_tokens,
                                 costing_for(spec.cost, dc), params)
    placement = place(dc, hw.gpu.name, n, spec.tenant) if dc is not None else None
    return TrainPlan(spec, estimate, placement, dc.name if dc is not None else None)


def plan_serving(spec: ServeSpec, dc: Datacenter | None = None, params: Params = DEFAULT_PARAMS) -> ServePlan:
    hw = hardware_for(spec.gpu, spec.cluster, dc, params)
    plan = plan_serving_job(spec, hw, params)
    if dc is not None:
        plan.placement = place(dc, hw.gpu.name, plan.gpus_needed, spec.tenant)
        plan.datacenter = dc.name
    return plan
