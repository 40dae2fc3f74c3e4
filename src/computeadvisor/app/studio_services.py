"""The ComfyVN Studio's use cases (§16): the legacy provider surface and the GPU select/advise routes.

They read and write the one registry (§2) and the one GPU policy (§1.3) through the same ports as the v1 routes;
every write is one registry change whose ``provider`` events (§11) are logged as the v1 writes log theirs.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from computeadvisor.app.health_fanout import probe_all
from computeadvisor.domain import legacy_providers as legacy
from computeadvisor.domain import studio_gpu
from computeadvisor.domain.errors import Forbidden, NotFound
from computeadvisor.domain.events import NewEvent, provider_event
from computeadvisor.domain.health import ProbeResult
from computeadvisor.domain.provider_templates import TEMPLATES
from computeadvisor.domain.providers import ProviderRecord, is_active, preference_order, remote_candidates
from computeadvisor.ports.provider_registry import ProviderRegistry
from computeadvisor.wire import (
    GpuAdvised,
    GpuSelected,
    LegacyHealthAll,
    LegacyHealthOne,
    LegacyProviderList,
    LegacyProviderRemoved,
    LegacyProviders,
    LegacyProviderSaved,
    LegacyStatus,
    PolicyView,
    ProviderExport,
    ProvidersExported,
    ProvidersImported,
)

if TYPE_CHECKING:  # one of the service's parts: Services builds it
    from computeadvisor.app.services import Services

SECRETS_OFF_LOOPBACK = (
    "include_secrets is answered to loopback peers only; set allow_secret_export to allow other peers (with the token)"
)


class StudioService:
    """The §16 routes over the service's adapters, health memory and policy."""

    def __init__(self, services: Services, *, allow_secret_export: bool) -> None:
        self._services = services
        self._allow_secret_export = allow_secret_export

    @property
    def _registry(self) -> ProviderRegistry:
        return self._services.adapters.registry

    def _view(self, record: ProviderRecord) -> legacy.LegacyView:
        return legacy.legacy_view(record, self._services.health.last(record.id))

    async def _preferred_views(self) -> list[legacy.LegacyView]:
        return [self._view(r) for r in preference_order(await self._registry.records())]

    async def _store(
        self, upserts: Sequence[ProviderRecord], deletes: Sequence[str] = (), *, forget: bool = True
    ) -> list[ProviderRecord]:
        """One registry write with one event per changed record; a saved (or removed) provider is unchecked again."""
        now = time.time()
        events: list[NewEvent] = [provider_event(i, "delete", now) for i in deletes]
        events += [provider_event(r.id, "upsert", now) for r in upserts]
        stored = await self._registry.apply(upserts, deletes, events)
        for provider_id in (*deletes, *(r.id for r in upserts if forget)):
            self._services.health.forget(provider_id)
        for event in events:
            await self._services.logged(event)
        return stored

    # -- providers (§16.3-§16.8) ---------------------------------------------------------------------------

    async def listing(self) -> LegacyProviderList:
        return LegacyProviderList(ok=True, providers=await self._preferred_views(), templates=list(TEMPLATES),
                                  feature=self._services.feature())  # fmt: skip

    async def _saved(self, record: ProviderRecord, *, forget: bool = True) -> LegacyProviderSaved:
        (stored,) = await self._store([record], forget=forget)
        return LegacyProviderSaved(ok=True, provider=self._view(stored), feature=self._services.feature())

    async def register(self, body: dict[str, Any]) -> LegacyProviderSaved:
        return await self._saved(legacy.register(body, await self._registry.records()))

    async def create(self, body: dict[str, Any]) -> LegacyProviderSaved:
        return await self._saved(legacy.create(body, await self._registry.records()))

    async def activate(self, body: dict[str, Any]) -> LegacyProviderSaved:
        provider_id, active = legacy.parse_activate(body)
        record = await self._registry.get(provider_id)
        if record is None:
            raise NotFound("provider not found")
        return await self._saved(legacy.set_active(record, active), forget=False)

    async def order(self, body: dict[str, Any]) -> LegacyProviders:
        changed = legacy.reorder(await self._registry.records(), body)
        if changed:
            await self._store(changed, forget=False)
        return LegacyProviders(ok=True, providers=await self._preferred_views(), feature=self._services.feature())

    async def remove(self, provider_id: str) -> LegacyProviderRemoved:
        await self._services.delete_provider(provider_id, debug=False)
        return LegacyProviderRemoved(ok=True, removed=provider_id, feature=self._services.feature())

    def _status(self, record: ProviderRecord, result: ProbeResult) -> LegacyStatus:
        last = self._services.health.last(record.id)
        fields = {name: getattr(result, name) for name in ProbeResult.__struct_fields__}
        return LegacyStatus(**fields, provider_id=record.id, provider_name=legacy.view_name(record),
                            ts=last.ts if last.ts is not None else int(time.time() * 1000))  # fmt: skip

    async def health(self, body: dict[str, Any]) -> LegacyHealthOne | LegacyHealthAll:
        """Probe one provider (inactive too), or every active one in preference order (§16.7)."""
        services = self._services
        provider_id = legacy.parse_health(body)
        if provider_id is not None:
            record = await self._registry.get(provider_id)
            if record is None:
                raise NotFound("provider not found")
            result = await services.adapters.health.probe(record)
            await services.remember_health(record.id, result)
            return LegacyHealthOne(ok=True, status=self._status(record, result), feature=services.feature())
        records = [r for r in preference_order(await self._registry.records()) if is_active(r)]
        results = await probe_all(services.adapters.health, records, deadline_s=services.probe_deadline_s)
        statuses = []
        for record, result in zip(records, results, strict=True):
            await services.remember_health(record.id, result)
            statuses.append(self._status(record, result))
        return LegacyHealthAll(ok=True, results=statuses, feature=services.feature())

    async def export(self, *, include_secrets: bool, loopback_peer: bool) -> ProvidersExported:
        """The registry as views (§16.8); secrets only to a loopback peer unless ``allow_secret_export``."""
        if include_secrets and not (loopback_peer or self._allow_secret_export):
            raise Forbidden(SECRETS_OFF_LOOPBACK)
        health = self._services.health
        views = [legacy.export_view(r, health.last(r.id), secrets=include_secrets)
                 for r in await self._registry.records()]  # fmt: skip
        document = ProviderExport(exported_at=int(time.time() * 1000), providers=views)
        return ProvidersExported(ok=True, export=document, feature=self._services.feature())

    async def import_(self, body: dict[str, Any]) -> ProvidersImported:
        plan = legacy.plan_import(body, await self._registry.records())
        if plan.upserts or plan.deletes:
            await self._store(plan.upserts, plan.deletes)
        return ProvidersImported(ok=True, imported=plan.imported, skipped=plan.skipped,
                                 providers=await self._preferred_views(), feature=self._services.feature())  # fmt: skip

    # -- GPU (§16.9, §16.10) -------------------------------------------------------------------------------

    async def _remote_available(self, records: list[ProviderRecord]) -> list[ProviderRecord]:
        """The providers counting toward ``remote_available`` (§3.2), in preference order; none with the flag off."""
        if not self._services.feature().enabled:
            return []
        ids = remote_candidates(records, self._services.unhealthy())
        by_id = {r.id: r for r in records}
        return [by_id[i] for i in ids]

    async def select(self, body: dict[str, Any]) -> GpuSelected:
        prefer, need_mib = studio_gpu.parse_select(body)
        services = self._services
        sample = services.sample
        policy = await services.current_policy(sample)
        remote = await self._remote_available(await self._registry.records())
        choice = studio_gpu.select_device(prefer, need_mib, policy, sample.gpus, sample.cpu_name.strip() or "CPU",
                                          remote)  # fmt: skip
        return GpuSelected(ok=True, choice=choice, policy=PolicyView.of(policy), feature=services.feature())

    async def advise(self, body: dict[str, Any]) -> GpuAdvised:
        request = studio_gpu.parse_advise(body)
        services = self._services
        sample = services.sample
        policy = await services.current_policy(sample)
        local = studio_gpu.local_candidate(request, policy, sample.gpus, sample.source)
        remote = studio_gpu.remote_candidate(request, await self._registry.records(), services.unhealthy())
        feature = services.feature()
        advice = studio_gpu.advise_gpu(request, local, remote, feature_enabled=feature.enabled)
        return GpuAdvised(ok=True, advice=advice, feature=feature)
