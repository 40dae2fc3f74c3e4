"""Every place a job could run, with its blockers, wait, transfer, run time and cost, ranked (§10.2-§10.5).

The service gathers the facts (:class:`Places`, the learned :class:`RunModel`, the :class:`Workload`) and calls
:func:`plan`; this module only combines them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import msgspec

from computeadvisor.domain.costs import CostInputs, cost_parts, provider_label
from computeadvisor.domain.errors import FieldError
from computeadvisor.domain.hardware import GpuInfo
from computeadvisor.domain.plan_request import PlanRequest
from computeadvisor.domain.planner import Candidate, Cost, Objective, rank, recommendation, with_limits
from computeadvisor.domain.policy import GpuPolicy, pins_cpu, select_gpu
from computeadvisor.domain.providers import ProviderRecord
from computeadvisor.domain.runtime_model import Basis, RunModel
from computeadvisor.domain.values import as_number, whole_number
from computeadvisor.domain.waiting import Workload, local_waits, remote_wait

VRAM_SLACK_GB = 0.5
"""Inclusive slack on VRAM, as the advisor's (§3.4): needing 24.5 GiB on a 24 GiB card passes."""
DEFAULT_BANDWIDTH_MBPS = 100.0
LOCAL_COST = Cost(estimate=0.0, currency="USD")

FEATURE_DISABLED = "compute feature disabled"
OFFLOAD_DISABLED = "remote offload disabled"
HEALTH_FAILED = "last health check failed"
POLICY_PINS_CPU = "GPU policy pins CPU"


class ProviderFacts(msgspec.Struct, frozen=True, kw_only=True):
    """What the planner reads from a provider's ``meta`` (§10.3); a value saved invalid before v2 reads as unset."""

    seconds_per_unit: float | None = None
    startup_s: float = 0.0
    bandwidth_mbps: float = DEFAULT_BANDWIDTH_MBPS
    concurrency: int = 1
    vram_gb: float | None = None


def _at_least_zero(meta: Mapping[str, Any], key: str) -> float | None:
    number = as_number(meta.get(key))
    return number if number is not None and number >= 0 else None


def provider_facts(record: ProviderRecord) -> ProviderFacts:
    """The planner's facts of one provider, each defaulted when absent or invalid."""
    meta = record.meta
    bandwidth = as_number(meta.get("bandwidth_mbps"))
    concurrency = whole_number(meta.get("concurrency"))
    return ProviderFacts(
        seconds_per_unit=_at_least_zero(meta, "seconds_per_unit"),
        startup_s=_at_least_zero(meta, "startup_s") or 0.0,
        bandwidth_mbps=bandwidth if bandwidth is not None and bandwidth > 0 else DEFAULT_BANDWIDTH_MBPS,
        concurrency=concurrency if concurrency is not None and concurrency >= 1 else 1,
        vram_gb=_at_least_zero(meta, "vram_gb"),
    )


class Places(msgspec.Struct, frozen=True, kw_only=True):
    """The places the host and the registry offer, and what limits them."""

    cpu_name: str = "CPU"
    gpus: tuple[GpuInfo, ...] = ()
    policy: GpuPolicy = GpuPolicy()
    providers: tuple[ProviderRecord, ...] = ()
    """Providers that count toward ``remote_available`` (§3.2), health aside, in registry order."""
    unhealthy: frozenset[str] = frozenset()
    feature_enabled: bool = True


class PlanJobEcho(msgspec.Struct, frozen=True, kw_only=True):
    """The answer's ``job``: the derived size, the VRAM need (null when not stated) and the priority."""

    work_units: float
    pixels: int
    steps: float
    batch: float
    frames: float
    vram_gb: float | None
    priority: int


class PlanAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """What a plan answers (§10.5); the HTTP answer adds ``feature`` (and ``debug``)."""

    recommendation: str | None
    reason: str
    objective: Objective
    job: PlanJobEcho
    candidates: list[Candidate]


def _vram_blocker(needs: float | None, has: float | None) -> list[str]:
    if needs is None or has is None or needs <= has + VRAM_SLACK_GB:
        return []
    return [f"not enough VRAM (needs {needs:.1f} GiB, has {has:.1f} GiB)"]


def _gpu_blockers(gpu: GpuInfo, gpus: Sequence[GpuInfo], policy: GpuPolicy, needs: float | None) -> list[str]:
    has = None if gpu.mem_total is None else gpu.mem_total / 1024
    blockers = _vram_blocker(needs, has)
    if pins_cpu(policy, gpus):
        blockers.append(POLICY_PINS_CPU)
    elif policy.mode == "manual":
        selected = select_gpu(policy, gpus)
        if selected is not None and selected.device_id != gpu.device_id:
            blockers.append(f"GPU policy selects {selected.device_id}")
    return blockers


def _candidate(
    device: str, target: Literal["cpu", "gpu", "remote"], label: str, basis: Basis, units: float, **facts: Any
) -> Candidate:
    run = basis.seconds_per_unit.times(units)
    return Candidate(
        device=device,
        target=target,
        label=label,
        basis=basis,
        run_s=msgspec.structs.replace(run, p50=round(run.p50, 3), p90=round(run.p90, 3)),
        **facts,
    )


def _remote_cost(request: PlanRequest, record: ProviderRecord, run_s: float) -> Cost:
    job = request.job
    inputs = CostInputs(
        queue="remote",
        provider_id=record.id,
        duration_sec=run_s,
        bytes_tx=job.bytes_tx,
        bytes_rx=job.bytes_rx,
        vram_gb=job.vram_gb,
    )
    try:
        parts = cost_parts(inputs, record)
    except FieldError as exc:  # the job's size made the price overflow: name the plan's own field
        field = "job.work_units" if exc.field == "duration_sec" else f"job.{exc.field}"
        raise FieldError(field, "too large: the cost it gives is not a finite number") from exc
    return Cost(estimate=round(parts.total, 4), currency=parts.currency)


def candidates(
    request: PlanRequest, places: Places, model: RunModel, workload: Workload, now: float
) -> list[Candidate]:
    """One candidate per place, in the order of §10.2 (cpu, each GPU, each provider), limits applied, unranked."""
    job = request.job
    units = job.size.work_units
    local = ["cpu", *(gpu.device_id for gpu in places.gpus)]
    waits = local_waits(
        workload, job.priority, {place: model.basis(place, None).seconds_per_unit.p50 for place in local}, now
    )
    found = [
        _candidate("cpu", "cpu", places.cpu_name, model.basis("cpu", job.model), units,
                   wait_s=round(waits["cpu"], 3), transfer_s=0.0, cost=LOCAL_COST)
    ]  # fmt: skip
    for gpu in places.gpus:
        found.append(
            _candidate(gpu.device_id, "gpu", gpu.name, model.basis(gpu.device_id, job.model), units,
                       wait_s=round(waits[gpu.device_id], 3), transfer_s=0.0, cost=LOCAL_COST,
                       blockers=_gpu_blockers(gpu, places.gpus, places.policy, job.vram_gb))
        )  # fmt: skip
    for record in places.providers:
        facts = provider_facts(record)
        place = f"remote:{record.id}"
        blockers = []
        if not places.feature_enabled:
            blockers.append(FEATURE_DISABLED)
        elif not request.allow_remote:
            blockers.append(OFFLOAD_DISABLED)
        if record.id in places.unhealthy:
            blockers.append(HEALTH_FAILED)
        blockers += _vram_blocker(job.vram_gb, facts.vram_gb)
        basis = model.basis(place, job.model, facts.seconds_per_unit)
        queue_rate = model.basis(place, None, facts.seconds_per_unit).seconds_per_unit.p50
        wait = remote_wait(
            workload, job.priority, place, queue_rate, startup_s=facts.startup_s, concurrency=facts.concurrency
        )
        transfer = (job.bytes_tx + job.bytes_rx) * 8 / (facts.bandwidth_mbps * 1e6)
        cost = _remote_cost(request, record, basis.seconds_per_unit.p50 * units)
        found.append(
            _candidate(place, "remote", provider_label(record), basis, units, wait_s=round(wait, 3),
                       transfer_s=round(transfer, 3), cost=cost, blockers=blockers)
        )  # fmt: skip
    return [with_limits(c, deadline_s=request.deadline_s, budget=request.budget) for c in found]


def plan(request: PlanRequest, places: Places, model: RunModel, workload: Workload, now: float) -> PlanAnswer:
    """Rank every place for the job by the request's objective, and say which is best and why (§10.5)."""
    ranked = rank(candidates(request, places, model, workload, now), request.objective, request.time_value_per_hour)
    best, reason = recommendation(ranked)
    size = request.job.size
    echo = PlanJobEcho(
        work_units=round(size.work_units, 6),
        pixels=size.pixels,
        steps=size.steps,
        batch=size.batch,
        frames=size.frames,
        vram_gb=request.job.vram_gb,
        priority=request.job.priority,
    )
    return PlanAnswer(recommendation=best, reason=reason, objective=request.objective, job=echo, candidates=ranked)


def remote_places(providers: Sequence[ProviderRecord]) -> tuple[ProviderRecord, ...]:
    """The providers that are planner candidates: those whose kind is not ``local`` (§3.2), in registry order."""
    return tuple(r for r in providers if r.kind.lower() != "local")
