"""``/api/compute/*``: advise and costs (§3, §4), the planner and its model (§10)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler

from computeadvisor.app.body import json_object
from computeadvisor.app.security import TOKEN_FOR_DEBUG, require_token_for_debug_body
from computeadvisor.app.services import Services
from computeadvisor.domain.values import debug_from_body
from computeadvisor.wire import AdviseResponse, CostsResponse, ModelResponse, PlanResponse


@post("/api/compute/advise", status_code=200, security=TOKEN_FOR_DEBUG)
async def advise(request: Request[Any, Any, Any], services: NamedDependency[Services]) -> AdviseResponse:
    """Where a job should run (cpu, gpu or remote) and why."""
    body = await json_object(request)
    require_token_for_debug_body(request, debug_from_body(body))
    return await services.advise(body)


@post("/api/compute/costs", status_code=200, security=TOKEN_FOR_DEBUG)
async def costs(request: Request[Any, Any, Any], services: NamedDependency[Services]) -> CostsResponse:
    """What a job would cost on a provider; never bills."""
    body = await json_object(request)
    require_token_for_debug_body(request, debug_from_body(body))
    return await services.costs(body)


@post("/api/compute/plan", status_code=200, security=TOKEN_FOR_DEBUG)
async def plan(request: Request[Any, Any, Any], services: NamedDependency[Services]) -> PlanResponse:
    """Every place the job could run, ranked by a learned ETA and its cost, with a recommendation."""
    body = await json_object(request)
    require_token_for_debug_body(request, debug_from_body(body))
    return await services.planner.plan(body)


@get("/api/compute/model")
async def model(services: NamedDependency[Services]) -> ModelResponse:
    """What the planner's run-time model has learned, per place and model, and how accurate it has been."""
    return await services.planner.model()


compute_routes: list[HTTPRouteHandler] = [advise, costs, plan, model]
