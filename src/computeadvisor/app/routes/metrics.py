"""GET ``/metrics``: the Prometheus exposition (§13), open without a token."""

from __future__ import annotations

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler

from computeadvisor.app.metrics import CONTENT_TYPE
from computeadvisor.app.services import Services


@get("/metrics", media_type=CONTENT_TYPE)
async def metrics(services: NamedDependency[Services]) -> Response[bytes]:
    """Request, job and lease counters of this process; queue, provider and GPU gauges read at scrape time."""
    return Response(await services.metrics_text(), media_type=CONTENT_TYPE)


metric_routes: list[HTTPRouteHandler] = [metrics]
