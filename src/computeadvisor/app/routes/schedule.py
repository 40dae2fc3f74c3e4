"""``/api/schedule/*``: health, state, board, jobs/{id}, and the job transitions (§5.7)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, FromQuery

from computeadvisor.app.body import json_object
from computeadvisor.app.security import TOKEN, require_token
from computeadvisor.app.services import Services
from computeadvisor.wire import (
    BoardResponse,
    ClaimResponse,
    EnqueueResponse,
    JobResponse,
    ScheduleHealth,
    StateResponse,
)

Req = Request[Any, Any, Any]
Svc = NamedDependency[Services]


@get("/api/schedule/health")
async def schedule_health(services: Svc) -> ScheduleHealth:
    """The scheduler answers, and its queue names."""
    return services.schedule.health()


@get("/api/schedule/state")
async def schedule_state(services: Svc, limit: FromQuery[str | None] = None) -> StateResponse:
    """Queued jobs per queue in claim order, running and finished jobs (``limit`` per section), and totals."""
    return await services.schedule.state(limit)


@get("/api/schedule/board")
async def schedule_board(services: Svc, limit: FromQuery[str | None] = None) -> BoardResponse:
    """Timeline segments: every running job and the ``limit`` most recently finished."""
    return await services.schedule.board(limit)


@get("/api/schedule/jobs/{job_id:str}")
async def schedule_job(services: Svc, job_id: FromPath[str]) -> JobResponse:
    """The full record of one job."""
    return await services.schedule.job(job_id)


@post("/api/schedule/enqueue", status_code=200, guards=[require_token], security=TOKEN)
async def enqueue(request: Req, services: Svc) -> EnqueueResponse:
    """Add a job (idempotent per id); durable when this answers 2xx."""
    return await services.schedule.enqueue(await json_object(request))


@post("/api/schedule/claim", status_code=200, guards=[require_token], security=TOKEN)
async def claim(request: Req, services: Svc) -> ClaimResponse:
    """Take the next job of a queue with a lease; ``job: null`` when the queue is empty."""
    return await services.schedule.claim(await json_object(request))


@post("/api/schedule/heartbeat", status_code=200, guards=[require_token], security=TOKEN)
async def heartbeat(request: Req, services: Svc) -> ClaimResponse:
    """Extend a running job's lease (same token)."""
    return await services.schedule.heartbeat(await json_object(request))


@post("/api/schedule/complete", status_code=200, guards=[require_token], security=TOKEN)
async def complete(request: Req, services: Svc) -> JobResponse:
    """Finish a running job, recording measurements and its cost."""
    return await services.schedule.complete(await json_object(request))


@post("/api/schedule/fail", status_code=200, guards=[require_token], security=TOKEN)
async def fail(request: Req, services: Svc) -> JobResponse:
    """Fail a running job."""
    return await services.schedule.fail(await json_object(request))


@post("/api/schedule/requeue", status_code=200, guards=[require_token], security=TOKEN)
async def requeue(request: Req, services: Svc) -> JobResponse:
    """Put a job back at the end of its priority band."""
    return await services.schedule.requeue(await json_object(request))


@post("/api/schedule/cancel", status_code=200, guards=[require_token], security=TOKEN)
async def cancel(request: Req, services: Svc) -> JobResponse:
    """Cancel a queued or running job."""
    return await services.schedule.cancel(await json_object(request))


schedule_routes: list[HTTPRouteHandler] = [
    schedule_health,
    schedule_state,
    schedule_board,
    schedule_job,
    enqueue,
    claim,
    heartbeat,
    complete,
    fail,
    requeue,
    cancel,
]
