"""GET ``/api/events``: the event stream (§11), Server-Sent Events with replay."""

from __future__ import annotations

from typing import Annotated

from litestar import get
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromQuery, HeaderParameter
from litestar.response import Stream

from computeadvisor.app.services import Services
from computeadvisor.domain.events import parse_stream_request

STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@get("/api/events", media_type="text/event-stream")
async def events(
    services: NamedDependency[Services],
    last_event_id: Annotated[str | None, HeaderParameter(name="Last-Event-ID")] = None,
    after: FromQuery[str | None] = None,
    types: FromQuery[str | None] = None,
    queue: FromQuery[str | None] = None,
) -> Stream:
    """Every job, provider and policy event as it happens; resume with ``Last-Event-ID`` or ``?after=``."""
    stream = parse_stream_request(last_event_id, {"after": after, "types": types, "queue": queue})
    subscriber = await services.events.subscribe(stream)  # the position is fixed before the headers go out
    return Stream(services.events.messages(subscriber), media_type="text/event-stream", headers=STREAM_HEADERS)


event_routes: list[HTTPRouteHandler] = [events]
