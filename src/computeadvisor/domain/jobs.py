"""Scheduler values (§5): the job record, its public view, board segments, state pages and counts.

The state machine that changes these lives in :mod:`computeadvisor.domain.job_machine`; parsing request bodies in
:mod:`computeadvisor.domain.job_spec` and :mod:`computeadvisor.domain.job_requests`.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

import msgspec

from computeadvisor.domain.providers import ProviderRecord
from computeadvisor.domain.values import iso_utc

QUEUES = ("local", "remote")


class JobStatus(StrEnum):
    """Where a job is in its life (§5.3); encoded as its lower-case value."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})

DEFAULT_ATTEMPT_CAP = 3
DEFAULT_RETENTION = 10_000
DEFAULT_LEASE_SECONDS = 3600
LEASE_EXPIRED = "lease expired"


class PriceBook(msgspec.Struct, frozen=True):
    """The registry entries that price finished jobs (§4.4), as read once for one store operation.

    Stores receive it and apply the pure transitions of :mod:`job_machine`, which price the job; a store never
    looks a provider up itself. ``PriceBook()`` knows no provider: every job is priced with neutral defaults.
    """

    providers: tuple[ProviderRecord, ...] = ()

    def provider(self, provider_id: str | None) -> ProviderRecord | None:
        """The entry with exactly this id, or None."""
        if provider_id is None:
            return None
        return next((p for p in self.providers if p.id == provider_id), None)


def _iso_or_none(ts: float | None) -> str | None:
    return None if ts is None else iso_utc(ts)


class QueueDepths(msgspec.Struct, frozen=True, kw_only=True):
    """Queued jobs per queue."""

    local: int = 0
    remote: int = 0


class JobCounts(msgspec.Struct, frozen=True, kw_only=True):
    """Totals of the scheduler (§3.8 ``debug.scheduler``, §5.7 ``counts``).

    ``queues`` counts the queued jobs that are due; ``scheduled`` those whose ``run_at`` is still ahead (§15).
    """

    queues: QueueDepths = msgspec.field(default_factory=QueueDepths)
    active: int = 0
    completed: int = 0
    scheduled: QueueDepths = msgspec.field(default_factory=QueueDepths)


class Run(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One claim of a job (§5.2 ``runs``); ``error`` only on a run that failed and was retried (§15)."""

    attempt: int
    device_id: str | None
    worker_id: str | None
    started_at: str
    error: str | None = None
    outputs: tuple[str, ...] | None = None
    """The files the run wrote, as its completion named them (§15); absent when none were named."""


class Lease(msgspec.Struct, frozen=True, kw_only=True):
    """What a claimer holds (§5.5): the fencing token and when the lease ends (ISO-8601 UTC ``Z``)."""

    token: str
    expires_at: str


class JobCore(msgspec.Struct, frozen=True, kw_only=True):
    """Every field of the record except ``payload`` and ``meta`` (what views and board segments are made of).

    The ``*_at`` fields are always derived from the ``*_ts`` epoch seconds (any value given for them is replaced),
    so the two can never disagree.
    """

    id: str
    name: str
    queue: str
    priority: int
    sticky: bool
    sticky_device_id: str | None
    device_id: str | None
    provider_id: str | None
    status: JobStatus
    attempt: int
    runs: tuple[Run, ...]
    worker_id: str | None
    error: str | None
    created_ts: float
    created_at: str = ""
    updated_ts: float
    updated_at: str = ""
    started_ts: float | None
    started_at: str | None = None
    completed_ts: float | None
    completed_at: str | None = None
    duration_sec: float | None
    cost_estimate: float | None
    bytes_tx: int | None
    bytes_rx: int | None
    vram_gb: float | None
    lease_expires_at: str | None = None
    """When a running job's lease ends (§11), kept equal to the store's lease; null when not running."""
    run_at_ts: float | None = None
    run_at: str | None = None
    """When a queued job becomes claimable (§15: ``run_at``, ``delay_seconds`` or a retry's backoff); null: at once."""

    def __post_init__(self) -> None:
        setattr_ = msgspec.structs.force_setattr
        setattr_(self, "run_at", _iso_or_none(self.run_at_ts))
        setattr_(self, "created_at", iso_utc(self.created_ts))
        setattr_(self, "updated_at", iso_utc(self.updated_ts))
        setattr_(self, "started_at", _iso_or_none(self.started_ts))
        setattr_(self, "completed_at", _iso_or_none(self.completed_ts))


class Job(JobCore, frozen=True, kw_only=True):
    """The full job record (§5.2): every key always present, null when unset, never a lease token."""

    payload: dict[str, Any]
    meta: dict[str, Any]


class JobView(msgspec.Struct, frozen=True, kw_only=True):
    """The public view of a job (§5.2, §11): exactly these 21 keys, in this order."""

    id: str
    name: str
    queue: str
    priority: int
    status: JobStatus
    sticky: bool
    device_id: str | None
    sticky_device_id: str | None
    provider_id: str | None
    created_at: str
    started_at: str | None
    updated_at: str
    completed_at: str | None
    duration_sec: float | None
    bytes_tx: int | None
    bytes_rx: int | None
    vram_gb: float | None
    cost_estimate: float | None
    attempt: int
    runs: tuple[Run, ...]
    lease_expires_at: str | None


class BoardSegment(msgspec.Struct, frozen=True, kw_only=True):
    """One bar of the board (§5.7): exactly 14 keys; ``start``/``end`` are epoch seconds."""

    id: str
    name: str
    queue: str
    status: JobStatus
    priority: int
    provider_id: str | None
    cost_estimate: float | None
    bytes_tx: int | None
    bytes_rx: int | None
    vram_gb: float | None
    device: str | None
    start: float
    end: float
    duration_sec: float | None


class QueueViews(msgspec.Struct, frozen=True, kw_only=True):
    """Queued jobs of each queue, in claim order."""

    local: list[JobView] = msgspec.field(default_factory=list)
    remote: list[JobView] = msgspec.field(default_factory=list)


class StatePage(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /api/schedule/state`` without ``feature`` (§5.7); each list holds at most ``limit`` items."""

    queues: QueueViews
    active: list[JobView]
    completed: list[JobView]
    counts: JobCounts


class Board(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /api/schedule/board`` without ``feature`` (§5.7)."""

    jobs: list[BoardSegment]
    generated_at: str


class Claimed(msgspec.Struct, frozen=True, kw_only=True):
    """A claimed (or heartbeated) job and its lease."""

    job: Job
    lease: Lease


def public_view(job: JobCore) -> JobView:
    """The 21-key public view of a job (§5.2, §11)."""
    return JobView(
        id=job.id,
        name=job.name,
        queue=job.queue,
        priority=job.priority,
        status=job.status,
        sticky=job.sticky,
        device_id=job.device_id,
        sticky_device_id=job.sticky_device_id,
        provider_id=job.provider_id,
        created_at=job.created_at,
        started_at=job.started_at,
        updated_at=job.updated_at,
        completed_at=job.completed_at,
        duration_sec=job.duration_sec,
        bytes_tx=job.bytes_tx,
        bytes_rx=job.bytes_rx,
        vram_gb=job.vram_gb,
        cost_estimate=job.cost_estimate,
        attempt=job.attempt,
        runs=job.runs,
        lease_expires_at=job.lease_expires_at,
    )


def board_segment(job: JobCore, now: float) -> BoardSegment:
    """A job as a board bar at ``now`` (epoch seconds): start, end (never below start) and duration (§5.7)."""
    start = job.started_ts if job.started_ts is not None else job.created_ts
    end = max(start, job.completed_ts if job.completed_ts is not None else now)
    return BoardSegment(
        id=job.id,
        name=job.name,
        queue=job.queue,
        status=job.status,
        priority=job.priority,
        provider_id=job.provider_id,
        cost_estimate=job.cost_estimate,
        bytes_tx=job.bytes_tx,
        bytes_rx=job.bytes_rx,
        vram_gb=job.vram_gb,
        device=job.device_id or job.sticky_device_id,
        start=start,
        end=end,
        duration_sec=job.duration_sec if job.duration_sec else end - start,
    )


def build_board(jobs: Iterable[JobCore], now: float) -> Board:
    """Board segments sorted by (queue, start), ties by id; ``jobs`` must hold each job once."""
    segments = sorted((board_segment(job, now) for job in jobs), key=lambda s: (s.queue, s.start, s.id))
    return Board(jobs=segments, generated_at=iso_utc(now))
