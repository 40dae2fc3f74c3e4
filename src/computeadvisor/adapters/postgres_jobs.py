"""JobStore on PostgreSQL (§14): several service replicas on one database, with the promises of the SQLite store.

psycopg 3's asynchronous API with a bounded ``psycopg_pool.AsyncConnectionPool`` (``_pg.PgPool``), on the event
loop: no thread per operation. Measured on this project's machine (docs/performance.md): a round trip through a
thread pool cost about three times the client CPU of one on the loop, and the service spent about 10 % less CPU per
cycle after the change; asyncpg's pool measured no cheaper than psycopg's here, and psycopg keeps the shared
statements' placeholders. Operations are the coroutines of a transaction that the SQLite store runs too
(:class:`~computeadvisor.adapters._sql_job_store.SqlJobStore` holds the transitions both share), so a transition and
its event commit together.

**One statement per write.** What a cycle costs here is round trips and the CPU each takes, on both sides, so the
hot path sends as few statements as it can: an enqueue and a claim are one statement each, committed on their own
(the job, its event and the event log's retention as data-modifying CTEs; the claim's event is built in SQL, mirroring
``job_event``); every other transition writes the job, its event, the retention of finished jobs and what it teaches
the model in one statement too (``pg.SAVE``). ``seq`` is drawn by those statements.

**Optimistic transitions.** A transition other than the claim decides on the job as read, without a lock, and its
write applies only if the row is still the version it read (``xmin``, which every write of a row changes); when
another write came first, it reads the row again and decides again, as if it had waited for the lock. A store also
keeps the running jobs it claimed or last wrote, with their versions (``REMEMBERED`` at most, each with a spec of at
most ``REMEMBERED_SPEC_BYTES``), so a worker's heartbeat or completion usually needs no read: one round trip, where
BEGIN, a locked read, the write and COMMIT took four. What it decided on a remembered job that may be stale (a
refusal, say) is decided again on the row. The expiry of leases, which changes many jobs at once, still locks them
(``FOR UPDATE SKIP LOCKED``) in one transaction.

**Learning.** A completion appends a lesson (``lessons``) rather than reading and rewriting a ``run_model`` record,
which would have to lock the record's key across the round trips of the transaction. Lessons are folded into
``run_model`` in id order under one lock (``pg.FOLD_LOCK``): by a read of the model before it reads (so a completion
is reflected in the very next plan, §10.3) and by the completion whose lesson id is a multiple of ``FOLD_EVERY``, so
at most about that many wait.

**Event order across writers.** Event ids come from a sequence, and transactions commit in any order, so a reader
can see id 51 while 50 is still uncommitted. A reader therefore stops at the first gap until it is sure the gap is
final: when it first sees a gap it notes the snapshot's ``xmax``; every transaction that could still fill the gap
took its transaction id before that (its id came from the sequence after its transaction id, and before the later
event was visible), so once a snapshot's ``xmin`` has passed the noted ``xmax`` the gap will never be filled (a
rolled-back transaction, or events trimmed by retention). Readers thus receive events in id order with none skipped,
whichever replica wrote them.

The database being unreachable (or the pool exhausted for ``connect_timeout_s``) is :class:`Unavailable`: 503
``database unavailable``; the pool reconnects by itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

import psycopg
from psycopg.pq import ExecStatus

from computeadvisor.adapters import _sql_jobs as jobrows
from computeadvisor.adapters import postgres_jobs_schema as pg
from computeadvisor.adapters import sqlite_run_history as history
from computeadvisor.adapters._pg import Connection, PgPool, placeholders
from computeadvisor.adapters._sql_job_store import Dialect, SqlJobStore, Statements, Step
from computeadvisor.adapters._sql_jobs import Txn
from computeadvisor.domain import job_machine as machine
from computeadvisor.domain.errors import ComputeAdvisorError
from computeadvisor.domain.events import DEFAULT_EVENT_RETENTION, Event, NewEvent, job_event
from computeadvisor.domain.job_machine import JobState
from computeadvisor.domain.job_requests import ClaimRequest
from computeadvisor.domain.job_spec import JobSpec
from computeadvisor.domain.jobs import (
    DEFAULT_ATTEMPT_CAP,
    DEFAULT_RETENTION,
    FINISHED,
    Claimed,
    Job,
    JobCounts,
    JobStatus,
)
from computeadvisor.domain.runtime_model import MIN_SAMPLES, LearnedRate, Lesson, ModelEntry, lesson_of
from computeadvisor.domain.waiting import Workload

T = TypeVar("T")
POSTGRES = Dialect(
    select_expired=pg.SELECT_EXPIRED,
    select_counters=pg.SELECT_COUNTERS,
    finished_count=pg.FINISHED_COUNT,
    prune=pg.PRUNE,
)


TUPLES_OK = ExecStatus.TUPLES_OK
REPEATABLE_READ = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
FOLD_EVERY = 256
"""A completion whose lesson id is a multiple of this folds the pending lessons (see ``PostgresJobStore``)."""
FOLD_BATCH = 4096
"""Lessons folded per transaction at most."""
REMEMBERED = 4096
"""Running jobs whose last written version a store keeps, for their next transition (see ``PostgresJobStore``)."""
REMEMBERED_SPEC_BYTES = 8192
"""A job whose spec (its payload and meta, as stored) is longer is not remembered, so the jobs a store remembers hold
at most ``REMEMBERED`` times this of specs (32 MiB), whatever payloads clients send."""
_SPEC = jobrows.INSERTED_COLUMNS.index("spec")


def _small(row: Sequence[Any]) -> bool:
    """Whether a job's row (its ``ALL_COLUMNS``) is small enough to remember."""
    return len(row[_SPEC]) <= REMEMBERED_SPEC_BYTES


Operation = Callable[[Txn], Coroutine[Any, Any, object]]


class PgTxn:
    """A write operation's transaction (the ``Txn`` of ``_sql_jobs``) on one pooled connection."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: psycopg.AsyncCursor[Any]) -> None:
        self._cursor = cursor

    @staticmethod
    def next_seq() -> int:
        """0, which the statements that write a job (``pg.SAVE``, ``pg.ENQUEUE``) read as: draw the next value."""
        return 0

    async def fetch(self, statement: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Sequence[Any]]:
        cursor = self._cursor
        if isinstance(params, dict):
            await cursor.execute(statement, params)
        else:
            await cursor.execute(placeholders(statement), params)
        result = cursor.pgresult  # (``description`` would build a Column per field just to say whether rows came)
        return await cursor.fetchall() if result is not None and result.status == TUPLES_OK else []

    async def execute(self, statement: str, params: Sequence[Any] = ()) -> None:
        await self._cursor.execute(placeholders(statement), params)


class PostgresJobStore(SqlJobStore):
    """The durable job store on a PostgreSQL database shared by every replica.

    Args:
        url: a libpq connection string or URL (``postgresql://user@host:5432/db``).
        schema: a schema to create (if missing) and use instead of ``public`` (the tests use one per store).
        pool_size: connections at most.
        connect_timeout_s: how long an operation waits for a connection before it is 503 ``database unavailable``.
        attempt_cap, retention, clock, min_samples, event_retention: as ``SqliteJobStore``.
    """

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        pool_size: int = 10,
        connect_timeout_s: float = 5.0,
        attempt_cap: int = DEFAULT_ATTEMPT_CAP,
        retention: int = DEFAULT_RETENTION,
        clock: Callable[[], float] = time.time,
        min_samples: int = MIN_SAMPLES,
        event_retention: int = DEFAULT_EVENT_RETENTION,
    ) -> None:
        super().__init__(POSTGRES, attempt_cap=attempt_cap, retention=retention, clock=clock, min_samples=min_samples,
                         event_retention=event_retention)  # fmt: skip
        self._db = PgPool(url, schema=schema, size=pool_size, timeout_s=connect_timeout_s, what="scheduler store")
        self._gaps: dict[int, int] = {}  # first missing event id -> the xmax seen when the gap was first seen
        self._safe = 0  # every event id up to here is committed or will never be
        self._written: dict[str, tuple[JobState, str]] = {}  # job id -> (the running job as last written, version)

    # -- lifecycle and statements ----------------------------------------------------------------------------

    async def open(self) -> None:
        await self._db.open()

    async def close(self) -> None:
        await self._db.close()

    async def _submit(self, operation: Callable[[Any], Coroutine[Any, Any, T]], *, savepoint: bool = True) -> T:
        async def work(conn: Connection) -> T:
            async with conn.transaction(), conn.cursor() as cursor:
                return await operation(PgTxn(cursor))

        return await self._db.run(work)

    async def _read(self, statement: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Sequence[Any]]:
        return await self._statement(statement, params)

    async def _statement(self, statement: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Sequence[Any]]:
        """The rows of one statement run on its own: a read, or a write of one statement, which commits by itself."""

        async def work(conn: Connection) -> list[Sequence[Any]]:
            async with conn.cursor() as cursor:
                return await PgTxn(cursor).fetch(statement, params)

        return await self._db.run(work)

    async def _snapshot(self, statements: Statements) -> list[list[Sequence[Any]]]:
        async def work(conn: Connection) -> list[list[Sequence[Any]]]:
            async with conn.transaction(), conn.cursor() as cursor:
                await cursor.execute(REPEATABLE_READ)
                txn = PgTxn(cursor)
                return [await txn.fetch(statement, params) for statement, params in statements]

        return await self._db.run(work)

    # -- reads -----------------------------------------------------------------------------------------------

    async def counts(self) -> JobCounts:
        return (await self._read_counts()).value

    async def learned_rates(self) -> list[LearnedRate]:
        await self._fold()
        return history.rates_from_rows(await self._read(history.SELECT_RATES))

    async def model_report(self) -> list[ModelEntry]:
        await self._fold()
        return await super().model_report()

    async def workload(self) -> Workload:
        return (await self._read_workload(pg.SELECT_QUEUED_WORK)).value

    async def _final_ids(self, txn: PgTxn, after: int, ids: Sequence[int]) -> int:
        """How many of ``ids`` (the next ids after ``after``, ascending) can be handed out: up to the first gap a
        running transaction may still fill (see the module docstring)."""
        ((xmin_text, xmax_text),) = await txn.fetch(pg.SNAPSHOT_HORIZON)
        xmin, xmax = int(xmin_text), int(xmax_text)
        expected = after + 1
        for index, event_id in enumerate(ids):
            if event_id > expected:
                horizon = self._gaps.setdefault(expected, xmax)
                if xmin < horizon:
                    return index
            expected = event_id + 1
        self._gaps = {first: horizon for first, horizon in self._gaps.items() if horizon > xmin}
        return len(ids)

    async def events_after(self, after: int, limit: int) -> list[Event]:
        async def work(conn: Connection) -> list[Event]:
            async with conn.transaction(), conn.cursor() as cursor:
                await cursor.execute(REPEATABLE_READ)
                txn = PgTxn(cursor)
                rows = await txn.fetch(jobrows.SELECT_EVENTS, (after, limit))
                final = await self._final_ids(txn, after, [int(row[0]) for row in rows])
                return jobrows.events_from_rows(rows[:final])

        return await self._db.run(work)

    async def event_bounds(self) -> tuple[int | None, int]:
        """The oldest retained id, and the newest id below which every event is final (see the docstring): a
        stream that starts there misses no event committed after it started."""

        async def work(conn: Connection) -> tuple[int | None, int]:
            async with conn.transaction(), conn.cursor() as cursor:
                await cursor.execute(REPEATABLE_READ)
                txn = PgTxn(cursor)
                ((oldest,),) = await txn.fetch(pg.OLDEST_EVENT)
                safe = max(self._safe, 0 if oldest is None else int(oldest) - 1)
                while True:
                    ids = [int(row[0]) for row in await txn.fetch(pg.SELECT_EVENT_IDS, (safe, 10_000))]
                    final = await self._final_ids(txn, safe, ids)
                    if final:
                        safe = ids[final - 1]
                    if final < 10_000:
                        break
                self._safe = max(self._safe, safe)
                return (None if oldest is None else int(oldest)), self._safe

        return await self._db.run(work)

    # -- the claim -------------------------------------------------------------------------------------------

    async def claim(self, request: ClaimRequest) -> Claimed | None:
        now = self._now()
        params = {**self._claim_params(request, now, machine.new_lease_token()), **self._event_params("job")}
        rows = await self._statement(pg.CLAIM, params)  # the job taken and its event, in one statement
        if not rows:
            return None
        self._expiry.lower(params["expires"])
        state = jobrows.state_from_row(rows[0])
        if _small(rows[0]):
            self._remember(state, rows[0][-1])
        return machine.claimed(state)

    # -- writes: the hot path in one statement each (see postgres_jobs_schema) ----------------------------------

    def _event_params(self, event_type: str, data: str | None = None) -> dict[str, Any]:
        return pg.log_params(event_type, data, self._event_retention)

    async def _log(self, txn: Txn, event: NewEvent) -> Event:  # the event and the log's retention, one statement
        (row,) = await txn.fetch(pg.LOG, self._event_params(*jobrows.event_params(event)))
        return Event(id=int(row[0]), type=event.type, data=event.data)

    async def enqueue(self, spec: JobSpec) -> tuple[Job, bool]:
        now = self._now()
        state = machine.new_state(spec, now, 0)  # seq: drawn by the statement
        params = dict(zip(jobrows.INSERTED_COLUMNS, jobrows.insert_params(state), strict=True))
        params.update(self._event_params(*jobrows.event_params(job_event(state.job, None, now))))
        while True:
            if (await self._statement(pg.ENQUEUE, params))[0][0]:
                return state.job, True
            rows = await self._read(jobrows.SELECT_JOB, (spec.id,))  # the id is taken: idempotent or a conflict
            if rows:  # (else the job holding it was pruned in between: try again)
                existing = jobrows.state_from_row(rows[0])
                machine.check_same_spec(existing, spec)
                return existing.job, False

    async def _transition(self, job_id: str, step: Step, *, learn: bool = False) -> tuple[JobState, JobState]:
        # Optimistic (see the module docstring): decide on the job as this store last wrote it, else as read without
        # a lock; write only that version; on a lost race, decide again on what the winner wrote.
        known = self._written.pop(job_id, None)
        remembered, small = known is not None, True
        while True:
            if known is None:
                rows = await self._read(pg.SELECT_VERSIONED, (job_id,))
                if not rows:
                    raise machine.not_found(job_id)
                known, remembered, small = (jobrows.state_from_row(rows[0]), rows[0][-1]), False, _small(rows[0])
            (state, version), known = known, None
            try:
                changed = step(state, PgTxn.next_seq)
            except ComputeAdvisorError:
                if remembered:  # decided on what may be stale: decide on the row
                    continue
                raise
            if changed is state:
                if remembered:
                    continue
                return state, changed
            params = self._save_params(changed, state.job.status, learn=learn, version=version)
            ((written, lesson_id),) = await self._statement(pg.SAVE, params)
            if written is not None:
                if small:
                    self._remember(changed, written)
                for follow_up in self._follow_ups(changed, state.job.status, lesson_id):
                    await self._submit(follow_up)
                return state, changed

    def _remember(self, state: JobState, version: str) -> None:
        """Keep a running job as this store wrote it, for its next transition (the oldest of ``REMEMBERED`` go);
        only one whose ``seq`` is known (a state whose statement drew it has 0, and is not what the row holds)."""
        written = self._written
        if state.job.status == JobStatus.RUNNING and state.seq:
            written[state.job.id] = (state, version)
            if len(written) > REMEMBERED:
                del written[next(iter(written))]

    async def _save(self, txn: Txn, state: JobState, previous: str, *, learn: bool = False) -> Job:
        # The caller holds the row's lock (the expiry of leases).
        ((_, lesson_id),) = await txn.fetch(pg.SAVE, self._save_params(state, previous, learn=learn, version=None))
        for follow_up in self._follow_ups(state, previous, lesson_id):
            await follow_up(txn)
        return state.job

    def _save_params(self, state: JobState, previous: str, *, learn: bool, version: str | None) -> dict[str, Any]:
        """``pg.SAVE``'s parameters."""
        job = state.job
        lesson = lesson_of(job) if learn else None
        params: dict[str, Any] = dict(
            zip(("seq", *jobrows.UPDATED_COLUMNS, "id"), jobrows.update_params(state), strict=True)
        )
        event = job_event(job, previous, job.updated_ts)
        params.update(
            {f"lesson_{name}": None if lesson is None else getattr(lesson, name) for name in Lesson.__struct_fields__},
            version=version, log=job.status != previous, finishing=self._finishing(job, previous),
            retention=self._retention, **self._event_params(*jobrows.event_params(event)),
        )  # fmt: skip
        return params

    @staticmethod
    def _finishing(job: Job, previous: str) -> bool:
        return job.status in FINISHED and previous not in FINISHED

    def _follow_ups(self, state: JobState, previous: str, lesson_id: int | None) -> list[Operation]:
        """What a saved job leaves to do in a transaction of its own (or the caller's)."""
        follow_ups: list[Operation] = []
        if self._retention == 0 and self._finishing(state.job, previous):  # SAVE's prune cannot see the job it finishes
            follow_ups.append(self._prune_excess)
        if lesson_id is not None and lesson_id % FOLD_EVERY == 0:
            follow_ups.append(self._fold_lessons)
        return follow_ups

    # -- the run-time model: completions append lessons, folded into run_model in batches -------------------------

    async def _fold_lessons(self, txn: Txn) -> None:
        """Fold the pending lessons into ``run_model`` (in id order), in the caller's transaction."""
        await txn.fetch(pg.FOLD_LOCK)
        while rows := await txn.fetch(pg.TAKE_LESSONS, (FOLD_BATCH,)):
            lessons = [Lesson(place=place, model=model, work_units=units, duration_s=duration, completed_ts=ts)
                       for place, model, units, duration, ts in rows]  # fmt: skip
            await history.learn_lessons(txn, lessons, self._min_samples)
            if len(rows) < FOLD_BATCH:
                break

    async def _fold(self) -> None:
        """Fold what completions taught, so that a read of the model reflects every completion before it (§10.3)."""
        if (await self._read(pg.SELECT_LESSONS))[0][0]:
            await self._submit(self._fold_lessons)
