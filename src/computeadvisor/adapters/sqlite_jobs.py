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
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from computeadvisor.adapters import _sql_jobs as jobrows
from computeadvisor.adapters import sqlite_jobs_schema as sql
from computeadvisor.adapters import sqlite_run_history as history
from computeadvisor.adapters._files import FreshnessCache
from computeadvisor.adapters._sql_job_store import Dialect, SqlJobStore, Statements, Timed
from computeadvisor.adapters._sqlite_conn import Reader, open_connections
from computeadvisor.adapters.file_signatures import STAT_SIGNATURES, FileSignatures
from computeadvisor.adapters.sqlite_writer import GroupCommitWriter, Operation, WriteTxn
from computeadvisor.domain import job_machine as machine
from computeadvisor.domain.errors import StorageError
from computeadvisor.domain.events import DEFAULT_EVENT_RETENTION, Event, job_event
from computeadvisor.domain.job_machine import JobState
from computeadvisor.domain.job_requests import (
    ClaimRequest,
)
from computeadvisor.domain.jobs import (
    DEFAULT_ATTEMPT_CAP,
    DEFAULT_RETENTION,
    Claimed,
    JobCounts,
    JobStatus,
)
from computeadvisor.domain.runtime_model import MIN_SAMPLES, LearnedRate
from computeadvisor.domain.waiting import Workload

DB_PATH = Path("data") / "scheduler.db"


T = TypeVar("T")


SQLITE = Dialect(
    select_expired=jobrows.SELECT_EXPIRED,
    select_counters=sql.SELECT_COUNTERS,
    finished_count=sql.SELECT_FINISHED_COUNT,
    prune=sql.PRUNE,
)


class SqliteJobStore(SqlJobStore):
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
        super().__init__(SQLITE, attempt_cap=attempt_cap, retention=retention, clock=clock, min_samples=min_samples,
                         event_retention=event_retention)  # fmt: skip
        self._path = root / DB_PATH
        files = (self._path, self._path.with_name(self._path.name + "-wal"))
        self._counts_cache: FreshnessCache[Timed[JobCounts]] = FreshnessCache(files, signatures=signatures)
        self._rates_cache: FreshnessCache[list[LearnedRate]] = FreshnessCache(files, signatures=signatures)
        self._workload_cache: FreshnessCache[Timed[Workload]] = FreshnessCache(files, signatures=signatures)
        self._busy_ms = int(busy_timeout_s * 1000)
        self._max_batch = max_batch
        self._reader: Reader | None = None
        self._writer: GroupCommitWriter | None = None

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

    # -- lifecycle -----------------------------------------------------------------------------------------

    async def _submit(self, operation: Operation[T], *, savepoint: bool = True) -> T:
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

    async def _snapshot(self, statements: Statements) -> list[list[Sequence[Any]]]:
        return await self._reading.snapshot(statements)

    async def trace_reads(self, callback: Callable[[str], object] | None) -> None:
        """Call ``callback`` with every statement the reader connection runs (None: stop); for diagnostics and the
        test that a plan's reads do not grow with the history."""
        await self._reading.trace(callback)

    async def counts(self) -> JobCounts:
        """The counters row, reused while the database files are unchanged (the advisor asks on every request)."""
        return await self._fresh(self._counts_cache, self._read_counts)

    async def events_after(self, after: int, limit: int) -> list[Event]:
        return jobrows.events_from_rows(await self._read(jobrows.SELECT_EVENTS, (after, limit)))

    async def event_bounds(self) -> tuple[int | None, int]:
        ((oldest, newest),) = await self._read(sql.EVENT_BOUNDS)
        return (None if oldest is None else int(oldest)), int(newest)

    async def learned_rates(self) -> list[LearnedRate]:
        """The model's briefs, reused while the database files are unchanged (every plan asks)."""

        async def read() -> list[LearnedRate]:
            return history.rates_from_rows(await self._read(history.SELECT_RATES))

        return await self._rates_cache.load(read)

    async def workload(self) -> Workload:
        """The queued totals and running local jobs, one snapshot, reused while the files are unchanged."""
        return await self._fresh(self._workload_cache, lambda: self._read_workload(history.SELECT_QUEUED_WORK))

    async def _fresh(self, cache: FreshnessCache[Timed[T]], read: Callable[[], Awaitable[Timed[T]]]) -> T:
        """A cached read while the files are unchanged and no scheduled job fell due since; else read anew."""
        timed = await cache.load(read)
        if self._now() >= timed.until:
            cache.clear()
            timed = await cache.load(read)
        return timed.value

    # -- writing -------------------------------------------------------------------------------------------

    async def claim(self, request: ClaimRequest) -> Claimed | None:
        now = self._now()
        token = machine.new_lease_token()
        expires = now + request.lease_seconds

        async def op(txn: WriteTxn) -> JobState | None:
            params = {**self._claim_params(request, now, token), "seq": txn.next_seq()}
            rows = await txn.fetch(sql.CLAIM, params)
            if not rows:
                return None
            # In batch order, so a later expiry pass in the batch sees it (on the writer thread: an expiry look-up
            # on the loop racing with it can at worst leave the watch too high for its recheck_s, as allowed).
            self._expiry.lower(expires)
            state = jobrows.state_from_row(rows[0])
            await self._log(txn, job_event(state.job, JobStatus.QUEUED, now))
            return state

        state = await self._submit(op, savepoint=False)
        return None if state is None else machine.claimed(state)
