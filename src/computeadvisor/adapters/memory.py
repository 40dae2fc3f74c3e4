"""In-memory versions of every port, for unit tests and for parts that have no real adapter yet."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from computeadvisor.adapters.memory_jobs import MemoryJobStore as MemoryJobStore  # re-exported
from computeadvisor.domain import registry as reg
from computeadvisor.domain.events import NewEvent
from computeadvisor.domain.hardware import SystemSample
from computeadvisor.domain.policy import GpuPolicy
from computeadvisor.domain.providers import ProviderRecord, RegistryStats, registry_stats
from computeadvisor.ports.feature_flags import FeatureFlags
from computeadvisor.ports.metrics_source import MetricsSource
from computeadvisor.ports.provider_registry import ProviderRegistry
from computeadvisor.ports.settings_store import SettingsStore


class MemoryRegistry(ProviderRegistry):
    """A registry that lives and dies with the process; ``persisted`` is true once anything was written."""

    logs_events = False

    def __init__(self, records: Sequence[ProviderRecord] = ()) -> None:
        self._doc = reg.RegistryDocument(providers=tuple(records))
        self._persisted = bool(records)
        self._seed_ids: set[str] = set()

    async def records(self) -> list[ProviderRecord]:
        return list(self._doc.providers)

    async def get(self, provider_id: str) -> ProviderRecord | None:
        return self._doc.find(provider_id)

    async def upsert(self, record: ProviderRecord, event: NewEvent | None = None) -> ProviderRecord:
        self._doc, stored = reg.upsert(self._doc, record)
        self._persisted = True
        return stored

    async def delete(self, provider_id: str, event: NewEvent | None = None) -> None:
        self._doc = reg.delete(self._doc, provider_id, is_seed=provider_id in self._seed_ids)

    async def apply(
        self, upserts: Sequence[ProviderRecord], deletes: Sequence[str] = (), events: Sequence[NewEvent] = ()
    ) -> list[ProviderRecord]:
        self._doc, stored = reg.apply(self._doc, upserts, deletes, frozenset(self._seed_ids))
        self._persisted = True
        return stored

    async def stats(self) -> RegistryStats:
        return registry_stats(self._doc.providers, persisted=self._persisted)

    async def add_seeds(self, seeds: Sequence[ProviderRecord]) -> list[str]:
        self._seed_ids.update(seed.id for seed in seeds)
        self._doc, added = reg.add_seeds(self._doc, seeds)
        self._persisted = self._persisted or bool(added)
        return added


class StaticFlags(FeatureFlags):
    """A feature flag and seed documents set in code; flip ``enabled_value`` to change the flag."""

    def __init__(self, enabled: bool = False, documents: Sequence[tuple[str, Any]] = ()) -> None:
        self.enabled_value = enabled
        self._documents = list(documents)

    def enabled(self) -> bool:
        return self.enabled_value

    def seed_documents(self) -> list[tuple[str, Any]]:
        return list(self._documents)


class StaticMetrics(MetricsSource):
    """Always the same sample: by default a host with no GPU (no driver)."""

    def __init__(self, sample: SystemSample | None = None) -> None:
        self._sample = sample or SystemSample(ok=False, source="none", gpu_error="no metrics source configured")

    def sample(self) -> SystemSample:
        return self._sample


class MemorySettings(SettingsStore):
    """A GPU policy held in memory."""

    def __init__(self, policy: GpuPolicy | None = None) -> None:
        self._policy = policy or GpuPolicy()

    async def get_policy(self) -> GpuPolicy:
        return self._policy

    async def put_policy(self, policy: GpuPolicy) -> None:
        self._policy = policy
