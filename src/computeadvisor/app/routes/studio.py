"""The ComfyVN Studio's provider and GPU routes (§16): thin handlers over ``Services.studio``."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any

from litestar import Request, delete, get, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, FromQuery, QueryParameter

from computeadvisor.app.body import json_object
from computeadvisor.app.security import TOKEN, TOKEN_FOR_DEBUG, check_token, require_token
from computeadvisor.app.services import Services
from computeadvisor.domain.values import is_on
from computeadvisor.wire import (
    GpuAdvised,
    GpuSelected,
    LegacyHealthAll,
    LegacyHealthOne,
    LegacyProviderList,
    LegacyProviderRemoved,
    LegacyProviders,
    LegacyProviderSaved,
    ProvidersExported,
    ProvidersImported,
)

Req = Request[Any, Any, Any]
Svc = NamedDependency[Services]
IncludeSecrets = Annotated[
    str | None, QueryParameter(description="on/off (§0.4): real secret values, for a loopback peer and the token")
]


def loopback(request: Req) -> bool:
    """Whether the TCP peer is loopback (``127.0.0.0/8``, ``::1``); an unknown peer is not (**changed**, §16.8)."""
    host = request.client.host if request.client else None
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@get("/api/providers/list")
async def providers_list(services: Svc) -> LegacyProviderList:
    """Every provider as the Studio sees it, in preference order, and the twelve templates."""
    return await services.studio.listing()


@post("/api/providers/register", status_code=200, guards=[require_token], security=TOKEN)
async def providers_register(request: Req, services: Svc) -> LegacyProviderSaved:
    """Insert or update a provider; omitted fields are kept."""
    return await services.studio.register(await json_object(request))


@post("/api/providers/create", status_code=200, guards=[require_token], security=TOKEN)
async def providers_create(request: Req, services: Svc) -> LegacyProviderSaved:
    """A new provider from a template."""
    return await services.studio.create(await json_object(request))


@post("/api/providers/activate", status_code=200, guards=[require_token], security=TOKEN)
async def providers_activate(request: Req, services: Svc) -> LegacyProviderSaved:
    """Turn a provider on or off for the advisor and the planner."""
    return await services.studio.activate(await json_object(request))


@post("/api/providers/order", status_code=200, guards=[require_token], security=TOKEN)
async def providers_order(request: Req, services: Svc) -> LegacyProviders:
    """Set the preference order: each listed id gets its index as priority."""
    return await services.studio.order(await json_object(request))


@delete("/api/providers/remove/{provider_id:str}", status_code=200, guards=[require_token], security=TOKEN)
async def providers_remove(provider_id: FromPath[str], services: Svc) -> LegacyProviderRemoved:
    """Remove a provider."""
    return await services.studio.remove(provider_id)


@post("/api/providers/health", status_code=200, guards=[require_token], security=TOKEN)
async def providers_probe(request: Req, services: Svc) -> LegacyHealthOne | LegacyHealthAll:
    """Probe one provider (``{"id": …}``) or every active one; secrets never leave for a probe."""
    return await services.studio.health(await json_object(request))


@get("/api/providers/export", security=TOKEN_FOR_DEBUG)
async def providers_export(
    request: Req, services: Svc, include_secrets: FromQuery[IncludeSecrets] = None
) -> ProvidersExported:
    """The registry as a file to import elsewhere; secrets left out unless asked for from loopback."""
    secrets = is_on(include_secrets)
    if secrets:
        check_token(request)
    return await services.studio.export(include_secrets=secrets, loopback_peer=loopback(request))


@post("/api/providers/import", status_code=200, guards=[require_token], security=TOKEN)
async def providers_import(request: Req, services: Svc) -> ProvidersImported:
    """Register every entry of an export (or a v1 registry file), in one write."""
    return await services.studio.import_(await json_object(request))


@post("/api/gpu/select", status_code=200)
async def gpu_select(request: Req, services: Svc) -> GpuSelected:
    """The device a job should use now, by the GPU policy."""
    return await services.studio.select(await json_object(request))


@post("/api/gpu/advise", status_code=200)
async def gpu_advise(request: Req, services: Svc) -> GpuAdvised:
    """Local GPU, remote provider or CPU for a Studio workload, with ComfyVN's reasons."""
    return await services.studio.advise(await json_object(request))


studio_routes: list[HTTPRouteHandler] = [
    providers_list,
    providers_register,
    providers_create,
    providers_activate,
    providers_order,
    providers_remove,
    providers_probe,
    providers_export,
    providers_import,
    gpu_select,
    gpu_advise,
]
