"""What the SQL job stores (SQLite, PostgreSQL) share: the portable statements and rows <-> domain values.

Statements use ``?`` placeholders (the PostgreSQL transaction translates them); the column lists fix the order
every row conversion below relies on. A store's own statements (its claim, counters, migrations) live in its
schema module.
"""

from __future__ import annotations

from collections.abc import Coroutine, Iterable, Sequence
from typing import Any, Protocol, TypeVar

import msgspec

from computeadvisor.domain.events import Event, NewEvent
from computeadvisor.domain.job_machine import JobState, LeaseState
from computeadvisor.domain.job_spec import JobSpec
from computeadvisor.domain.jobs import Job, JobCore, JobCounts, JobStatus, JobView, QueueDepths, Run, public_view
from computeadvisor.domain.values import iso_utc
from computeadvisor.domain.waiting import ScheduledWork, job_units

T = TypeVar("T")


class Txn(Protocol):
    """What a write operation gets: statements inside its store's transaction, and the store-wide sequence.

    Operations are coroutines so that one definition serves both stores: PostgreSQL's statements wait for the
    server on the event loop; SQLite's complete at once on the writer thread, which runs the coroutine to its end in
    one step (:func:`run_at_once`).
    """

    def next_seq(self) -> int:
        """The next value of the store-wide sequence (§5.4); gaps are harmless."""
        ...

    async def fetch(self, statement: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Sequence[Any]]:
        """All rows of one statement."""
        ...

    async def execute(self, statement: str, params: Sequence[Any] = ()) -> None:
        """Run one statement."""
        ...


def run_at_once(operation: Coroutine[Any, Any, T]) -> T:
    """The result of a coroutine that never suspends (an operation on a ``Txn`` whose statements complete at once)."""
    try:
        operation.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    operation.close()
    raise RuntimeError("an operation waited for something on a transaction that runs at once")


FINISHED_SQL = "status IN ('succeeded', 'failed', 'cancelled')"
CORE_COLUMNS = (
    "id, name, queue, priority, sticky, sticky_device_id, device_id, provider_id, status, attempt, runs, "
    "worker_id, error, created_ts, updated_ts, started_ts, completed_ts, duration_sec, cost_estimate, "
    "bytes_tx, bytes_rx, vram_gb, lease_expires_ts, run_at_ts"
)
ALL_COLUMNS = f"{CORE_COLUMNS}, seq, lease_token, lease_seconds, spec"
INSERTED_COLUMNS = (*(column.strip() for column in ALL_COLUMNS.split(",")), "work_units")
"""The columns of a new job's row, in the order of :func:`insert_params`."""
UPDATED_COLUMNS = (
    "status", "priority", "sticky_device_id", "device_id", "attempt", "runs", "worker_id", "error", "updated_ts",
    "started_ts", "completed_ts", "duration_sec", "cost_estimate", "bytes_tx", "bytes_rx", "vram_gb", "lease_token",
    "lease_expires_ts", "lease_seconds", "run_at_ts",
)  # fmt: skip
"""The columns a transition may change besides ``seq``, in the order of :func:`update_params`."""

SELECT_JOB = f"SELECT {ALL_COLUMNS} FROM jobs WHERE id = ?"
INSERT_JOB = f"INSERT INTO jobs ({', '.join(INSERTED_COLUMNS)}) VALUES ({', '.join('?' * len(INSERTED_COLUMNS))})"
INSERT_NEW_JOB = f"{INSERT_JOB} ON CONFLICT (id) DO NOTHING RETURNING seq"
UPDATE_JOB = f"UPDATE jobs SET seq = ?, {', '.join(f'{column} = ?' for column in UPDATED_COLUMNS)} WHERE id = ?"

SELECT_EXPIRED = (
    f"SELECT {ALL_COLUMNS} FROM jobs WHERE status = 'running' AND lease_expires_ts <= ? ORDER BY lease_expires_ts, seq"
)
NEXT_EXPIRY = "SELECT lease_expires_ts FROM jobs WHERE status = 'running' ORDER BY lease_expires_ts, seq LIMIT 1"
SELECT_QUEUED = (
    f"SELECT {CORE_COLUMNS} FROM jobs WHERE queue = ? AND status = 'queued' ORDER BY priority DESC, seq LIMIT ?"
)
SELECT_RUNNING = f"SELECT {CORE_COLUMNS} FROM jobs WHERE status = 'running' ORDER BY started_ts, seq"
SELECT_FINISHED = f"SELECT {CORE_COLUMNS} FROM jobs WHERE {FINISHED_SQL} ORDER BY completed_ts DESC, seq DESC LIMIT ?"
SELECT_RUNNING_PER_QUEUE = "SELECT queue, count(*) FROM jobs WHERE status = 'running' GROUP BY queue"
SCHEDULED_JOBS = (
    "ALTER TABLE jobs ADD COLUMN run_at_ts DOUBLE PRECISION",
    "CREATE INDEX jobs_scheduled ON jobs (run_at_ts) WHERE status = 'queued' AND run_at_ts IS NOT NULL",
)
"""The migration both databases take for §15's scheduled jobs and retries (a column and a partial index)."""
DUE_SQL = "(run_at_ts IS NULL OR run_at_ts <= {now})"
"""The claim's condition on a queued job (§15); ``{now}`` is the store's placeholder for the claim's time."""
_PLACE = (
    "CASE WHEN queue = 'remote' THEN coalesce('remote:' || provider_id, '') "
    "ELSE coalesce(device_id, sticky_device_id, '') END"
)
SELECT_SCHEDULED = (
    f"SELECT queue, {_PLACE}, priority, count(*), sum(work_units), min(run_at_ts) FROM jobs "
    "WHERE status = 'queued' AND run_at_ts > ? GROUP BY 1, 2, 3"
)
"""The queued jobs not due at ``?`` per (queue, place, priority): how many, their units and the earliest due time."""

_spec_decoder = msgspec.json.Decoder(JobSpec)
_runs_decoder = msgspec.json.Decoder(tuple[Run, ...])
_encoder = msgspec.json.Encoder()


def _real(value: Any) -> float | None:
    # REAL affinity is not applied to every value an UPDATE ... RETURNING hands back (an integer written at
    # enqueue comes back as 16, not 16.0), so floats are made floats here, once for every read path.
    return None if value is None else float(value)


def _core_fields(row: Sequence[Any]) -> dict[str, Any]:
    return {
        "id": row[0],
        "name": row[1],
        "queue": row[2],
        "priority": row[3],
        "sticky": bool(row[4]),
        "sticky_device_id": row[5],
        "device_id": row[6],
        "provider_id": row[7],
        "status": JobStatus(row[8]),
        "attempt": row[9],
        "runs": _runs_decoder.decode(row[10]),
        "worker_id": row[11],
        "error": row[12],
        "created_ts": _real(row[13]),
        "updated_ts": _real(row[14]),
        "started_ts": _real(row[15]),
        "completed_ts": _real(row[16]),
        "duration_sec": _real(row[17]),
        "cost_estimate": _real(row[18]),
        "bytes_tx": row[19],
        "bytes_rx": row[20],
        "vram_gb": _real(row[21]),
        "lease_expires_at": None if row[22] is None else iso_utc(row[22]),
        "run_at_ts": _real(row[23]),
    }


def core_from_row(row: Sequence[Any]) -> JobCore:
    """A job without payload and meta, from the ``CORE_COLUMNS`` of a row."""
    return JobCore(**_core_fields(row))


def views_from_rows(rows: Iterable[Sequence[Any]]) -> list[JobView]:
    """Public views from rows of ``CORE_COLUMNS``."""
    return [public_view(core_from_row(row)) for row in rows]


def state_from_row(row: Sequence[Any]) -> JobState:
    """The stored job, from the ``ALL_COLUMNS`` of a row."""
    spec = _spec_decoder.decode(row[27])
    job = Job(**_core_fields(row), payload=spec.payload, meta=spec.meta)
    expires, seq, token, seconds = row[22], row[24], row[25], row[26]
    lease = None if token is None else LeaseState(token=token, expires_ts=expires, seconds=seconds)
    return JobState(job=job, seq=seq, lease=lease, spec=spec)


def _lease_params(state: JobState) -> tuple[Any, Any, Any]:
    lease = state.lease
    return (None, None, None) if lease is None else (lease.token, lease.expires_ts, lease.seconds)


def _runs_text(job: Job) -> str:
    return _encoder.encode(job.runs).decode()


def insert_params(state: JobState) -> tuple[Any, ...]:
    """Parameters of ``INSERT_JOB`` for a new job (the ``INSERTED_COLUMNS``)."""
    j = state.job
    token, expires, seconds = _lease_params(state)
    return (
        j.id, j.name, j.queue, j.priority, int(j.sticky), j.sticky_device_id, j.device_id, j.provider_id,
        j.status, j.attempt, _runs_text(j), j.worker_id, j.error, j.created_ts, j.updated_ts, j.started_ts,
        j.completed_ts, j.duration_sec, j.cost_estimate, j.bytes_tx, j.bytes_rx, j.vram_gb, expires, j.run_at_ts,
        state.seq, token, seconds, _encoder.encode(state.spec).decode(), job_units(j.payload),
    )  # fmt: skip


def update_params(state: JobState) -> tuple[Any, ...]:
    """Parameters of ``UPDATE_JOB``: ``seq``, the ``UPDATED_COLUMNS``, then the job's id."""
    j = state.job
    return (
        state.seq, j.status, j.priority, j.sticky_device_id, j.device_id, j.attempt, _runs_text(j), j.worker_id,
        j.error, j.updated_ts, j.started_ts, j.completed_ts, j.duration_sec, j.cost_estimate, j.bytes_tx,
        j.bytes_rx, j.vram_gb, *_lease_params(state), j.run_at_ts, j.id,
    )  # fmt: skip


def scheduled_from_rows(rows: Iterable[Sequence[Any]]) -> list[ScheduledWork]:
    """``SELECT_SCHEDULED`` rows as the domain's values."""
    return [
        ScheduledWork(queue=str(queue), place=place or None, priority=int(priority), jobs=int(jobs),
                      work_units=float(units), next_due_ts=float(due))
        for queue, place, priority, jobs, units, due in rows
    ]  # fmt: skip


def counts_from_rows(rows: Sequence[Sequence[Any]], scheduled: Iterable[ScheduledWork] = ()) -> JobCounts:
    """The totals from the ``counters`` rows, the jobs not yet due (``scheduled``) counted apart from the queues."""
    values = {str(name): int(value) for name, value in rows}
    later = {"local": 0, "remote": 0}
    for work in scheduled:
        later[work.queue] += work.jobs
    return JobCounts(
        queues=QueueDepths(**{queue: values.get(f"queued:{queue}", 0) - later[queue] for queue in later}),
        active=values.get("running", 0),
        completed=values.get("finished", 0),
        scheduled=QueueDepths(**later),
    )


INSERT_EVENT = "INSERT INTO events (type, data) VALUES (?, ?) RETURNING id"
TRIM_EVENTS = "DELETE FROM events WHERE id <= ?"
SELECT_EVENTS = "SELECT id, type, data FROM events WHERE id > ? ORDER BY id LIMIT ?"

_data_decoder = msgspec.json.Decoder(dict[str, Any])


def event_params(event: NewEvent) -> tuple[str, str]:
    """Parameters of ``INSERT_EVENT``."""
    return event.type, _encoder.encode(event.data).decode()


def events_from_rows(rows: Iterable[Sequence[Any]]) -> list[Event]:
    """Events from ``SELECT_EVENTS`` rows."""
    return [Event(id=int(row[0]), type=str(row[1]), data=_data_decoder.decode(row[2])) for row in rows]
