"""The planner's use cases (§10): gather the places, the learned rates and the queues' totals, then rank."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from msgspec import UNSET, UnsetType

from computeadvisor.domain.placement import Places, RemotePlace, plan, remote_places
from computeadvisor.domain.plan_request import parse_plan_request
from computeadvisor.domain.providers import ProviderRecord
from computeadvisor.domain.runtime_model import DEFAULT_SECONDS_PER_UNIT, LearnedRate, RunModel
from computeadvisor.domain.values import iso_utc
from computeadvisor.wire import (
    DefaultRates,
    ModelAnswer,
    ModelResponse,
    PlanDebug,
    PlanResponse,
    PolicyView,
    extending,
)

if TYPE_CHECKING:  # the planner is one of the service's parts: Services builds it
    from computeadvisor.app.services import Services


class PlanService:
    """Plans and the model's report over the service's adapters.

    Args:
        services: the service's other use cases (the hardware sample, the policy, health memory, the flag).
        min_samples: samples a key needs before its history predicts (the stores learn with the same value).
        clock: epoch seconds now, for how long running jobs have run.
    """

    def __init__(self, services: Services, *, min_samples: int, clock: Callable[[], float] = time.time) -> None:
        self._services = services
        self._min_samples = min_samples
        self._clock = clock
        self._remote: tuple[list[ProviderRecord], tuple[RemotePlace, ...]] = ([], ())
        self._model: tuple[list[LearnedRate], RunModel] = ([], RunModel(min_samples=min_samples))

    def _run_model(self, rates: list[LearnedRate]) -> RunModel:
        """The model of these rates, kept while the store hands out the same list (it caches it while unchanged),
        so that its remembered answers serve the next plans too."""
        seen, model = self._model
        if rates is not seen:
            model = RunModel(rates, min_samples=self._min_samples)
            self._model = (rates, model)
        return model

    def _remote_places(self, records: list[ProviderRecord]) -> tuple[RemotePlace, ...]:
        """The providers as places, read from their records once per registry version (the registry hands out
        the same record objects while its file is unchanged)."""
        seen, places = self._remote
        if len(seen) != len(records) or any(a is not b for a, b in zip(seen, records, strict=True)):
            places = remote_places(records)
            self._remote = (records, places)
        return places

    async def _report(self) -> ModelAnswer:
        return ModelAnswer(
            places=await self._services.adapters.jobs.model_report(),
            defaults=DefaultRates(**DEFAULT_SECONDS_PER_UNIT),
            min_samples=self._min_samples,
        )

    async def model(self) -> ModelResponse:
        """What the model has learned, per place and model, with its accuracy (§10.6)."""
        return extending(ModelResponse, await self._report(), feature=self._services.feature())

    async def plan(self, body: dict[str, Any]) -> PlanResponse:
        """Every place ranked for the body's job (§10)."""
        request = parse_plan_request(body)
        services = self._services
        feature = services.feature()
        sample = services.sample
        policy = await services.current_policy(sample)
        await services.schedule.expire_leases()  # a job whose lease ended waits again, as every route sees it
        jobs = services.adapters.jobs
        rates, workload = await jobs.learned_rates(), await jobs.workload()
        providers = self._remote_places(await services.adapters.registry.records())
        unhealthy = services.unhealthy()
        places = Places(
            cpu_name=sample.cpu_name,
            gpus=tuple(sample.gpus),
            policy=policy,
            providers=providers,
            unhealthy=unhealthy,
            feature_enabled=feature.enabled,
        )
        if not feature.enabled:
            request = request.without_remote()
        now = self._clock()
        answer = plan(request, places, self._run_model(rates), workload, now)
        debug: PlanDebug | UnsetType = UNSET
        if request.debug:
            debug = PlanDebug(
                model=await self._report(),
                allow_remote=request.allow_remote,
                policy=PolicyView.of(policy),
                workload=workload,
                unhealthy=sorted(unhealthy),
                now=iso_utc(now),
            )
        return extending(PlanResponse, answer, feature=feature, debug=debug)
