"""``create_app``: where the adapters meet Litestar."""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import anyio
import anyio.to_thread
from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin

from computeadvisor import __version__
from computeadvisor.adapters._watch import FileSignatures, watched_signatures
from computeadvisor.app.background import repeat
from computeadvisor.app.bootstrap import build_adapters
from computeadvisor.app.errors import domain_error_handler, http_error_handler, unexpected_error_handler
from computeadvisor.app.openapi import CompletedJsonRenderPlugin
from computeadvisor.app.routes import compute_routes, gpu_routes, provider_routes, schedule_routes
from computeadvisor.app.sampler import take_sample
from computeadvisor.app.security import AUTH_STATE_KEY, debug_query_token_middleware
from computeadvisor.app.services import Adapters, Services
from computeadvisor.config import Config, load_config
from computeadvisor.domain.errors import ComputeAdvisorError

log = logging.getLogger("computeadvisor")
LEASE_EXPIRY_INTERVAL_S = 1.0


def create_app(config: Config | None = None, adapters: Adapters | None = None) -> Litestar:
    """Build the ASGI app; tests pass in-memory ``adapters``, the CLI passes a ``config``."""
    config = config or load_config()
    signatures: FileSignatures | None = None
    if adapters is None:
        # One inotify instance tells every file-backed adapter what changed (instead of eight stat calls a request).
        signatures = watched_signatures()
        adapters = build_adapters(config, signatures)
    services = Services(adapters)

    sample = functools.partial(take_sample, services.adapters.metrics, services.publish_sample)

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        adapters = services.adapters
        async with AsyncExitStack() as opened:
            if signatures is not None:
                opened.callback(signatures.close)
            # Each adapter is closed only if it was opened, and always: a start that fails half-way must not
            # leave a database thread behind that keeps the process alive without serving.
            await anyio.to_thread.run_sync(adapters.metrics.open)
            opened.push_async_callback(anyio.to_thread.run_sync, adapters.metrics.close)
            for adapter in (adapters.settings, adapters.health, adapters.jobs):
                await adapter.open()
                opened.push_async_callback(adapter.close)
            await adapters.registry.open()
            await sample()  # the first sample exists before the server accepts requests
            for warning in await services.seed_providers():
                log.warning("provider seed: %s", warning)
            async with anyio.create_task_group() as background:
                background.start_soon(repeat, config.sampler_interval, sample, "hardware sample")
                background.start_soon(repeat, LEASE_EXPIRY_INTERVAL_S, services.schedule.expire_leases, "lease expiry")
                yield
                background.cancel_scope.cancel()

    def provide_services() -> Services:
        return services

    return Litestar(
        route_handlers=[*gpu_routes, *provider_routes, *compute_routes, *schedule_routes],
        dependencies={"services": Provide(provide_services, sync_to_thread=False, use_cache=True)},
        exception_handlers={
            ComputeAdvisorError: domain_error_handler,
            HTTPException: http_error_handler,
            Exception: unexpected_error_handler,
        },
        request_max_body_size=config.max_body_bytes,
        middleware=[debug_query_token_middleware],
        state=State({"services": services, AUTH_STATE_KEY: config.token}),
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(
            title="computeadvisor",
            version=__version__,
            render_plugins=[CompletedJsonRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
        ),
        debug=False,
    )
