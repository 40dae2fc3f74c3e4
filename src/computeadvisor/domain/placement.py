"""Every place a job could run, with its blockers, wait, transfer, run time and cost, ranked (§10.2-§10.5).

The service gathers the facts (:class:`Places`, the learned :class:`RunModel`, the :class:`Workload`) and calls
:func:`plan`; this module only combines them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from computeadvisor.domain.costs import CostInputs, PriceSheet, price_sheet, priced, provider_label
from computeadvisor.domain.errors import FieldError
from computeadvisor.domain.hardware import GpuInfo
from computeadvisor.domain.plan_request import PlanRequest
from computeadvisor.domain.planner import Candidate, Cost, Objective, ranked_in_place, recommendation, with_limits
from computeadvisor.domain.policy import GpuPolicy, pins_cpu, select_gpu
from computeadvisor.domain.providers import ProviderRecord, is_active, preference_order
from computeadvisor.domain.runtime_model import RunModel
from computeadvisor.domain.values import as_number, whole_number
from computeadvisor.domain.waiting import Workload, local_waits, remote_ahead, remote_wait

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


class RemotePlace(msgspec.Struct, frozen=True, kw_only=True):
    """A provider as a place to run: its id, label, planner facts and prices, read from its record once."""

    id: str
    label: str
    facts: ProviderFacts
    prices: PriceSheet


def remote_places(providers: Sequence[ProviderRecord]) -> tuple[RemotePlace, ...]:
    """The providers that are planner candidates — kind not ``local`` (§3.2) and active (§16.1) — in preference
    order (§16.1)."""
    return tuple(
        RemotePlace(id=r.id, label=provider_label(r), facts=provider_facts(r), prices=price_sheet(r))
        for r in preference_order(providers)
        if r.kind.lower() != "local" and is_active(r)
    )


class Places(msgspec.Struct, frozen=True, kw_only=True):
    """The places the host and the registry offer, and what limits them."""

    cpu_name: str = "CPU"
    gpus: tuple[GpuInfo, ...] = ()
    policy: GpuPolicy = GpuPolicy()
    providers: tuple[RemotePlace, ...] = ()
    """Providers that count toward ``remote_available`` (§3.2), health aside, in preference order (§16.1)."""
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


def _remote_cost(request: PlanRequest, remote: RemotePlace, run_s: float) -> Cost:
    job = request.job
    inputs = CostInputs(
        queue="remote",
        provider_id=remote.id,
        duration_sec=run_s,
        bytes_tx=job.bytes_tx,
        bytes_rx=job.bytes_rx,
        vram_gb=job.vram_gb,
    )
    try:
        parts = priced(inputs, remote.prices)
    except FieldError as exc:  # the job's size made the price overflow: name the plan's own field
        field = "job.work_units" if exc.field == "duration_sec" else f"job.{exc.field}"
        raise FieldError(field, "too large: the cost it gives is not a finite number") from exc
    return Cost(estimate=round(parts.total, 4), currency=parts.currency)


def candidates(
    request: PlanRequest, places: Places, model: RunModel, workload: Workload, now: float
) -> list[Candidate]:
    """One candidate per place, in the order of §10.2 (cpu, each GPU, each provider), limits applied, unranked."""
    job = request.job
    units, wanted = job.size.work_units, job.model
    local = ["cpu", *(gpu.device_id for gpu in places.gpus)]
    waits = local_waits(workload, job.priority, {p: model.basis(p, None).seconds_per_unit.p50 for p in local}, now)
    cpu = model.basis("cpu", wanted)
    found = [
        Candidate(device="cpu", target="cpu", label=places.cpu_name, wait_s=round(waits["cpu"], 3), transfer_s=0.0,
                  run_s=cpu.seconds_per_unit.times(units, 3), cost=LOCAL_COST, basis=cpu)
    ]  # fmt: skip
    for gpu in places.gpus:
        place = gpu.device_id
        basis = model.basis(place, wanted)
        found.append(
            Candidate(device=place, target="gpu", label=gpu.name, wait_s=round(waits[place], 3), transfer_s=0.0,
                      run_s=basis.seconds_per_unit.times(units, 3), cost=LOCAL_COST, basis=basis,
                      blockers=_gpu_blockers(gpu, places.gpus, places.policy, job.vram_gb))
        )  # fmt: skip
    ahead = remote_ahead(workload, job.priority)
    offload = FEATURE_DISABLED if not places.feature_enabled else None if request.allow_remote else OFFLOAD_DISABLED
    data_bits = (job.bytes_tx + job.bytes_rx) * 8
    for remote in places.providers:
        facts = remote.facts
        place = f"remote:{remote.id}"
        blockers = [offload] if offload else []
        if remote.id in places.unhealthy:
            blockers.append(HEALTH_FAILED)
        if job.vram_gb is not None and facts.vram_gb is not None:
            blockers += _vram_blocker(job.vram_gb, facts.vram_gb)
        basis = model.basis(place, wanted, facts.seconds_per_unit)
        queue_rate = model.basis(place, None, facts.seconds_per_unit).seconds_per_unit.p50  # jobs ahead: any model
        wait = remote_wait(ahead.get(place, 0.0), queue_rate, startup_s=facts.startup_s, concurrency=facts.concurrency)
        run = basis.seconds_per_unit.times(units, 3)
        found.append(
            Candidate(device=place, target="remote", label=remote.label, wait_s=round(wait, 3),
                      transfer_s=round(data_bits / (facts.bandwidth_mbps * 1e6), 3), run_s=run,
                      cost=_remote_cost(request, remote, basis.seconds_per_unit.p50 * units), basis=basis,
                      blockers=blockers)
        )  # fmt: skip
    return [with_limits(c, deadline_s=request.deadline_s, budget=request.budget) for c in found]


def plan(request: PlanRequest, places: Places, model: RunModel, workload: Workload, now: float) -> PlanAnswer:
    """Rank every place for the job by the request's objective, and say which is best and why (§10.5)."""
    found = candidates(request, places, model, workload, now)  # fresh objects of this call: ranked where they are
    ranked = ranked_in_place(found, request.objective, request.time_value_per_hour)
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
