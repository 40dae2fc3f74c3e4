"""The scheduler database (``data/scheduler.db``): schema migrations, statements, and rows <-> domain values.

Layout choices, each for a measured reason:

* One row per job with a column per record field, so the claim can be one ``UPDATE ... RETURNING`` and the
  state page and board read columns without decoding payloads. ``spec`` holds the first enqueue's normalized spec
  as JSON (§5.6), which is also where ``payload`` and ``meta`` live: they never change after enqueue.
* ``runs`` is a JSON array column rather than a table: it is only ever read whole with its job, it grows by one
  entry per claim (bounded by the attempts), and appending with ``json_insert`` keeps the claim a single statement.
* Partial indexes per status keep claim, pages and expiry at O(log n) however many finished or queued rows there
  are; each index holds only the rows of its status.
* ``counters`` is maintained by triggers in the same transaction as every insert, status change and delete, so
  counts never scan and can never disagree with the rows. It also holds ``seq`` (§5.4), the store-wide sequence.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import msgspec

from computeadvisor.adapters import sqlite_run_history as history
from computeadvisor.adapters.sqlite_writer import WriteTxn
from computeadvisor.domain.events import Event, NewEvent
from computeadvisor.domain.job_machine import JobState, LeaseState
from computeadvisor.domain.job_spec import JobSpec
from computeadvisor.domain.jobs import Job, JobCore, JobCounts, JobStatus, JobView, QueueDepths, Run, public_view
from computeadvisor.domain.values import iso_utc
from computeadvisor.domain.waiting import job_units

SCHEMA_VERSION = 3
FINISHED_SQL = "status IN ('succeeded', 'failed', 'cancelled')"
_KEY = "CASE {r}.status WHEN 'queued' THEN 'queued:' || {r}.queue WHEN 'running' THEN 'running' ELSE 'finished' END"

Step = str | Callable[[sqlite3.Connection], None]
"""One migration step: a statement, or a function that fills what statements cannot compute."""


def _fill_work_units(conn: sqlite3.Connection) -> None:
    """Every stored job's work units, from its spec's payload (§10.1)."""
    for job_id, spec in conn.execute("SELECT id, spec FROM jobs WHERE status IN ('queued', 'running')").fetchall():
        payload = _spec_decoder.decode(spec).payload
        conn.execute("UPDATE jobs SET work_units = ? WHERE id = ?", (job_units(payload), job_id))


def _fill_run_model(conn: sqlite3.Connection) -> None:
    """The model as the retained succeeded jobs teach it, oldest first (at the default ``min_samples``)."""
    txn = WriteTxn(conn, 0)
    rows = conn.execute(f"SELECT {ALL_COLUMNS} FROM jobs WHERE status = 'succeeded' ORDER BY completed_ts, seq")
    for row in rows.fetchall():
        history.learn(txn, state_from_row(row).job)


MIGRATIONS: dict[int, tuple[Step, ...]] = {
    1: (
        """CREATE TABLE jobs (
            id TEXT NOT NULL PRIMARY KEY,
            seq INTEGER NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
            queue TEXT NOT NULL CHECK (queue IN ('local', 'remote')),
            priority INTEGER NOT NULL,
            name TEXT NOT NULL,
            sticky INTEGER NOT NULL,
            sticky_device_id TEXT,
            device_id TEXT,
            provider_id TEXT,
            attempt INTEGER NOT NULL,
            runs TEXT NOT NULL,
            worker_id TEXT,
            error TEXT,
            created_ts REAL NOT NULL,
            updated_ts REAL NOT NULL,
            started_ts REAL,
            completed_ts REAL,
            duration_sec REAL,
            cost_estimate REAL,
            bytes_tx INTEGER,
            bytes_rx INTEGER,
            vram_gb REAL,
            lease_token TEXT,
            lease_expires_ts REAL,
            lease_seconds INTEGER,
            spec TEXT NOT NULL
        )""",
        "CREATE INDEX jobs_claim ON jobs (queue, priority DESC, seq) WHERE status = 'queued'",
        "CREATE INDEX jobs_active ON jobs (started_ts, seq) WHERE status = 'running'",
        "CREATE INDEX jobs_lease ON jobs (lease_expires_ts, seq) WHERE status = 'running'",
        f"CREATE INDEX jobs_finished ON jobs (completed_ts DESC, seq DESC) WHERE {FINISHED_SQL}",
        "CREATE TABLE counters (name TEXT NOT NULL PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID",
        "INSERT INTO counters (name, value) VALUES "
        "('queued:local', 0), ('queued:remote', 0), ('running', 0), ('finished', 0), ('seq', 0)",
        f"""CREATE TRIGGER jobs_count_insert AFTER INSERT ON jobs BEGIN
            UPDATE counters SET value = value + 1 WHERE name = {_KEY.format(r="NEW")};
        END""",
        f"""CREATE TRIGGER jobs_count_update AFTER UPDATE OF status ON jobs WHEN OLD.status IS NOT NEW.status BEGIN
            UPDATE counters SET value = value - 1 WHERE name = {_KEY.format(r="OLD")};
            UPDATE counters SET value = value + 1 WHERE name = {_KEY.format(r="NEW")};
        END""",
        f"""CREATE TRIGGER jobs_count_delete AFTER DELETE ON jobs BEGIN
            UPDATE counters SET value = value - 1 WHERE name = {_KEY.format(r="OLD")};
        END""",
    ),
    2: (  # the planner's history and queue totals (§10.3, §10.4), filled from what is stored
        history.ADD_WORK_UNITS,
        _fill_work_units,
        *history.CREATE_TABLES,
        history.FILL_QUEUED_WORK,
        *history.TRIGGERS,
        _fill_run_model,
    ),
    3: (  # the event log (§11): ids never reused (AUTOINCREMENT), so a client's position stays meaningful
        "CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, type TEXT NOT NULL, data TEXT NOT NULL)",
    ),
}
MIGRATIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER NOT NULL PRIMARY KEY, applied_at TEXT NOT NULL)"
)

CORE_COLUMNS = (
    "id, name, queue, priority, sticky, sticky_device_id, device_id, provider_id, status, attempt, runs, "
    "worker_id, error, created_ts, updated_ts, started_ts, completed_ts, duration_sec, cost_estimate, "
    "bytes_tx, bytes_rx, vram_gb, lease_expires_ts"
)
ALL_COLUMNS = f"{CORE_COLUMNS}, seq, lease_token, lease_seconds, spec"

SELECT_JOB = f"SELECT {ALL_COLUMNS} FROM jobs WHERE id = ?"
INSERT_JOB = f"INSERT INTO jobs ({ALL_COLUMNS}, work_units) VALUES ({', '.join('?' * 28)})"
INSERT_NEW_JOB = f"{INSERT_JOB} ON CONFLICT (id) DO NOTHING RETURNING seq"
UPDATE_JOB = (
    "UPDATE jobs SET seq = ?, status = ?, priority = ?, sticky_device_id = ?, device_id = ?, attempt = ?, "
    "runs = ?, worker_id = ?, error = ?, updated_ts = ?, started_ts = ?, completed_ts = ?, duration_sec = ?, "
    "cost_estimate = ?, bytes_tx = ?, bytes_rx = ?, vram_gb = ?, lease_token = ?, lease_expires_ts = ?, "
    "lease_seconds = ? WHERE id = ?"
)
# The claim (§5.4, §5.9): one statement picks and takes the job, so no other claim can see it queued. SQLite
# evaluates every SET expression on the old row, hence the device rule spelled twice. Mirrors job_machine.claim.
_CLAIMED_DEVICE = (
    "CASE WHEN sticky AND sticky_device_id IS NOT NULL THEN sticky_device_id ELSE coalesce(:device, device_id) END"
)
CLAIM = f"""UPDATE jobs SET
    status = 'running',
    seq = :seq,
    attempt = attempt + 1,
    worker_id = :worker,
    device_id = {_CLAIMED_DEVICE},
    sticky_device_id = CASE WHEN sticky AND sticky_device_id IS NULL THEN :device ELSE sticky_device_id END,
    runs = json_insert(runs, '$[#]', json_object(
        'attempt', attempt + 1, 'device_id', {_CLAIMED_DEVICE}, 'worker_id', :worker, 'started_at', :started_at)),
    started_ts = :now,
    updated_ts = :now,
    lease_token = :token,
    lease_expires_ts = :expires,
    lease_seconds = :seconds
WHERE id = (SELECT id FROM jobs WHERE queue = :queue AND status = 'queued' ORDER BY priority DESC, seq LIMIT 1)
RETURNING {ALL_COLUMNS}"""
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
SELECT_COUNTERS = "SELECT name, value FROM counters"
SELECT_COUNTER = "SELECT value FROM counters WHERE name = ?"
SET_COUNTER = "UPDATE counters SET value = ? WHERE name = ?"
PRUNE = (
    f"DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE {FINISHED_SQL} ORDER BY completed_ts, seq LIMIT ?) "
    "RETURNING id"
)

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
    }


def core_from_row(row: Sequence[Any]) -> JobCore:
    """A job without payload and meta, from the ``CORE_COLUMNS`` of a row."""
    return JobCore(**_core_fields(row))


def views_from_rows(rows: Iterable[Sequence[Any]]) -> list[JobView]:
    """Public views from rows of ``CORE_COLUMNS``."""
    return [public_view(core_from_row(row)) for row in rows]


def state_from_row(row: Sequence[Any]) -> JobState:
    """The stored job, from the ``ALL_COLUMNS`` of a row."""
    spec = _spec_decoder.decode(row[26])
    job = Job(**_core_fields(row), payload=spec.payload, meta=spec.meta)
    expires, seq, token, seconds = row[22], row[23], row[24], row[25]
    lease = None if token is None else LeaseState(token=token, expires_ts=expires, seconds=seconds)
    return JobState(job=job, seq=seq, lease=lease, spec=spec)


def _lease_params(state: JobState) -> tuple[Any, Any, Any]:
    lease = state.lease
    return (None, None, None) if lease is None else (lease.token, lease.expires_ts, lease.seconds)


def _runs_text(job: Job) -> str:
    return _encoder.encode(job.runs).decode()


def insert_params(state: JobState) -> tuple[Any, ...]:
    """Parameters of ``INSERT_JOB`` for a new job."""
    j = state.job
    token, expires, seconds = _lease_params(state)
    return (
        j.id, j.name, j.queue, j.priority, int(j.sticky), j.sticky_device_id, j.device_id, j.provider_id,
        j.status, j.attempt, _runs_text(j), j.worker_id, j.error, j.created_ts, j.updated_ts, j.started_ts,
        j.completed_ts, j.duration_sec, j.cost_estimate, j.bytes_tx, j.bytes_rx, j.vram_gb, expires,
        state.seq, token, seconds, _encoder.encode(state.spec).decode(), job_units(j.payload),
    )  # fmt: skip


def update_params(state: JobState) -> tuple[Any, ...]:
    """Parameters of ``UPDATE_JOB``: every field a transition may change."""
    j = state.job
    return (
        state.seq, j.status, j.priority, j.sticky_device_id, j.device_id, j.attempt, _runs_text(j), j.worker_id,
        j.error, j.updated_ts, j.started_ts, j.completed_ts, j.duration_sec, j.cost_estimate, j.bytes_tx,
        j.bytes_rx, j.vram_gb, *_lease_params(state), j.id,
    )  # fmt: skip


def counts_from_rows(rows: Sequence[Sequence[Any]]) -> JobCounts:
    """The totals from the ``counters`` rows."""
    values = {str(name): int(value) for name, value in rows}
    return JobCounts(
        queues=QueueDepths(local=values.get("queued:local", 0), remote=values.get("queued:remote", 0)),
        active=values.get("running", 0),
        completed=values.get("finished", 0),
    )


INSERT_EVENT = "INSERT INTO events (type, data) VALUES (?, ?) RETURNING id"
TRIM_EVENTS = "DELETE FROM events WHERE id <= ?"
SELECT_EVENTS = "SELECT id, type, data FROM events WHERE id > ? ORDER BY id LIMIT ?"
EVENT_BOUNDS = (
    "SELECT (SELECT min(id) FROM events), coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0)"
)
_data_decoder = msgspec.json.Decoder(dict[str, Any])


def event_params(event: NewEvent) -> tuple[str, str]:
    """Parameters of ``INSERT_EVENT``."""
    return event.type, _encoder.encode(event.data).decode()


def events_from_rows(rows: Iterable[Sequence[Any]]) -> list[Event]:
    """Events from ``SELECT_EVENTS`` rows."""
    return [Event(id=int(row[0]), type=str(row[1]), data=_data_decoder.decode(row[2])) for row in rows]
