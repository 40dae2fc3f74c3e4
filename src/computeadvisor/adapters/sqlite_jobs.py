"""JobStore on SQLite (``<root>/data/scheduler.db``): WAL, ``synchronous=FULL``, one group-committing writer.

Writes go through :class:`GroupCommitWriter` on the writer connection (every mutation inside ``BEGIN IMMEDIATE``):
each is a plain function of a :class:`WriteTxn` that runs on the writer thread, with every value it needs (the
clock, the price book) taken before it is submitted. Reads go through :class:`Reader`, a separate connection
on its own thread, which in WAL mode never waits for the writer. Transitions are the pure functions of
:mod:`computeadvisor.domain.job_machine`, except the claim, which is the single statement
``sqlite_jobs_schema.CLAIM``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from computeadvisor.adapters import sqlite_jobs_schema as sql
from computeadvisor.adapters import sqlite_run_history as history
from computeadvisor.adapters._files import FreshnessCache
from computeadvisor.adapters._job_support import ExpiryWatch
from computeadvisor.adapters._sqlite_conn import Reader, open_connections
from computeadvisor.adapters.file_signatures import STAT_SIGNATURES, FileSignatures
from computeadvisor.adapters.sqlite_writer import GroupCommitWriter, WriteTxn
from computeadvisor.domain import job_machine as machine
from computeadvisor.domain.errors import StorageError
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
    JobStatus,
    PriceBook,
    QueueDepths,
    QueueViews,
    StatePage,
    build_board,
)
from computeadvisor.domain.runtime_model import MIN_SAMPLES, LearnedRate, ModelEntry
from computeadvisor.domain.values import iso_utc
from computeadvisor.domain.waiting import Workload
from computeadvisor.ports.job_store import JobStore

DB_PATH = Path("data") / "scheduler.db"


T = TypeVar("T")


class SqliteJobStore(JobStore):
    """The durable job store.

    Args:
        root: the state root; the database is ``<root>/data/scheduler.db``.
        attempt_cap: claims after which an expired lease fails the job instead of requeueing it.
        retention: how many finished jobs are kept (the most recently finished).
        clock: epoch seconds now; tests pass a fake one to move time without sleeping.
        busy_timeout_s: how long a statement waits for another connection's lock, seconds.
        max_batch: the most write operations committed together.
        signatures: how the cached counts, rates and workload notice another process's commit.
        min_samples: samples a key needs before its history predicts (§10.3).
        event_retention: how many events the log keeps (§11).
    """

    def __init__(
        self,
        root: Path,
        *,
        attempt_cap: int = DEFAULT_ATTEMPT_CAP,
        retention: int = DEFAULT_RETENTION,
        clock: Callable[[], float] = time.time,
        busy_timeout_s: float = 5.0,
        max_batch: int = 64,
        signatures: FileSignatures = STAT_SIGNATURES,
        min_samples: int = MIN_SAMPLES,
        event_retention: int = DEFAULT_EVENT_RETENTION,
    ) -> None:
        self._path = root / DB_PATH
        self._event_retention = event_retention
        files = (self._path, self._path.with_name(self._path.name + "-wal"))
        self._counts_cache: FreshnessCache[JobCounts] = FreshnessCache(files, signatures=signatures)
        self._rates_cache: FreshnessCache[list[LearnedRate]] = FreshnessCache(files, signatures=signatures)
        self._workload_cache: FreshnessCache[Workload] = FreshnessCache(files, signatures=signatures)
        self._min_samples = min_samples
        self._attempt_cap = attempt_cap
        self._retention = retention
        self._clock = clock
        self._busy_ms = int(busy_timeout_s * 1000)
        self._max_batch = max_batch
        self._reader: Reader | None = None
        self._writer: GroupCommitWriter | None = None
        self._expiry = ExpiryWatch()

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    @property
    def writer(self) -> GroupCommitWriter:
        """The group-commit writer (its ``batches`` and ``operations`` counters show the batching)."""
        if self._writer is None:
            raise StorageError("scheduler store is not open")
        return self._writer

    def _now(self) -> float:
        return float(self._clock())

    # -- lifecycle -----------------------------------------------------------------------------------------

    async def _submit(self, operation: Callable[[WriteTxn], T], *, savepoint: bool = True) -> T:
        try:
            return await self.writer.submit(operation, savepoint=savepoint)
        finally:  # our own commit: the next read reads again
            self._counts_cache.clear()
            self._rates_cache.clear()
            self._workload_cache.clear()

    async def open(self) -> None:
        if self._writer is not None:
            return
        self._writer, self._reader = await open_connections(
            self._path, busy_ms=self._busy_ms, max_batch=self._max_batch
        )

    async def close(self) -> None:
        if self._writer is not None:
            await self._writer.close()
            self._writer = None
        if self._reader is not None:
            await self._reader.close()
            self._reader = None

    # -- reading -------------------------------------------------------------------------------------------

    @property
    def _reading(self) -> Reader:
        if self._reader is None:
            raise StorageError("scheduler store is not open")
        return self._reader

    async def _read(self, statement: str, params: Sequence[Any] = ()) -> list[Sequence[Any]]:
        return await self._reading.read(statement, params)

    async def trace_reads(self, callback: Callable[[str], object] | None) -> None:
        """Call ``callback`` with every statement the reader connection runs (None: stop); for diagnostics and the
        test that a plan's reads do not grow with the history."""
        await self._reading.trace(callback)

    async def get(self, job_id: str) -> Job:
        rows = await self._read(sql.SELECT_JOB, (job_id,))
        if not rows:
            raise machine.not_found(job_id)
        return sql.state_from_row(rows[0]).job

    async def counts(self) -> JobCounts:
        """The counters row, reused while the database files are unchanged (the advisor asks on every request)."""

        async def read() -> JobCounts:
            return sql.counts_from_rows(await self._read(sql.SELECT_COUNTERS))

        return await self._counts_cache.load(read)

    async def running(self) -> QueueDepths:
        per_queue = {str(queue): int(count) for queue, count in await self._read(sql.SELECT_RUNNING_PER_QUEUE)}
        return QueueDepths(local=per_queue.get("local", 0), remote=per_queue.get("remote", 0))

    async def append(self, event: NewEvent) -> Event:
        return await self._submit(lambda txn: self._log(txn, event))

    async def events_after(self, after: int, limit: int) -> list[Event]:
        return sql.events_from_rows(await self._read(sql.SELECT_EVENTS, (after, limit)))

    async def event_bounds(self) -> tuple[int | None, int]:
        ((oldest, newest),) = await self._read(sql.EVENT_BOUNDS)
        return (None if oldest is None else int(oldest)), int(newest)

    async def learned_rates(self) -> list[LearnedRate]:
        """The model's briefs, reused while the database files are unchanged (every plan asks)."""

        async def read() -> list[LearnedRate]:
            return history.rates_from_rows(await self._read(history.SELECT_RATES))

        return await self._rates_cache.load(read)

    async def model_report(self) -> list[ModelEntry]:
        return history.entries_from_rows(await self._read(history.SELECT_RECORDS))

    async def workload(self) -> Workload:
        """The queued totals and running local jobs, one snapshot, reused while the files are unchanged."""

        async def read() -> Workload:
            statements = [(history.SELECT_QUEUED_WORK, ()), (history.SELECT_RUNNING_WORK, ())]
            return history.workload_from_rows(*await self._reading.snapshot(statements))

        return await self._workload_cache.load(read)

    async def state(self, limit: int) -> StatePage:
        local, remote, active, finished, counters = await self._reading.snapshot(
            [
                (sql.SELECT_QUEUED, ("local", limit)),
                (sql.SELECT_QUEUED, ("remote", limit)),
                (f"{sql.SELECT_RUNNING} LIMIT ?", (limit,)),
                (sql.SELECT_FINISHED, (limit,)),
                (sql.SELECT_COUNTERS, ()),
            ]
        )
        views = sql.views_from_rows
        return StatePage(
            queues=QueueViews(local=views(local), remote=views(remote)),
            active=views(active),
            completed=views(finished),
            counts=sql.counts_from_rows(counters),
        )

    async def board(self, limit: int) -> Board:
        running, finished = await self._reading.snapshot([(sql.SELECT_RUNNING, ()), (sql.SELECT_FINISHED, (limit,))])
        jobs = [sql.core_from_row(row) for row in (*running, *finished)]
        return build_board(jobs, self._now())

    # -- writing -------------------------------------------------------------------------------------------

    def _load(self, txn: WriteTxn, job_id: str) -> JobState:
        rows = txn.fetch(sql.SELECT_JOB, (job_id,))
        if not rows:
            raise machine.not_found(job_id)
        return sql.state_from_row(rows[0])

    def _save(self, txn: WriteTxn, state: JobState, previous: str) -> Job:
        """Write a changed job, with its event when its status changed (§11), in the caller's transaction."""
        txn.execute(sql.UPDATE_JOB, sql.update_params(state))
        if state.job.status != previous:
            self._log(txn, job_event(state.job, previous, state.job.updated_ts))
        if state.job.status in FINISHED:
            self._prune_excess(txn)
        return state.job

    def _log(self, txn: WriteTxn, event: NewEvent) -> Event:
        (row,) = txn.fetch(sql.INSERT_EVENT, sql.event_params(event))
        logged = Event(id=int(row[0]), type=event.type, data=event.data)
        if logged.id > self._event_retention:
            txn.execute(sql.TRIM_EVENTS, (logged.id - self._event_retention,))
        return logged

    def _prune_excess(self, txn: WriteTxn) -> int:
        rows = txn.fetch(sql.SELECT_COUNTER, ("finished",))
        excess = int(rows[0][0]) - self._retention
        return len(txn.fetch(sql.PRUNE, (excess,))) if excess > 0 else 0

    async def enqueue(self, spec: JobSpec) -> tuple[Job, bool]:
        now = self._now()

        def op(txn: WriteTxn) -> tuple[Job, bool]:
            state = machine.new_state(spec, now, txn.next_seq())
            if txn.fetch(sql.INSERT_NEW_JOB, sql.insert_params(state)):
                self._log(txn, job_event(state.job, None, now))
                return state.job, True
            existing = self._load(txn, spec.id)  # the id is taken: idempotent or a conflict (§5.6)
            machine.check_same_spec(existing, spec)
            return existing.job, False

        return await self._submit(op, savepoint=False)

    async def claim(self, request: ClaimRequest) -> Claimed | None:
        now = self._now()
        token = machine.new_lease_token()
        expires = now + request.lease_seconds

        def op(txn: WriteTxn) -> JobState | None:
            params = {
                "seq": txn.next_seq(),
                "worker": request.worker_id,
                "device": request.device_id,
                "started_at": iso_utc(now),
                "now": now,
                "token": token,
                "expires": expires,
                "seconds": request.lease_seconds,
                "queue": request.queue,
            }
            rows = txn.fetch(sql.CLAIM, params)
            if not rows:
                return None
            # In batch order, so a later expiry pass in the batch sees it (on the writer thread: an expiry look-up
            # on the loop racing with it can at worst leave the watch too high for its recheck_s, as allowed).
            self._expiry.lower(expires)
            state = sql.state_from_row(rows[0])
            self._log(txn, job_event(state.job, JobStatus.QUEUED, now))
            return state

        state = await self._submit(op, savepoint=False)
        return None if state is None else machine.claimed(state)

    async def heartbeat(self, request: HeartbeatRequest) -> Claimed:
        now = self._now()

        def op(txn: WriteTxn) -> JobState:
            state = machine.heartbeat(self._load(txn, request.job_id), request, now)
            self._save(txn, state, JobStatus.RUNNING)
            return state

        return machine.claimed(await self._submit(op))

    async def complete(self, request: CompleteRequest, prices: PriceBook) -> Job:
        now = self._now()

        def op(txn: WriteTxn) -> Job:
            state = self._load(txn, request.job_id)
            job = self._save(txn, machine.complete(state, request, now, txn.next_seq(), prices), state.job.status)
            history.learn(txn, job, self._min_samples)  # in the completion's transaction (§10.3)
            return job

        return await self._submit(op)

    async def fail(self, request: FailRequest, prices: PriceBook) -> Job:
        now = self._now()

        def op(txn: WriteTxn) -> Job:
            state = self._load(txn, request.job_id)
            return self._save(txn, machine.fail(state, request, now, txn.next_seq(), prices), state.job.status)

        return await self._submit(op)

    async def requeue(self, request: RequeueRequest) -> tuple[Job, bool]:
        now = self._now()

        def op(txn: WriteTxn) -> tuple[Job, bool]:
            state = self._load(txn, request.job_id)
            requeued = machine.requeue(state, request.priority, now, txn.next_seq())
            return (state.job, False) if requeued is state else (self._save(txn, requeued, state.job.status), True)

        return await self._submit(op)

    async def cancel(self, job_id: str) -> Job:
        now = self._now()

        def op(txn: WriteTxn) -> Job:
            state = self._load(txn, job_id)
            return self._save(txn, machine.cancel(state, now, txn.next_seq()), state.job.status)

        return await self._submit(op)

    async def leases_expired(self) -> bool:
        now = self._now()
        if self._expiry.settled(now):
            return False
        rows = await self._read(sql.NEXT_EXPIRY)
        self._expiry.seen(rows[0][0] if rows else None)
        return not self._expiry.settled(now)

    async def expire_leases(self, prices: PriceBook) -> list[Job]:
        if not await self.leases_expired():
            return []
        now = self._now()

        def op(txn: WriteTxn) -> list[Job]:
            changed: list[Job] = []
            for row in txn.fetch(sql.SELECT_EXPIRED, (now,)):
                state = sql.state_from_row(row)
                expired = machine.expire(state, now, txn.next_seq(), self._attempt_cap, prices)
                changed.append(self._save(txn, expired, state.job.status))
            rows = txn.fetch(sql.NEXT_EXPIRY)
            self._expiry.seen(rows[0][0] if rows else None)
            return changed

        try:
            return await self._submit(op)
        except BaseException:
            self._expiry.forget()  # nothing was expired after all: look again next time
            raise

    async def prune(self) -> int:
        return await self._submit(self._prune_excess)
