"""GET/POST ``/api/providers`` and DELETE ``/api/providers/{provider_id}`` (§2.2-§2.4)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, delete, get, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, FromQuery, QueryParameter

from computeadvisor.app.body import json_object
from computeadvisor.app.security import TOKEN, TOKEN_FOR_DEBUG, require_token
from computeadvisor.app.services import Services
from computeadvisor.domain.values import is_on
from computeadvisor.wire import (
    HealthAll,
    HealthOne,
    ProviderDeleted,
    ProviderSaved,
    ProvidersResponse,
    Unsupported,
)


@get("/api/providers", security=TOKEN_FOR_DEBUG)
async def list_providers(services: NamedDependency[Services], debug: FromQuery[str | None] = None) -> ProvidersResponse:
    """The registry in insertion order, secrets masked; ``?debug=1`` adds stats."""
    return await services.list_providers(debug=is_on(debug))


@post("/api/providers", status_code=200, guards=[require_token], security=TOKEN)
async def save_provider(request: Request[Any, Any, Any], services: NamedDependency[Services]) -> ProviderSaved:
    """Insert or replace a provider record; durable when this answers 2xx."""
    return await services.save_provider(await json_object(request))


@delete("/api/providers/{provider_id:str}", status_code=200, guards=[require_token], security=TOKEN)
async def delete_provider(
    provider_id: FromPath[str], services: NamedDependency[Services], debug: FromQuery[str | None] = None
) -> ProviderDeleted:
    """Remove a provider; 404 ``provider not found`` for an unknown id."""
    return await services.delete_provider(provider_id, debug=is_on(debug))


ProviderIdQuery = Annotated[str | None, QueryParameter(name="id", description="A provider id.")]


@get("/api/providers/health", guards=[require_token], security=TOKEN)
async def provider_health(
    services: NamedDependency[Services], provider_id: ProviderIdQuery = None
) -> HealthOne | HealthAll:
    """Probe one provider (``?id=``) or all of them; a stored URL never reaches link-local or metadata addresses."""
    return await services.provider_health(provider_id)


@get("/api/providers/quota", guards=[require_token], security=TOKEN)
async def provider_quota(services: NamedDependency[Services], provider_id: ProviderIdQuery = None) -> Unsupported:
    """No vendor adapters in v1: ``unsupported`` for every provider."""
    return await services.provider_unsupported(provider_id)


@get("/api/providers/templates", guards=[require_token], security=TOKEN)
async def provider_templates(services: NamedDependency[Services], provider_id: ProviderIdQuery = None) -> Unsupported:
    """No vendor adapters in v1: ``unsupported`` for every provider."""
    return await services.provider_unsupported(provider_id)


provider_routes: list[HTTPRouteHandler] = [
    list_providers,
    save_provider,
    delete_provider,
    provider_health,
    provider_quota,
    provider_templates,
]
