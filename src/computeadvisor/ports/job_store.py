"""JobStore: the scheduler's durable queues (§5), in domain terms so that any database can sit behind it.

Adapters take their clock, attempt cap (default 3), retention (default 10,000 finished jobs) and the run-time
model's ``min_samples`` (default 5) as constructor values. Every transition is the pure function of
:mod:`computeadvisor.domain.job_machine` of the same name.
"""

from __future__ import annotations

from typing import Protocol

from computeadvisor.domain.job_requests import (
    ClaimRequest,
    CompleteRequest,
    FailRequest,
    HeartbeatRequest,
    RequeueRequest,
)
from computeadvisor.domain.job_spec import JobSpec
from computeadvisor.domain.jobs import Board, Claimed, Job, JobCounts, PriceBook, QueueDepths, StatePage
from computeadvisor.ports.event_log import EventLog
from computeadvisor.ports.lifecycle import Lifecycle
from computeadvisor.ports.run_history import RunHistory


class JobStore(RunHistory, EventLog, Lifecycle, Protocol):
    """The scheduler's store of jobs. Every mutation is atomic and durable when it returns (§5.9).

    A job that completes ``succeeded`` teaches the run-time model in the same transaction (:class:`RunHistory`,
    learning with the store's ``min_samples``), so a completion shows in the very next plan. Every transition
    (enqueue of a new job, claim, complete, fail, requeue of a job that was not queued, cancel, lease expiry) writes
    its ``job`` event (:func:`computeadvisor.domain.events.job_event`) in the same transaction (:class:`EventLog`).

    Callers run :meth:`expire_leases` (when :meth:`leases_expired`) before any scheduler operation and before
    counting queues (§5.5); the other methods do not expire leases themselves. A store only records: the
    transitions of ``job_machine`` price finished jobs from the :class:`PriceBook` the caller read from the
    registry.
    """

    async def enqueue(self, spec: JobSpec) -> tuple[Job, bool]:
        """Add a queued job, idempotently per id (§5.6).

        Args:
            spec: the normalized spec (``parse_enqueue``).

        Returns:
            (the job as it is now, True) for a new job; (the existing job as it is now, False) when a job with this
            id exists and was first enqueued with an equal spec.

        Raises:
            Conflict: a job with this id exists with a different spec (the detail names the id).
            StorageError: the store could not be written.
        """
        ...

    async def claim(self, request: ClaimRequest) -> Claimed | None:
        """Atomically take the next queued job of ``request.queue``: highest priority, FIFO among equals (§5.4).

        Args:
            request: queue, worker, device and lease duration in seconds.

        Returns:
            The running job (attempt + 1, one more run, devices per §5.4) and its new lease; None when the
            queue has no queued job. Two concurrent claims never return the same job.

        Raises:
            StorageError: the store could not be written.
        """
        ...

    async def heartbeat(self, request: HeartbeatRequest) -> Claimed:
        """Extend a running job's lease to now + ``lease_seconds`` (else the claim's duration), same token.

        Returns:
            The job and its extended lease.

        Raises:
            NotFound: no job has this id (detail ``job 'X' not found``).
            Conflict: the job is not running, or ``lease_token`` is given and is not the current one.
            StorageError: the store could not be written.
        """
        ...

    async def complete(self, request: CompleteRequest, prices: PriceBook) -> Job:
        """Finish a running job as succeeded, failed or cancelled, recording measurements and cost (§5.7).

        Args:
            request: the parsed complete body.
            prices: the registry entries that price the job when ``request.cost_estimate`` is None.

        Returns:
            The finished job.

        Raises:
            NotFound: no job has this id.
            Conflict: the job is not running, or ``lease_token`` is stale; a second complete is always a Conflict.
            StorageError: the store could not be written.
        """
        ...

    async def fail(self, request: FailRequest, prices: PriceBook) -> Job:
        """Fail a running job with ``request.error``; duration is now - started (seconds), cost computed (§5.7).

        Raises:
            NotFound: no job has this id.
            Conflict: the job is not running, or ``lease_token`` is stale.
            StorageError: the store could not be written.
        """
        ...

    async def requeue(self, request: RequeueRequest) -> tuple[Job, bool]:
        """Put a running or finished job back at the end of its priority band, dropping its lease (§5.7).

        Returns:
            The queued job, and whether it moved (False: it was already queued and comes back unchanged, which is
            no transition: no event, nothing counted).

        Raises:
            NotFound: no job has this id.
            StorageError: the store could not be written.
        """
        ...

    async def cancel(self, job_id: str) -> Job:
        """Cancel a queued or running job, dropping its lease.

        Raises:
            NotFound: no job has this id.
            Conflict: the job is already finished.
            StorageError: the store could not be written.
        """
        ...

    async def get(self, job_id: str) -> Job:
        """The full record of one job.

        Raises:
            NotFound: no job has this id (detail ``job 'X' not found``).
        """
        ...

    async def state(self, limit: int) -> StatePage:
        """Bounded slices of the queues (§5.7 ``state``), read as one consistent snapshot.

        Args:
            limit: the most items per section (1..1000).

        Returns:
            Queued jobs per queue in claim order, running jobs oldest ``started_ts`` first, finished jobs newest
            ``completed_ts`` first, and the totals regardless of ``limit``.
        """
        ...

    async def board(self, limit: int) -> Board:
        """Every running job plus the ``limit`` most recently finished, as board segments at now (§5.7).

        Returns:
            Segments sorted by (queue, start) and the ISO time they were generated at.
        """
        ...

    async def counts(self) -> JobCounts:
        """Queued jobs per queue, running jobs and retained finished jobs, without reading the jobs themselves.

        Returns:
            The totals, regardless of any page size.
        """
        ...

    async def running(self) -> QueueDepths:
        """Running jobs per queue (§13 ``computeadvisor_jobs_running``), from the store, so that every replica and a
        restarted service report the same.

        Returns:
            The number of running jobs of each queue.
        """
        ...

    async def leases_expired(self) -> bool:
        """Whether a running job's lease may have ended by now, cheaply (no write; usually no read either).

        Lets the caller skip reading the registry for :meth:`expire_leases` when nothing can expire.

        Returns:
            True when a lease may have ended (a false alarm costs one :meth:`expire_leases`); never False while
            an ended lease is unprocessed, except for what another process sharing the store did in the last
            second.
        """
        ...

    async def expire_leases(self, prices: PriceBook) -> list[Job]:
        """Process every running job whose lease has ended (§5.5): requeue below the attempt cap, else fail.

        Cheap when nothing has expired (no write).

        Args:
            prices: prices the jobs that fail at the cap.

        Returns:
            The jobs that changed, in the order they were processed (earliest expiry first).

        Raises:
            StorageError: the store could not be written.
        """
        ...

    async def prune(self) -> int:
        """Delete finished jobs beyond the retention limit, oldest ``completed_ts`` first (§5.9).

        Stores also prune as jobs finish, so this only matters after the limit was lowered.

        Returns:
            How many jobs were deleted.
        """
        ...
