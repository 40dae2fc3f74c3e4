"""The planner's use cases (§10): gather the places, the learned rates and the queues' totals, then rank."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from msgspec import UNSET, UnsetType

from computeadvisor.app.schemas import (
    DefaultRates,
    ModelAnswer,
    ModelResponse,
    PlanDebug,
    PlanResponse,
    PolicyView,
    extending,
)
from computeadvisor.domain.placement import Places, plan, remote_places
from computeadvisor.domain.plan_request import parse_plan_request
from computeadvisor.domain.runtime_model import DEFAULT_SECONDS_PER_UNIT, RunModel
from computeadvisor.domain.values import iso_utc

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

    async def _model(self) -> ModelAnswer:
        return ModelAnswer(
            places=await self._services.adapters.jobs.model_report(),
            defaults=DefaultRates(**DEFAULT_SECONDS_PER_UNIT),
            min_samples=self._min_samples,
        )

    async def model(self) -> ModelResponse:
        """What the model has learned, per place and model, with its accuracy (§10.6)."""
        return extending(ModelResponse, await self._model(), feature=self._services.feature())

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
        providers = remote_places(await services.adapters.registry.records())
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
        answer = plan(request, places, RunModel(rates, min_samples=self._min_samples), workload, now)
        debug: PlanDebug | UnsetType = UNSET
        if request.debug:
            debug = PlanDebug(
                model=await self._model(),
                allow_remote=request.allow_remote,
                policy=PolicyView.of(policy),
                workload=workload,
                unhealthy=sorted(unhealthy),
                now=iso_utc(now),
            )
        return extending(PlanResponse, answer, feature=feature, debug=debug)
