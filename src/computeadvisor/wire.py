"""The JSON bodies the HTTP routes answer with, as msgspec Structs.

The app encodes them (so OpenAPI shows the real shapes) and :mod:`computeadvisor.client` decodes them, so a
field added to an answer reaches both sides from this one place. Pure data: msgspec and the domain only.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from msgspec import UNSET, UnsetType

from computeadvisor.domain.advisor import AdviceAnswer, JobEcho, RawDecision, Thresholds
from computeadvisor.domain.costs import CostPreview
from computeadvisor.domain.hardware import Device, SystemSample
from computeadvisor.domain.health import ProbeResult, ProviderStatus
from computeadvisor.domain.jobs import Board, Job, JobCounts, Lease, StatePage
from computeadvisor.domain.legacy_providers import ImportSkip, LegacyView
from computeadvisor.domain.placement import PlanAnswer
from computeadvisor.domain.policy import GpuPolicy
from computeadvisor.domain.provider_templates import ProviderTemplate
from computeadvisor.domain.providers import ProviderRecord, RegistryStats
from computeadvisor.domain.runtime_model import ModelEntry
from computeadvisor.domain.studio_gpu import Choice, GpuAdvice
from computeadvisor.domain.waiting import Workload

AnswerT = TypeVar("AnswerT", bound=msgspec.Struct)


def extending(answer: type[AnswerT], value: msgspec.Struct, **extra: Any) -> AnswerT:
    """An ``answer`` that extends the domain ``value``: every field it shares with ``value``, plus ``extra``.

    Answers subclass the domain value they show, so a field added to that value is in the answer by itself.
    """
    shared = {name: getattr(value, name) for name in answer.__struct_fields__ if name not in extra}
    return answer(**shared, **extra)


class Feature(msgspec.Struct, frozen=True, kw_only=True):
    """``{"feature": "enable_compute", "enabled": <bool>}`` on every response under /api (§0.2)."""

    feature: str = "enable_compute"
    enabled: bool


class ErrorBody(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    status_code: int
    detail: str
    extra: Any = UNSET
    feature: Feature | UnsetType = UNSET


class ProviderHealth(msgspec.Struct, frozen=True, kw_only=True):
    """A provider's latest health result in this process (§11: ``GET /api/providers`` ``health``)."""

    ok: bool
    checked_at: str


class ProvidersResponse(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    providers: list[ProviderRecord]
    health: dict[str, ProviderHealth]
    feature: Feature
    stats: RegistryStats | UnsetType = UNSET


class ProviderSaved(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    ok: bool
    provider: ProviderRecord
    feature: Feature
    stats: RegistryStats | UnsetType = UNSET


class ProviderDeleted(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    ok: bool
    feature: Feature
    stats: RegistryStats | UnsetType = UNSET


class AdvisorDebug(msgspec.Struct, frozen=True, kw_only=True):
    job: JobEcho
    context: dict[str, Any]
    decision: RawDecision
    thresholds: Thresholds


class AdviseDebug(msgspec.Struct, frozen=True, kw_only=True):
    advisor: AdvisorDebug
    metrics: SystemSample
    registry: RegistryStats
    scheduler: JobCounts
    allow_remote: bool
    policy: PolicyView


class AdviseResponse(AdviceAnswer, frozen=True, kw_only=True, omit_defaults=True):
    feature: Feature
    debug: AdviseDebug | UnsetType = UNSET


class DefaultRates(msgspec.Struct, frozen=True, kw_only=True):
    """Seconds per work unit a place of each kind is predicted at without history or a declared rate (§10.3)."""

    cpu: float
    gpu: float
    remote: float


class ModelAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """What the run-time model has learned and how accurate it has been (§10.6)."""

    places: list[ModelEntry]
    defaults: DefaultRates
    min_samples: int


class ModelResponse(ModelAnswer, frozen=True, kw_only=True):
    feature: Feature


class PlanDebug(msgspec.Struct, frozen=True, kw_only=True):
    """The derived inputs of a plan (§10.5 ``debug``)."""

    model: ModelAnswer
    allow_remote: bool
    policy: PolicyView
    workload: Workload
    unhealthy: list[str]
    now: str


class PlanResponse(PlanAnswer, frozen=True, kw_only=True, omit_defaults=True):
    feature: Feature
    debug: PlanDebug | UnsetType = UNSET


class CostsDebug(msgspec.Struct, frozen=True, kw_only=True):
    registry: RegistryStats
    providers: list[ProviderRecord]


class CostsResponse(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    estimate: CostPreview
    feature: Feature
    debug: CostsDebug | UnsetType = UNSET


class PolicyView(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """``{mode, preferred_id, manual_device}``, plus ``sticky_device`` once sticky mode recorded one (§1.3)."""

    mode: str
    preferred_id: str | None
    manual_device: str
    sticky_device: str | UnsetType = UNSET

    @classmethod
    def of(cls, policy: GpuPolicy) -> PolicyView:
        """The policy as stored and reported (``GpuPolicy.as_stored`` decides which keys appear)."""
        return msgspec.convert(policy.as_stored(), cls)


class GpuListResponse(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    devices: list[Device]
    policy: PolicyView
    feature: Feature
    metrics: SystemSample | UnsetType = UNSET
    raw_devices: list[dict[str, Any]] | UnsetType = UNSET


class PolicyResponse(msgspec.Struct, frozen=True, kw_only=True):
    policy: PolicyView
    modes: list[str]
    feature: Feature


class PolicySaved(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    policy: PolicyView
    modes: list[str]
    feature: Feature


class HealthOne(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    status: ProviderStatus
    feature: Feature


class HealthAll(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    results: list[ProviderStatus]
    feature: Feature


class Unsupported(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool = False
    error: str = "unsupported"
    provider_id: str
    feature: Feature


# -- scheduler (§5.7) --------------------------------------------------------------------------------------


class ScheduleHealth(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    queues: list[str]
    feature: Feature


class StateResponse(StatePage, frozen=True, kw_only=True):
    feature: Feature


class BoardResponse(Board, frozen=True, kw_only=True):
    feature: Feature


class JobResponse(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    job: Job
    feature: Feature


class EnqueueResponse(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    job: Job
    created: bool
    feature: Feature


class ClaimResponse(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    job: Job | None
    lease: Lease | None
    feature: Feature


# -- ComfyVN Studio compatibility (§16) ------------------------------------------------------------------------


class LegacyProviderList(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    providers: list[LegacyView]
    templates: list[ProviderTemplate]
    feature: Feature


class LegacyProviderSaved(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    provider: LegacyView
    feature: Feature


class LegacyProviders(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    providers: list[LegacyView]
    feature: Feature


class LegacyProviderRemoved(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    removed: str
    feature: Feature


class LegacyStatus(ProbeResult, frozen=True, kw_only=True):
    """A probe result as the Studio reads it (§16.7): plus the provider's id and view name, ``ts`` epoch ms."""

    provider_id: str
    provider_name: str
    ts: int


class LegacyHealthOne(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    status: LegacyStatus
    feature: Feature


class LegacyHealthAll(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    results: list[LegacyStatus]
    feature: Feature


class ProviderExport(msgspec.Struct, frozen=True, kw_only=True):
    """The export document (§16.8): its views carry real secrets, or none."""

    version: int = 1
    exported_at: int
    providers: list[dict[str, Any]]


class ProvidersExported(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    export: ProviderExport
    feature: Feature


class ProvidersImported(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    imported: list[str]
    skipped: list[ImportSkip]
    providers: list[LegacyView]
    feature: Feature


class GpuSelected(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    choice: Choice
    policy: PolicyView
    feature: Feature


class GpuAdvised(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    advice: GpuAdvice
    feature: Feature
