"""POST ``/api/compute/advise`` and ``/api/compute/costs`` (§3, §4)."""

from __future__ import annotations

from typing import Any

from litestar import Request, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler

from computeadvisor.app.body import json_object
from computeadvisor.app.schemas import AdviseResponse, CostsResponse
from computeadvisor.app.services import Services


@post("/api/compute/advise", status_code=200)
async def advise(request: Request[Any, Any, Any], services: NamedDependency[Services]) -> AdviseResponse:
    """Where a job should run (cpu, gpu or remote) and why."""
    return await services.advise(await json_object(request))


@post("/api/compute/costs", status_code=200)
async def costs(request: Request[Any, Any, Any], services: NamedDependency[Services]) -> CostsResponse:
    """What a job would cost on a provider; never bills."""
    return await services.costs(await json_object(request))


compute_routes: list[HTTPRouteHandler] = [advise, costs]
