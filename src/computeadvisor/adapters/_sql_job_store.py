"""The part of the SQL job stores that is the same on SQLite and PostgreSQL: every transition but the claim, as a
plain function of a transaction (:class:`~computeadvisor.adapters._sql_jobs.Txn`), and the reads of pages.

A store supplies how an operation runs in a transaction (``_submit``), how it reads (``_read``, ``_snapshot``), the
few statements that differ between the databases (:class:`Dialect`), and its claim, counts and event reads. The
shared enqueue and transitions read a job and write it back in one transaction, which is safe where ``_submit`` runs
one writer at a time (SQLite); a store whose writers run at once overrides them (PostgreSQL writes against the row's
version, ``PostgresJobStore._transition``).
Transitions are the pure functions of :mod:`computeadvisor.domain.job_machine`.
"""

from __future__ import annotations

import math
import time
from abc import abstractmethod
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from computeadvisor.adapters import _sql_jobs as jobrows
from computeadvisor.adapters import sqlite_run_history as history
from computeadvisor.adapters._job_support import ExpiryWatch
from computeadvisor.adapters._sql_jobs import Txn
from computeadvisor.domain import job_machine as machine
from computeadvisor.domain.events import DEFAULT_EVENT_RETENTION, Event, NewEvent, job_event
from computeadvisor.domain.job_machine import JobState
from computeadvisor.domain.job_requests import (
    ClaimRequest,
    CompleteRequest,
    FailRequest,
    HeartbeatRequest,
    RequeueRequest,
)
from computeadvisor.domain.job_spec import JobSpec
from computeadvisor.domain.jobs import (
    DEFAULT_ATTEMPT_CAP,
    DEFAULT_RETENTION,
    FINISHED,
    Board,
    Claimed,
    Job,
    JobCounts,
    PriceBook,
    QueueDepths,
    QueueViews,
    StatePage,
    build_board,
)
from computeadvisor.domain.runtime_model import MIN_SAMPLES, ModelEntry
from computeadvisor.domain.values import iso_utc
from computeadvisor.domain.waiting import ScheduledWork, Workload, without_scheduled
from computeadvisor.ports.job_store import JobStore

T = TypeVar("T")
Statements = Sequence[tuple[str, Sequence[Any]]]
Step = Callable[[JobState, Callable[[], int]], JobState]
"""A transition of one job: the job, and how to draw the next ``seq`` (§5.4) when it needs one."""


@dataclass(frozen=True)
class Timed(Generic[T]):
    """A read whose answer holds, without a write, until ``until`` (epoch seconds): when a scheduled job falls due."""

    value: T
    until: float = math.inf


def next_due(scheduled: Iterable[ScheduledWork]) -> float:
    """The earliest due time of jobs not due yet (infinity when there are none)."""
    return min((work.next_due_ts for work in scheduled), default=math.inf)


@dataclass(frozen=True)
class Dialect:
    """The statements that differ between the databases (``?`` placeholders)."""

    select_expired: str
    """The running jobs whose lease ended by ``?``, locked, skipping those another transaction holds."""
    select_counters: str
    """``(name, value)`` rows of the status totals (``queued:<queue>``, ``running``, ``finished``)."""
    finished_count: str
    """One row: how many finished jobs are stored."""
    prune: str
    """Delete the ``?`` oldest finished jobs, returning their ids."""


class SqlJobStore(JobStore):
    """The shared operations; see the module docstring for what a subclass supplies."""

    def __init__(
        self,
        dialect: Dialect,
        *,
        attempt_cap: int = DEFAULT_ATTEMPT_CAP,
        retention: int = DEFAULT_RETENTION,
        clock: Callable[[], float] = time.time,
        min_samples: int = MIN_SAMPLES,
        event_retention: int = DEFAULT_EVENT_RETENTION,
    ) -> None:
        self._sql = dialect
        self._attempt_cap = attempt_cap
        self._retention = retention
        self._clock = clock
        self._min_samples = min_samples
        self._event_retention = event_retention
        self._expiry = ExpiryWatch()

    def _now(self) -> float:
        return float(self._clock())

    @abstractmethod
    async def _submit(self, operation: Callable[[Txn], Coroutine[Any, Any, T]], *, savepoint: bool = True) -> T:
        """Run ``operation`` in a write transaction; its result once committed. ``savepoint=False``: it writes
        with at most one statement, after any check that can raise (a store may skip its savepoint)."""

    @abstractmethod
    async def _read(self, statement: str, params: Sequence[Any] = ()) -> list[Sequence[Any]]:
        """The rows of one read."""

    @abstractmethod
    async def _snapshot(self, statements: Statements) -> list[list[Sequence[Any]]]:
        """The rows of several reads, all from one snapshot."""

    # -- reads ---------------------------------------------------------------------------------------------

    async def get(self, job_id: str) -> Job:
        rows = await self._read(jobrows.SELECT_JOB, (job_id,))
        if not rows:
            raise machine.not_found(job_id)
        return jobrows.state_from_row(rows[0]).job

    async def running(self) -> QueueDepths:
        per_queue = {str(queue): int(count) for queue, count in await self._read(jobrows.SELECT_RUNNING_PER_QUEUE)}
        return QueueDepths(local=per_queue.get("local", 0), remote=per_queue.get("remote", 0))

    async def model_report(self) -> list[ModelEntry]:
        return history.entries_from_rows(await self._read(history.SELECT_RECORDS))

    async def state(self, limit: int) -> StatePage:
        local, remote, active, finished, counters, scheduled = await self._snapshot(
            [
                (jobrows.SELECT_QUEUED, ("local", limit)),
                (jobrows.SELECT_QUEUED, ("remote", limit)),
                (f"{jobrows.SELECT_RUNNING} LIMIT ?", (limit,)),
                (jobrows.SELECT_FINISHED, (limit,)),
                (self._sql.select_counters, ()),
                (jobrows.SELECT_SCHEDULED, (self._now(),)),
            ]
        )
        views = jobrows.views_from_rows
        return StatePage(
            queues=QueueViews(local=views(local), remote=views(remote)),
            active=views(active),
            completed=views(finished),
            counts=jobrows.counts_from_rows(counters, jobrows.scheduled_from_rows(scheduled)),
        )

    async def board(self, limit: int) -> Board:
        statements = [(jobrows.SELECT_RUNNING, ()), (jobrows.SELECT_FINISHED, (limit,))]
        running, finished = await self._snapshot(statements)
        jobs = [jobrows.core_from_row(row) for row in (*running, *finished)]
        return build_board(jobs, self._now())

    @staticmethod
    def _claim_params(request: ClaimRequest, now: float, token: str) -> dict[str, Any]:
        """The named parameters both stores' claim statements take (SQLite adds its ``seq``)."""
        return {
            "worker": request.worker_id,
            "device": request.device_id,
            "started_at": iso_utc(now),
            "now": now,
            "token": token,
            "expires": now + request.lease_seconds,
            "seconds": request.lease_seconds,
            "queue": request.queue,
        }

    async def _read_counts(self) -> Timed[JobCounts]:
        """The totals now, and until when they hold without a write (the next scheduled job's due time)."""
        now = self._now()
        counters, rows = await self._snapshot([(self._sql.select_counters, ()), (jobrows.SELECT_SCHEDULED, (now,))])
        scheduled = jobrows.scheduled_from_rows(rows)
        return Timed(jobrows.counts_from_rows(counters, scheduled), next_due(scheduled))

    async def _read_workload(self, queued_work: str) -> Timed[Workload]:
        """The workload now (``queued_work``: the store's statement for the queued totals), and until when it holds."""
        statements = [(queued_work, ()), (history.SELECT_RUNNING_WORK, ()), (jobrows.SELECT_SCHEDULED, (self._now(),))]
        queued, running, rows = await self._snapshot(statements)
        scheduled = jobrows.scheduled_from_rows(rows)
        return Timed(without_scheduled(history.workload_from_rows(queued, running), scheduled), next_due(scheduled))

    # -- writes --------------------------------------------------------------------------------------------

    async def _load(self, txn: Txn, job_id: str) -> JobState:
        rows = await txn.fetch(jobrows.SELECT_JOB, (job_id,))
        if not rows:
            raise machine.not_found(job_id)
        return jobrows.state_from_row(rows[0])

    async def _save(self, txn: Txn, state: JobState, previous: str, *, learn: bool = False) -> Job:
        """Write a changed job, with its event when its status changed (§11), in the caller's transaction; ``learn``:
        the run-time model learns what the job teaches (§10.3), in the same transaction."""
        await txn.execute(jobrows.UPDATE_JOB, jobrows.update_params(state))
        if state.job.status != previous:
            await self._log(txn, job_event(state.job, previous, state.job.updated_ts))
        if state.job.status in FINISHED:
            await self._prune_excess(txn)
        if learn:
            await history.learn(txn, state.job, self._min_samples)
        return state.job

    async def _log(self, txn: Txn, event: NewEvent) -> Event:
        (row,) = await txn.fetch(jobrows.INSERT_EVENT, jobrows.event_params(event))
        logged = Event(id=int(row[0]), type=event.type, data=event.data)
        if logged.id > self._event_retention:
            await txn.execute(jobrows.TRIM_EVENTS, (logged.id - self._event_retention,))
        return logged

    async def _prune_excess(self, txn: Txn) -> int:
        rows = await txn.fetch(self._sql.finished_count)
        excess = int(rows[0][0]) - self._retention
        return len(await txn.fetch(self._sql.prune, (excess,))) if excess > 0 else 0

    async def append(self, event: NewEvent) -> Event:
        return await self._submit(lambda txn: self._log(txn, event))

    async def enqueue(self, spec: JobSpec) -> tuple[Job, bool]:
        now = self._now()

        async def op(txn: Txn) -> tuple[Job, bool]:
            state = machine.new_state(spec, now, txn.next_seq())
            if await txn.fetch(jobrows.INSERT_NEW_JOB, jobrows.insert_params(state)):
                await self._log(txn, job_event(state.job, None, now))
                return state.job, True
            existing = await self._load(txn, spec.id)  # the id is taken: idempotent or a conflict (§5.6)
            machine.check_same_spec(existing, spec)
            return existing.job, False

        return await self._submit(op, savepoint=False)

    async def _transition(self, job_id: str, step: Step, *, learn: bool = False) -> tuple[JobState, JobState]:
        """``step`` applied to the stored job, written with its event (``learn``: and what it teaches the model);
        the job before and after (the same object when ``step`` changed nothing, which writes nothing)."""

        async def op(txn: Txn) -> tuple[JobState, JobState]:
            state = await self._load(txn, job_id)
            changed = step(state, txn.next_seq)
            if changed is not state:
                await self._save(txn, changed, state.job.status, learn=learn)
            return state, changed

        return await self._submit(op)

    async def heartbeat(self, request: HeartbeatRequest) -> Claimed:
        now = self._now()
        _, state = await self._transition(request.job_id, lambda state, _: machine.heartbeat(state, request, now))
        return machine.claimed(state)

    async def complete(self, request: CompleteRequest, prices: PriceBook) -> Job:
        now = self._now()

        def step(state: JobState, seq: Callable[[], int]) -> JobState:
            return machine.complete(state, request, now, seq(), prices)

        return (await self._transition(request.job_id, step, learn=True))[1].job

    async def fail(self, request: FailRequest, prices: PriceBook) -> Job:
        now = self._now()

        def step(state: JobState, seq: Callable[[], int]) -> JobState:
            return machine.fail(state, request, now, seq(), prices)

        return (await self._transition(request.job_id, step))[1].job

    async def requeue(self, request: RequeueRequest) -> tuple[Job, bool]:
        now = self._now()

        def step(state: JobState, seq: Callable[[], int]) -> JobState:
            return machine.requeue(state, request.priority, now, seq())

        before, after = await self._transition(request.job_id, step)
        return after.job, after is not before

    async def cancel(self, job_id: str) -> Job:
        now = self._now()
        return (await self._transition(job_id, lambda state, seq: machine.cancel(state, now, seq())))[1].job

    async def leases_expired(self) -> bool:
        now = self._now()
        if self._expiry.settled(now):
            return False
        rows = await self._read(jobrows.NEXT_EXPIRY)
        self._expiry.seen(rows[0][0] if rows else None)
        return not self._expiry.settled(now)

    async def expire_leases(self, prices: PriceBook) -> list[Job]:
        if not await self.leases_expired():
            return []
        now = self._now()

        async def op(txn: Txn) -> list[Job]:
            changed: list[Job] = []
            for row in await txn.fetch(self._sql.select_expired, (now,)):
                state = jobrows.state_from_row(row)
                expired = machine.expire(state, now, txn.next_seq(), self._attempt_cap, prices)
                changed.append(await self._save(txn, expired, state.job.status))
            rows = await txn.fetch(jobrows.NEXT_EXPIRY)
            self._expiry.seen(rows[0][0] if rows else None)
            return changed

        try:
            return await self._submit(op)
        except BaseException:
            self._expiry.forget()  # nothing was expired after all: look again next time
            raise

    async def prune(self) -> int:
        return await self._submit(self._prune_excess)
