"""``create_app``: where the adapters meet Litestar."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin

from computeadvisor import __version__
from computeadvisor.app.background import repeat
from computeadvisor.app.bootstrap import build_adapters, build_services, opened
from computeadvisor.app.errors import exception_handlers
from computeadvisor.app.metrics import http_metrics
from computeadvisor.app.openapi import CompletedJsonRenderPlugin
from computeadvisor.app.options import allow_all_methods_middleware
from computeadvisor.app.routes import (
    compute_routes,
    event_routes,
    gpu_routes,
    metric_routes,
    provider_routes,
    schedule_routes,
    studio_routes,
    ui_routes,
)
from computeadvisor.app.sampler import take_sample
from computeadvisor.app.security import AUTH_STATE_KEY, debug_query_token_middleware
from computeadvisor.app.services import Adapters, Services
from computeadvisor.config import Config, load_config

log = logging.getLogger("computeadvisor")
LEASE_EXPIRY_INTERVAL_S = 1.0
EVENTS_STATE_KEY = "events"
"""Where the app keeps its EventHub, for the server to end the streams before it stops (``cli/server.py``)."""


def create_app(config: Config | None = None, adapters: Adapters | None = None) -> Litestar:
    """Build the ASGI app; tests pass in-memory ``adapters``, the CLI passes a ``config``."""
    config = config or load_config()
    services = build_services(adapters if adapters is not None else build_adapters(config), config)
    sample = functools.partial(take_sample, services.adapters.metrics, services.publish_sample)

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        async with opened(*services.adapters.in_opening_order()):
            await sample()  # the first sample exists before the server accepts requests
            for warning in await services.seed_providers():
                log.warning("provider seed: %s", warning)
            await services.events.start()
            async with asyncio.TaskGroup() as background:
                tasks = [
                    background.create_task(services.events.run()),
                    background.create_task(repeat(config.sampler_interval, sample, "hardware sample")),
                    background.create_task(
                        repeat(LEASE_EXPIRY_INTERVAL_S, services.schedule.expire_leases, "lease expiry")
                    ),
                ]
                yield
                services.events.close()
                for task in tasks:
                    task.cancel()

    def provide_services() -> Services:
        return services

    app = Litestar(
        route_handlers=[
            *gpu_routes,
            *studio_routes,
            *provider_routes,
            *compute_routes,
            *schedule_routes,
            *event_routes,
            *metric_routes,
            *ui_routes,
        ],
        dependencies={"services": Provide(provide_services, sync_to_thread=False, use_cache=True)},
        exception_handlers=exception_handlers(services.feature),
        request_max_body_size=config.max_body_bytes,
        middleware=[allow_all_methods_middleware, debug_query_token_middleware],
        state=State({AUTH_STATE_KEY: config.token, EVENTS_STATE_KEY: services.events}),
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(
            title="computeadvisor",
            version=__version__,
            render_plugins=[
                CompletedJsonRenderPlugin(lambda: [gpu.id for gpu in services.sample.gpus]),
                SwaggerRenderPlugin(path="/swagger"),
            ],
        ),
        debug=False,
    )
    # Around routing, so that requests no route matches are counted too (§13); Litestar's own middleware runs only
    # once a route has matched. Litestar's OpenTelemetry plugin wraps this same handler.
    app.asgi_handler = http_metrics(app.asgi_handler, services.metrics)
    return app
