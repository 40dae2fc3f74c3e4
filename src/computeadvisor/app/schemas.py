"""The JSON bodies the HTTP routes answer with (msgspec Structs, so OpenAPI shows the real shapes)."""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from computeadvisor.domain.advisor import AdvisorContext, JobEcho, RawDecision, Thresholds
from computeadvisor.domain.costs import CostPreview
from computeadvisor.domain.hardware import SystemSample
from computeadvisor.domain.jobs import JobCounts
from computeadvisor.domain.policy import GpuPolicy
from computeadvisor.domain.providers import ProviderRecord, RegistryStats


class Feature(msgspec.Struct, frozen=True, kw_only=True):
    """``{"feature": "enable_compute", "enabled": <bool>}`` on every response under /api (§0.2)."""

    feature: str = "enable_compute"
    enabled: bool


class ErrorBody(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    status_code: int
    detail: str
    extra: Any = UNSET
    feature: Feature | UnsetType = UNSET


class ProvidersResponse(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    providers: list[ProviderRecord]
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
    policy: GpuPolicy


class AdviseResponse(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    decision: str
    reason: str
    target: str
    device: str
    context: AdvisorContext
    remote_allowed: bool
    feature: Feature
    debug: AdviseDebug | UnsetType = UNSET


class CostsDebug(msgspec.Struct, frozen=True, kw_only=True):
    registry: RegistryStats
    providers: list[ProviderRecord]


class CostsResponse(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    estimate: CostPreview
    feature: Feature
    debug: CostsDebug | UnsetType = UNSET
