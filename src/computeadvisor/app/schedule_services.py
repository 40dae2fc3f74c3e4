"""Scheduler use cases (§5.7): parse with the domain, expire leases, call the JobStore, shape responses."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from computeadvisor.app.feature import current_feature
from computeadvisor.app.metrics import Metrics
from computeadvisor.domain import job_requests as requests
from computeadvisor.domain.job_spec import parse_enqueue
from computeadvisor.domain.jobs import QUEUES, Job, JobCounts, JobStatus, PriceBook, QueueDepths
from computeadvisor.ports.feature_flags import FeatureFlags
from computeadvisor.ports.job_store import JobStore
from computeadvisor.ports.provider_registry import ProviderRegistry
from computeadvisor.wire import (
    BoardResponse,
    ClaimResponse,
    EnqueueResponse,
    Feature,
    JobResponse,
    ScheduleHealth,
    StateResponse,
    extending,
)


def _nothing() -> None:
    return None


class Arrivals:
    """Where waiting claims wait: woken at once when this process made a job claimable, and every ``poll_s`` to
    look again for what another process (a replica on the same database) enqueued."""

    def __init__(self, poll_s: float) -> None:
        self._poll_s = poll_s
        self._event = asyncio.Event()

    def notify(self) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def wait(self, timeout_s: float) -> None:
        """Until notified, ``poll_s`` passed, or ``timeout_s`` passed, whichever is first."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(min(timeout_s, self._poll_s)):
                await self._event.wait()


DUE_POLL_S = 1.0
"""How often a waiting claim looks again while its queue holds jobs not yet due (§15 ``run_at``)."""


class ScheduleService:
    """Every scheduler operation first processes expired leases (§5.5), so no route sees a stale running job."""

    def __init__(
        self,
        jobs: JobStore,
        registry: ProviderRegistry,
        flags: FeatureFlags,
        metrics: Metrics,
        notify: Callable[[], None] = _nothing,
        poll_s: float = 1.0,
    ) -> None:
        self._jobs = jobs
        self._registry = registry
        self._flags = flags
        self._metrics = metrics  # every transition made here is counted (§13)
        self._notify = notify  # after a write: its events are in the log (§11)
        self._arrivals = Arrivals(poll_s)

    def _changed(self, job: Job) -> Job:
        """After a transition: count it, wake the streams, and the waiting claims when a job became claimable."""
        self._metrics.transition(job)
        self._notify()
        if job.status == JobStatus.QUEUED:
            self._arrivals.notify()
        return job

    def _feature(self) -> Feature:
        return current_feature(self._flags)

    async def _prices(self) -> PriceBook:
        """The registry as it is now: what prices a job that finishes in this operation."""
        return PriceBook(tuple(await self._registry.records()))

    async def expire_leases(self) -> None:
        """Requeue (or fail at the attempt cap) every running job whose lease has ended."""
        # The common case reads neither the store nor the registry.
        if await self._jobs.leases_expired() and (expired := await self._jobs.expire_leases(await self._prices())):
            for job in expired:
                self._metrics.lease_expired(job)
            self._notify()
            if any(job.status == JobStatus.QUEUED for job in expired):  # requeued: claimable again
                self._arrivals.notify()

    async def counts(self) -> JobCounts:
        """Queue depths and totals after expiry (what the advisor reads)."""
        await self.expire_leases()
        return await self._jobs.counts()

    async def running(self) -> QueueDepths:
        """Running jobs per queue after expiry (what the metrics read)."""
        await self.expire_leases()
        return await self._jobs.running()

    def health(self) -> ScheduleHealth:
        return ScheduleHealth(ok=True, queues=list(QUEUES), feature=self._feature())

    async def state(self, limit: str | None) -> StateResponse:
        size = requests.parse_limit(limit, requests.STATE_LIMIT_DEFAULT)
        await self.expire_leases()
        return extending(StateResponse, await self._jobs.state(size), feature=self._feature())

    async def board(self, limit: str | None) -> BoardResponse:
        size = requests.parse_limit(limit, requests.BOARD_LIMIT_DEFAULT)
        await self.expire_leases()
        return extending(BoardResponse, await self._jobs.board(size), feature=self._feature())

    async def job(self, job_id: str) -> JobResponse:
        await self.expire_leases()
        return JobResponse(ok=True, job=await self._jobs.get(job_id), feature=self._feature())

    async def enqueue(self, body: dict[str, Any]) -> EnqueueResponse:
        spec = parse_enqueue(body)
        await self.expire_leases()
        job, created = await self._jobs.enqueue(spec)
        if created:
            self._changed(job)
        return EnqueueResponse(ok=True, job=job, created=created, feature=self._feature())

    async def claim(self, body: dict[str, Any]) -> ClaimResponse:
        """Take the next job; with ``wait_seconds``, an empty queue keeps the claim waiting for one (§14)."""
        request = requests.parse_claim(body)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + request.wait_seconds
        while True:
            await self.expire_leases()
            claimed = await self._jobs.claim(request)
            left = deadline - loop.time()
            if claimed is not None or left <= 0:
                break
            # A scheduled job falling due is no arrival: while the queue holds some, look again every second.
            scheduled = getattr((await self._jobs.counts()).scheduled, request.queue)
            await self._arrivals.wait(min(left, DUE_POLL_S) if scheduled else left)
        if claimed is None:
            return ClaimResponse(ok=True, job=None, lease=None, feature=self._feature())
        self._changed(claimed.job)
        return ClaimResponse(ok=True, job=claimed.job, lease=claimed.lease, feature=self._feature())

    async def heartbeat(self, body: dict[str, Any]) -> ClaimResponse:
        request = requests.parse_heartbeat(body)
        await self.expire_leases()
        claimed = await self._jobs.heartbeat(request)
        return ClaimResponse(ok=True, job=claimed.job, lease=claimed.lease, feature=self._feature())

    async def complete(self, body: dict[str, Any]) -> JobResponse:
        request = requests.parse_complete(body)
        await self.expire_leases()
        job = self._changed(await self._jobs.complete(request, await self._prices()))
        return JobResponse(ok=True, job=job, feature=self._feature())

    async def fail(self, body: dict[str, Any]) -> JobResponse:
        request = requests.parse_fail(body)
        await self.expire_leases()
        job = self._changed(await self._jobs.fail(request, await self._prices()))
        return JobResponse(ok=True, job=job, feature=self._feature())

    async def requeue(self, body: dict[str, Any]) -> JobResponse:
        request = requests.parse_requeue(body)
        await self.expire_leases()
        job, moved = await self._jobs.requeue(request)
        if moved:
            self._changed(job)
        return JobResponse(ok=True, job=job, feature=self._feature())

    async def cancel(self, body: dict[str, Any]) -> JobResponse:
        job_id = requests.parse_job_id(body)
        await self.expire_leases()
        job = self._changed(await self._jobs.cancel(job_id))
        return JobResponse(ok=True, job=job, feature=self._feature())
