"""The Studio's GPU routes as pure functions: ``/api/gpu/select`` (§16.9) and ``/api/gpu/advise`` (§16.10).

Both read the one GPU policy (§1.3) and the one registry in preference order (§16.1); neither writes anything but
what the policy itself records (sticky mode, done by the caller before it asks).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

from computeadvisor.domain.costs import MAX_MINUTES, CostInputs, cost_parts
from computeadvisor.domain.errors import FieldError
from computeadvisor.domain.hardware import GpuInfo
from computeadvisor.domain.legacy_providers import legacy_view, view_name, view_service
from computeadvisor.domain.policy import GpuPolicy, parse_device_id, pins_cpu, present_gpu, select_gpu
from computeadvisor.domain.providers import ProviderRecord, is_active, preference_order
from computeadvisor.domain.values import as_number, is_on, plainly_truthy

SLACK_GIB = 0.5
DEFAULT_MINUTES = 30.0


# -- select (§16.9) ---------------------------------------------------------------------------------------------


class Choice(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The device ``/api/gpu/select`` chose, and why."""

    id: str
    device: str
    policy: str
    reason: Literal["preferred", "manual", "preferred_id", "sticky", "auto"]
    kind: Literal["cpu", "gpu", "remote"]
    name: str
    available: bool
    memory_total: int | UnsetType | None = UNSET
    memory_used: int | UnsetType | None = UNSET
    utilization: int | UnsetType | None = UNSET
    provider_id: str | UnsetType = UNSET


def _requirement(requirements: Mapping[str, Any], key: str) -> float:
    value = requirements.get(key)
    if value is None:
        return 0.0
    number = as_number(value) if not isinstance(value, bool) and not isinstance(value, str) else None
    if number is None or number < 0:
        raise FieldError(f"requirements.{key}", "must be a number >= 0")
    return number


def parse_select(body: Mapping[str, Any]) -> tuple[str | None, float]:
    """``prefer`` and the smallest total memory a GPU needs (MiB) from a select body (§16.9)."""
    prefer = body.get("prefer")
    if prefer is not None and not isinstance(prefer, str):
        raise FieldError("prefer", "must be a string")
    requirements = body.get("requirements")
    if requirements is None:
        requirements = {}
    if not isinstance(requirements, dict):
        raise FieldError("requirements", "must be an object")
    need_mib = max(_requirement(requirements, "memory_min_mb"), _requirement(requirements, "min_vram_gb") * 1024)
    return prefer, need_mib


def _gpu_choice(gpu: GpuInfo, policy: GpuPolicy, reason: Any) -> Choice:
    return Choice(id=gpu.device_id, device=gpu.device_id, policy=policy.mode, reason=reason, kind="gpu",
                  name=gpu.name, available=True, memory_total=gpu.mem_total, memory_used=gpu.mem_used,
                  utilization=gpu.util)  # fmt: skip


def _cpu_choice(cpu_name: str, policy: GpuPolicy, reason: Any) -> Choice:
    return Choice(id="cpu", device="cpu", policy=policy.mode, reason=reason, kind="cpu", name=cpu_name, available=True)


def select_device(
    prefer: str | None, need_mib: float, policy: GpuPolicy, gpus: Sequence[GpuInfo], cpu_name: str,
    remote: Sequence[ProviderRecord],
) -> Choice:  # fmt: skip
    """The first rule of §16.9 that applies; ``remote``: the providers counting toward ``remote_available``."""
    if prefer:
        text = prefer.strip()
        if text.lower().startswith("remote:"):
            wanted = text[len("remote:") :]
            record = next((r for r in remote if r.id == wanted), None)
            if record is not None:
                device = f"remote:{record.id}"
                return Choice(id=device, device=device, policy=policy.mode, reason="preferred", kind="remote",
                              name=view_name(record), available=True, provider_id=record.id)  # fmt: skip
        else:
            named = parse_device_id(text)
            if named == "cpu":
                return _cpu_choice(cpu_name, policy, "preferred")
            if (gpu := present_gpu(named, gpus)) is not None:
                return _gpu_choice(gpu, policy, "preferred")
    if policy.mode == "manual":
        gpu = present_gpu(policy.manual_device, gpus)
        return _gpu_choice(gpu, policy, "manual") if gpu else _cpu_choice(cpu_name, policy, "manual")
    if (gpu := present_gpu(policy.preferred_id, gpus)) is not None:
        return _gpu_choice(gpu, policy, "preferred_id")
    if policy.mode == "sticky" and (gpu := present_gpu(policy.sticky_device, gpus)) is not None:
        return _gpu_choice(gpu, policy, "sticky")
    fitting = [g for g in sorted(gpus, key=lambda g: g.id) if (g.mem_total or 0) >= need_mib]
    if fitting:
        return _gpu_choice(max(fitting, key=lambda g: g.mem_free or 0), policy, "auto")
    return _cpu_choice(cpu_name, policy, "auto")


# -- advise (§16.10) --------------------------------------------------------------------------------------------


class AdviseRequest(msgspec.Struct, frozen=True, kw_only=True):
    """What an advise body says, derived as §16.10 lists."""

    workload: dict[str, Any]
    workload_type: str
    need_gb: float
    minutes: float
    requires_gpu: bool
    prefer_remote: bool
    hardware_override: bool


def _object(value: Any, field: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FieldError(field, "must be an object")
    return value


def _number(value: Any, field: str, most: float = math.inf) -> float | None:
    if value is None:
        return None
    number = None if isinstance(value, bool | str) else as_number(value)
    if number is None or not 0 <= number <= most:
        raise FieldError(field, "must be a number >= 0" if most == math.inf else f"must be a number from 0 to {most:g}")
    return number


def _first(*numbers: float | None, default: float) -> float:
    return next((n for n in numbers if n is not None), default)


def parse_advise(body: Mapping[str, Any]) -> AdviseRequest:
    """The derived fields of an advise body (§16.10); FieldError naming the first bad one (every key is checked,
    not only the one that is used)."""
    workload = _object(body.get("workload"), "workload")
    requirements = _object(workload.get("requirements"), "workload.requirements")
    estimate = _object(workload.get("estimate"), "workload.estimate")
    kind = requirements.get("type") or workload.get("type")
    need = _first(
        _number(requirements.get("min_vram_gb"), "workload.requirements.min_vram_gb"),
        _number(requirements.get("min_vram"), "workload.requirements.min_vram"),
        default=0.0,
    )
    minutes = _first(
        _number(requirements.get("estimated_minutes"), "workload.requirements.estimated_minutes", MAX_MINUTES),
        _number(workload.get("estimated_minutes"), "workload.estimated_minutes", MAX_MINUTES),
        _number(estimate.get("duration_minutes"), "workload.estimate.duration_minutes", MAX_MINUTES),
        default=DEFAULT_MINUTES,
    )
    return AdviseRequest(
        workload=dict(workload),
        workload_type=kind.strip().lower() if isinstance(kind, str) else "",
        need_gb=float(need),
        minutes=float(minutes),
        requires_gpu=plainly_truthy(workload.get("requires_gpu")) or need >= 8,
        prefer_remote=is_on(body.get("prefer_remote")),
        hardware_override=is_on(body.get("hardware_override")),
    )


class LocalCandidate(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    kind: str = "gpu"
    memory_total: int | None
    source: str


class RemoteCandidate(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    service: str
    base_url: str
    meta: dict[str, Any]
    cost: dict[str, Any]
    cost_estimate: float
    currency: str
    cost_estimate_str: str
    policy_hint: str | None
    score: None = None


class Analysis(msgspec.Struct, frozen=True, kw_only=True):
    workload_type: str
    min_vram_gb: float
    requires_gpu: bool
    expected_runtime_minutes: float
    recommended_remote_id: str | None


class JobSummary(msgspec.Struct, frozen=True, kw_only=True):
    recommended_provider: str | None
    choice: str
    estimated_cost: str | None
    policy_hint: str | None
    min_vram_gb: float


class GpuAdvice(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The ``advice`` object of §16.10."""

    choice: Literal["cpu", "local", "remote"]
    target: Literal["cpu", "gpu", "remote"]
    device: str
    reason: str
    workload: dict[str, Any]
    local_candidate: LocalCandidate | None
    remote_candidate: RemoteCandidate | None
    analysis: Analysis
    estimated_cost: str | None
    job_summary: JobSummary
    override: str | UnsetType = UNSET
    fallback: RemoteCandidate | UnsetType | None = UNSET


def local_candidate(
    request: AdviseRequest, policy: GpuPolicy, gpus: Sequence[GpuInfo], source: str
) -> LocalCandidate | None:
    """The §3.6 selected GPU when it can take the job (§16.10)."""
    gpu = select_gpu(policy, gpus)
    if gpu is None or pins_cpu(policy, gpus):
        return None
    if request.need_gb > (gpu.mem_total or 0) / 1024 + SLACK_GIB:
        return None
    return LocalCandidate(id=gpu.device_id, name=gpu.name, memory_total=gpu.mem_total, source=source)


def _money(amount: float, currency: str) -> str:
    return f"${amount:.2f}" if currency == "USD" else f"{amount:.2f} {currency}"


def remote_candidate(request: AdviseRequest, records: Sequence[ProviderRecord],
                     unhealthy: frozenset[str]) -> RemoteCandidate | None:  # fmt: skip
    """The first provider in preference order that could take the job, whatever the flag (§16.10)."""
    for record in preference_order(records):
        if record.kind.lower() == "local" or not is_active(record) or record.id in unhealthy:
            continue
        vram = as_number(record.meta.get("vram_gb"))
        if vram is not None and request.need_gb > vram + SLACK_GIB:
            continue
        inputs = CostInputs(queue="remote", provider_id=record.id, duration_sec=request.minutes * 60)
        estimate = round(cost_parts(inputs, record).total, 4)
        currency = record.meta.get("currency")
        currency = currency if isinstance(currency, str) and currency else "USD"
        cost = record.meta.get("cost")
        hints = record.meta.get("policy_hints")
        hint = hints.get(request.workload_type) if isinstance(hints, dict) else None
        view = legacy_view(record)
        return RemoteCandidate(
            id=record.id, name=view_name(record), service=view_service(record), base_url=record.base,
            meta=view.meta, cost=dict(cost) if isinstance(cost, dict) else {}, cost_estimate=estimate,
            currency=currency, cost_estimate_str=_money(estimate, currency),
            policy_hint=hint if isinstance(hint, str) else None,
        )  # fmt: skip
    return None


def advise_gpu(request: AdviseRequest, local: LocalCandidate | None, remote: RemoteCandidate | None,
               *, feature_enabled: bool) -> GpuAdvice:  # fmt: skip
    """The choice and the reason of §16.10, in ComfyVN's wording."""
    parts: list[str] = []
    if request.workload_type:
        parts.append(f"Workload classified as '{request.workload_type}'")
    if request.need_gb > 0:
        parts.append(f"Minimum VRAM requested: {request.need_gb:.1f} GB")
    parts.append(f"Estimated runtime {request.minutes:.0f} minutes")
    if local is not None:
        parts.append(f"Local device {local.name} ({local.memory_total} MiB) meets requirements")
    elif not request.prefer_remote:
        parts.append("No local GPU satisfied VRAM requirement; considering remote providers")
    if remote is not None:
        parts.append(f"Suggested remote provider: {remote.name} ({remote.service}) ~{remote.cost_estimate_str} per job")
        if remote.policy_hint:
            parts.append(remote.policy_hint)
    elif request.prefer_remote:
        parts.append("Remote processing requested but no active providers registered")
    choice: Literal["cpu", "local", "remote"]
    blocked = False
    if request.hardware_override:
        choice = "cpu"
    elif request.prefer_remote and remote is not None and feature_enabled:
        choice = "remote"
    else:
        blocked = request.prefer_remote and remote is not None
        if local is not None:
            choice = "local"
        elif remote is not None and feature_enabled:
            choice = "remote"
        else:
            blocked = blocked or remote is not None
            choice = "cpu"
    if blocked and not request.hardware_override:
        parts.append("compute feature disabled")
    if request.hardware_override:
        parts.append("user override requested CPU fallback")
    target: Literal["cpu", "gpu", "remote"] = "gpu" if choice == "local" else choice
    device = "cpu"
    if choice == "local" and local is not None:
        device = local.id
    elif choice == "remote" and remote is not None:
        device = f"remote:{remote.id}"
    estimated = remote.cost_estimate_str if remote is not None else None
    return GpuAdvice(
        choice=choice, target=target, device=device, reason="; ".join(parts), workload=request.workload,
        local_candidate=local, remote_candidate=remote,
        analysis=Analysis(workload_type=request.workload_type, min_vram_gb=request.need_gb,
                          requires_gpu=request.requires_gpu, expected_runtime_minutes=request.minutes,
                          recommended_remote_id=remote.id if remote is not None else None),
        estimated_cost=estimated,
        job_summary=JobSummary(recommended_provider=remote.id if choice == "remote" and remote else None,
                               choice=choice, estimated_cost=estimated,
                               policy_hint=remote.policy_hint if remote is not None else None,
                               min_vram_gb=request.need_gb),
        override="cpu" if request.hardware_override else UNSET,
        fallback=remote if request.hardware_override else UNSET,
    )  # fmt: skip
