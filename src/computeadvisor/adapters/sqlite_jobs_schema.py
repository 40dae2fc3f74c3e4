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
from collections.abc import Callable

import msgspec

from computeadvisor.adapters import sqlite_run_history as history
from computeadvisor.adapters._sql_jobs import (
    ALL_COLUMNS,
    DUE_SQL,
    FINISHED_SQL,
    SCHEDULED_JOBS,
    run_at_once,
    state_from_row,
)
from computeadvisor.adapters.sqlite_writer import WriteTxn
from computeadvisor.domain.job_spec import JobSpec
from computeadvisor.domain.waiting import job_units

SCHEMA_VERSION = 4
_KEY = "CASE {r}.status WHEN 'queued' THEN 'queued:' || {r}.queue WHEN 'running' THEN 'running' ELSE 'finished' END"

Step = str | Callable[[sqlite3.Connection], None]
"""One migration step: a statement, or a function that fills what statements cannot compute."""


_spec_decoder = msgspec.json.Decoder(JobSpec)


def _fill_work_units(conn: sqlite3.Connection) -> None:
    """Every stored job's work units, from its spec's payload (§10.1)."""
    for job_id, spec in conn.execute("SELECT id, spec FROM jobs WHERE status IN ('queued', 'running')").fetchall():
        payload = _spec_decoder.decode(spec).payload
        conn.execute("UPDATE jobs SET work_units = ? WHERE id = ?", (job_units(payload), job_id))


def _fill_run_model(conn: sqlite3.Connection) -> None:
    """The model as the retained succeeded jobs teach it, oldest first (at the default ``min_samples``)."""
    txn = WriteTxn(conn, 0)
    columns = ALL_COLUMNS.replace("run_at_ts", "NULL")  # migration 2 runs before migration 4 adds the column
    rows = conn.execute(f"SELECT {columns} FROM jobs WHERE status = 'succeeded' ORDER BY completed_ts, seq")
    for row in rows.fetchall():
        run_at_once(history.learn(txn, state_from_row(row).job))


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
    4: SCHEDULED_JOBS,
}
MIGRATIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER NOT NULL PRIMARY KEY, applied_at TEXT NOT NULL)"
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
WHERE id = (SELECT id FROM jobs WHERE queue = :queue AND status = 'queued' AND {DUE_SQL.format(now=":now")}
            ORDER BY priority DESC, seq LIMIT 1)
RETURNING {ALL_COLUMNS}"""
SELECT_COUNTERS = "SELECT name, value FROM counters"
SELECT_COUNTER = "SELECT value FROM counters WHERE name = ?"
SELECT_FINISHED_COUNT = "SELECT value FROM counters WHERE name = 'finished'"
SET_COUNTER = "UPDATE counters SET value = ? WHERE name = ?"
PRUNE = (
    f"DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE {FINISHED_SQL} ORDER BY completed_ts, seq LIMIT ?) "
    "RETURNING id"
)

EVENT_BOUNDS = (
    "SELECT (SELECT min(id) FROM events), coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0)"
)
