"""GET ``/api/gpu/list`` and GET/PUT/POST ``/api/gpu/policy`` (§1)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post, put
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromQuery

from computeadvisor.app.body import json_object
from computeadvisor.app.security import TOKEN, TOKEN_FOR_DEBUG, require_token
from computeadvisor.app.services import Services
from computeadvisor.domain.values import is_on
from computeadvisor.wire import GpuListResponse, PolicyResponse, PolicySaved


@get("/api/gpu/list", security=TOKEN_FOR_DEBUG)
async def gpu_list(services: NamedDependency[Services], debug: FromQuery[str | None] = None) -> GpuListResponse:
    """The CPU and every NVIDIA GPU from the latest background sample; never probes hardware itself."""
    return await services.gpu_list(debug=is_on(debug))


@get("/api/gpu/policy")
async def gpu_policy(services: NamedDependency[Services]) -> PolicyResponse:
    """The shared GPU policy snapshot and the valid modes."""
    return await services.gpu_policy()


async def _save(request: Request[Any, Any, Any], services: Services) -> PolicySaved:
    return await services.save_gpu_policy(await json_object(request))


@put("/api/gpu/policy", guards=[require_token], security=TOKEN)
async def put_gpu_policy(request: Request[Any, Any, Any], services: NamedDependency[Services]) -> PolicySaved:
    """Change the policy; omitted fields keep their stored values. Both stored copies are on disk at 2xx."""
    return await _save(request, services)


@post("/api/gpu/policy", status_code=200, guards=[require_token], security=TOKEN)
async def post_gpu_policy(request: Request[Any, Any, Any], services: NamedDependency[Services]) -> PolicySaved:
    """Alias of PUT ``/api/gpu/policy``."""
    return await _save(request, services)


gpu_routes: list[HTTPRouteHandler] = [gpu_list, gpu_policy, put_gpu_policy, post_gpu_policy]
