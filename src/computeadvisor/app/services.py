"""Use cases: await the ports, call the domain, return response Structs. Knows nothing of Litestar."""

from __future__ import annotations

import time
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from computeadvisor.app.event_hub import EventHub
from computeadvisor.app.feature import current_feature
from computeadvisor.app.health_fanout import probe_all
from computeadvisor.app.health_memory import HealthMemory
from computeadvisor.app.metrics import Metrics, Snapshot
from computeadvisor.app.plan_services import PlanService
from computeadvisor.app.schedule_services import ScheduleService
from computeadvisor.app.studio_services import StudioService
from computeadvisor.domain import advisor, costs
from computeadvisor.domain.errors import InvalidInput, NotFound
from computeadvisor.domain.events import NewEvent, policy_event, provider_event
from computeadvisor.domain.hardware import SystemSample, device_entries
from computeadvisor.domain.health import ProbeResult, with_provider
from computeadvisor.domain.policy import MODES, GpuPolicy, apply_policy_update, select_gpu, sticky_choice
from computeadvisor.domain.providers import (
    ProviderRecord,
    masked,
    remote_candidates,
    seeds_from_documents,
    validate_provider,
)
from computeadvisor.domain.values import debug_from_body
from computeadvisor.ports import FeatureFlags, JobStore, MetricsSource, ProviderRegistry, SettingsStore
from computeadvisor.ports.health_probe import HealthProbe
from computeadvisor.ports.lifecycle import Lifecycle
from computeadvisor.wire import (
    AdviseDebug,
    AdviseResponse,
    AdvisorDebug,
    CostsDebug,
    CostsResponse,
    Feature,
    GpuListResponse,
    HealthAll,
    HealthOne,
    PolicyResponse,
    PolicySaved,
    PolicyView,
    ProviderDeleted,
    ProviderSaved,
    ProvidersResponse,
    Unsupported,
    extending,
)


class Adapters(msgspec.Struct, frozen=True, kw_only=True):
    """One adapter per port, and what they share: what the composition root builds, opens and closes."""

    registry: ProviderRegistry
    flags: FeatureFlags
    metrics: MetricsSource
    jobs: JobStore
    settings: SettingsStore
    health: HealthProbe
    shared: tuple[Lifecycle, ...] = ()  # resources the adapters use (the file watch): opened first, closed last

    def in_opening_order(self) -> tuple[Lifecycle, ...]:
        """Every part, in the order it is opened (closed in reverse)."""
        return (*self.shared, self.flags, self.metrics, self.settings, self.health, self.jobs, self.registry)


class Services:
    """The service's use cases over one set of adapters; ``bootstrap.build_services`` wires them."""

    def __init__(
        self,
        adapters: Adapters,
        schedule: ScheduleService,
        events: EventHub,
        metrics: Metrics,
        *,
        probe_deadline_s: float,
        min_samples: int,
        allow_secret_export: bool = False,
    ) -> None:
        self.adapters = adapters
        self.schedule = schedule
        self.events = events
        self.metrics = metrics
        self.planner = PlanService(self, min_samples=min_samples)
        self.studio = StudioService(self, allow_secret_export=allow_secret_export)
        self.probe_deadline_s = probe_deadline_s
        self.sample = SystemSample()
        self.health = HealthMemory()

    def feature(self) -> Feature:
        """The flag as the files say for this request."""
        return current_feature(self.adapters.flags)

    def unhealthy(self) -> frozenset[str]:
        """Providers whose latest health probe failed (§2.8), as this process remembers them."""
        return self.health.unhealthy()

    def publish_sample(self, sample: SystemSample) -> None:
        """Replace the hardware snapshot that handlers read (called by the sampler)."""
        self.sample = sample
        self.events.devices = device_entries(sample)

    async def _record(self, event: NewEvent) -> None:
        """Log a provider or policy event before the route answers (§11), and wake the streams."""
        await self.adapters.jobs.append(event)
        self.events.poke()

    async def logged(self, event: NewEvent) -> None:
        """After a registry change: its event is in the log (written by the registry in the change's transaction,
        §14, or appended now, §11), and the streams are woken."""
        if self.adapters.registry.logs_events:
            self.events.poke()
        else:
            await self._record(event)

    async def remember_health(self, provider_id: str, result: ProbeResult) -> None:
        """Keep the latest probe result; its first result, and every ok <-> failed flip, is an event."""
        now = time.time()
        if self.health.remember(provider_id, result, now):
            await self._record(provider_event(provider_id, "health", now, ok=result.ok))

    async def metrics_text(self) -> bytes:
        """The Prometheus exposition (§13): this process's counters, the store's queue gauges, the latest health
        results and the latest hardware sample."""
        counts = await self.schedule.counts()
        snapshot = Snapshot(
            queued=counts.queues,
            running=await self.schedule.running(),
            provider_up=self.health.up(),
            gpus=self.sample.gpus,
        )
        return self.metrics.exposition(snapshot)

    async def seed_providers(self) -> list[str]:
        """Add the providers seeded by the ComfyVN configuration (§2.7); returns seeding warnings."""
        seeds, warnings = seeds_from_documents(self.adapters.flags.seed_documents())
        await self.adapters.registry.add_seeds(seeds)
        return warnings

    # -- providers (§2) ------------------------------------------------------------------------------------

    async def list_providers(self, *, debug: bool) -> ProvidersResponse:
        registry = self.adapters.registry
        records = await registry.records()
        return ProvidersResponse(
            providers=[masked(r) for r in records],
            health={r.id: health for r in records if (health := self.health.v1(r.id)) is not None},
            feature=self.feature(),
            stats=await registry.stats() if debug else UNSET,
        )

    async def save_provider(self, body: dict[str, Any]) -> ProviderSaved:
        record = validate_provider(body)
        registry = self.adapters.registry
        event = provider_event(record.id, "upsert", time.time())
        stored = await registry.upsert(record, event)
        self.health.forget(stored.id)
        await self.logged(event)
        return ProviderSaved(
            ok=True,
            provider=masked(stored),
            feature=self.feature(),
            stats=await registry.stats() if debug_from_body(body) else UNSET,
        )

    async def delete_provider(self, provider_id: str, *, debug: bool) -> ProviderDeleted:
        registry = self.adapters.registry
        event = provider_event(provider_id, "delete", time.time())
        await registry.delete(provider_id, event)
        self.health.forget(provider_id)
        await self.logged(event)
        return ProviderDeleted(ok=True, feature=self.feature(), stats=await registry.stats() if debug else UNSET)

    # -- GPU list and policy (§1) -------------------------------------------------------------------------

    async def current_policy(self, sample: SystemSample) -> GpuPolicy:
        """The stored policy; in sticky mode, first records the sticky device when there is none present (§1.3)."""
        settings = self.adapters.settings
        policy = await settings.get_policy()
        if sticky_choice(policy, sample.gpus)[1] is not None:
            recorded = await settings.update_policy(lambda current: sticky_choice(current, sample.gpus)[1] or current)
            if recorded != policy:
                await self._record(policy_event(recorded.as_stored(), time.time()))
            policy = recorded
        return policy

    async def gpu_list(self, *, debug: bool) -> GpuListResponse:
        sample = self.sample
        return GpuListResponse(
            devices=device_entries(sample),
            policy=PolicyView.of(await self.adapters.settings.get_policy()),
            feature=self.feature(),
            metrics=sample if debug else UNSET,
            raw_devices=sample.raw_devices if debug else UNSET,
        )

    async def gpu_policy(self) -> PolicyResponse:
        policy = await self.adapters.settings.get_policy()
        return PolicyResponse(policy=PolicyView.of(policy), modes=list(MODES), feature=self.feature())

    async def save_gpu_policy(self, body: dict[str, Any]) -> PolicySaved:
        gpus = self.sample.gpus
        before: list[GpuPolicy] = []

        def change(current: GpuPolicy) -> GpuPolicy:
            before.append(current)
            return apply_policy_update(current, body, gpus)

        policy = await self.adapters.settings.update_policy(change)
        if before and policy != before[-1]:  # a PUT of the same policy is no change (§11)
            await self._record(policy_event(policy.as_stored(), time.time()))
        return PolicySaved(ok=True, policy=PolicyView.of(policy), modes=list(MODES), feature=self.feature())

    # -- provider runtime (§2.8) ---------------------------------------------------------------------------

    async def _provider(self, provider_id: str | None) -> ProviderRecord:
        if not provider_id:
            raise InvalidInput("missing provider id")
        record = await self.adapters.registry.get(provider_id)
        if record is None:
            raise NotFound("provider not found")
        return record

    async def provider_health(self, provider_id: str | None) -> HealthOne | HealthAll:
        """Probe one provider, or every provider concurrently (results in registry order)."""
        if provider_id:
            record = await self._provider(provider_id)
            result = await self.adapters.health.probe(record)
            await self.remember_health(record.id, result)
            return HealthOne(ok=result.ok, status=with_provider(result, record.id), feature=self.feature())
        records = await self.adapters.registry.records()
        results = await probe_all(self.adapters.health, records, deadline_s=self.probe_deadline_s)
        statuses = []
        for record, result in zip(records, results, strict=True):
            await self.remember_health(record.id, result)
            statuses.append(with_provider(result, record.id))
        return HealthAll(ok=any(r.ok for r in results), results=statuses, feature=self.feature())

    async def provider_unsupported(self, provider_id: str | None) -> Unsupported:
        """Quota and templates: no vendor adapters in v1, every kind answers ``unsupported``."""
        record = await self._provider(provider_id)
        return Unsupported(provider_id=record.id, feature=self.feature())

    # -- advisor (§3) --------------------------------------------------------------------------------------

    async def advise(self, body: dict[str, Any]) -> AdviseResponse:
        request = advisor.parse_advise_request(body)
        feature = self.feature()
        flag = feature.enabled
        sample = self.sample
        policy = await self.current_policy(sample)
        counts = await self.schedule.counts()
        providers = await self.adapters.registry.records()
        remote_ids = remote_candidates(providers, self.unhealthy())
        derived = advisor.derive_context(
            sample.gpus,
            select_gpu(policy, sample.gpus),
            local_queue_depth=counts.queues.local,
            remote_queue_depth=counts.queues.remote,
            remote_available=bool(remote_ids),  # merge_context clears it when the flag is off
        )
        context, full_context = advisor.merge_context(derived, request.override, feature_enabled=flag)
        advice = advisor.advise(
            request.job,
            context,
            allow_remote=request.allow_remote,
            feature_enabled=flag,
            policy=policy,
            gpus=sample.gpus,
            remote_provider_ids=remote_ids,
        )
        debug: AdviseDebug | UnsetType = UNSET
        if request.debug:
            debug = AdviseDebug(
                advisor=AdvisorDebug(
                    job=advice.job, context=full_context, decision=advice.raw, thresholds=advisor.THRESHOLDS
                ),
                metrics=sample,
                registry=await self.adapters.registry.stats(),
                scheduler=counts,
                allow_remote=request.allow_remote and flag,
                policy=PolicyView.of(policy),
            )
        return extending(AdviseResponse, advice, feature=feature, debug=debug)

    # -- costs (§4) ----------------------------------------------------------------------------------------

    async def costs(self, body: dict[str, Any]) -> CostsResponse:
        inputs = costs.resolve_cost_inputs(costs.build_cost_spec(body))
        registry = self.adapters.registry
        provider = await registry.get(inputs.provider_id) if inputs.provider_id else None
        feature = self.feature()
        debug: CostsDebug | UnsetType = UNSET
        if debug_from_body(body):
            debug = CostsDebug(registry=await registry.stats(), providers=[masked(p) for p in await registry.records()])
        return CostsResponse(
            estimate=costs.preview_cost(inputs, provider, feature_enabled=feature.enabled),
            feature=feature,
            debug=debug,
        )
