"""The scheduler's PostgreSQL schema (§14): migrations, and the statements that differ from SQLite's.

The tables mirror ``sqlite_jobs_schema`` and ``sqlite_run_history`` column for column, so the row conversions and
the portable statements of ``_sql_jobs`` serve both. What PostgreSQL does differently, for several writers at once:

* The claim locks its row with ``FOR UPDATE SKIP LOCKED``: concurrent claims (on any replica) take different jobs
  and never wait for each other. Every other transition writes its job only if the row is still the version it
  decided on (``SELECT_VERSIONED``, ``SAVE``); the expiry of leases locks the rows it changes (``FOR UPDATE``).
* Totals (``counters``) and queued-work sums (``queued_work``) are kept by one trigger function, spread over slots
  so that concurrent transitions rarely update the same row (one hot row would serialise every commit); reads sum
  the slots. A total goes to the writing connection's slot (its backend pid modulo ``COUNTER_SLOTS``), so one
  statement updates one row per total, taken in name order: a completion that also prunes an old job changed
  ``finished`` in two slots chosen by the two job ids, in no set order, and concurrent completions deadlocked once
  the retention was reached (schema 5; a slot may go below zero, the sums stay right). Queued work goes to one of
  16 slots chosen by a hash of the job id, so that a job's add and remove land in the same slot, no slot goes
  negative and a slot row is deleted when it empties.
* ``seq`` (§5.4) and event ids come from sequences. An event's transaction takes its transaction id before its event
  id (``FROM pg_current_xact_id()`` runs before ``nextval`` in the target list), which is what lets a reader tell a
  gap in the ids that a running transaction may still fill from one that stays (see ``PostgresJobStore``).
"""

from __future__ import annotations

from typing import Any

from computeadvisor.adapters._sql_jobs import (
    ALL_COLUMNS,
    DUE_SQL,
    FINISHED_SQL,
    INSERTED_COLUMNS,
    SCHEDULED_JOBS,
    UPDATED_COLUMNS,
)

SCHEMA_VERSION = 5
SLOTS = 16
_SLOT = f"abs(hashtext({{r}}.id)) % {SLOTS}"
_KEY = "CASE {r}.status WHEN 'queued' THEN 'queued:' || {r}.queue WHEN 'running' THEN 'running' ELSE 'finished' END"
_PLACE = (  # mirrors computeadvisor.domain.waiting.waiting_place ('' for none), as sqlite_run_history._PLACE
    "CASE WHEN {r}.queue = 'remote' THEN coalesce('remote:' || {r}.provider_id, '') "
    "ELSE coalesce({r}.device_id, {r}.sticky_device_id, '') END"
)

_DECREMENT = "UPDATE counters SET value = value - 1 WHERE name = old_key AND slot = {slot};"
_ADD = (
    "INSERT INTO counters (name, slot, value) VALUES ({key}, {slot}, {value}) "
    "ON CONFLICT (name, slot) DO UPDATE SET value = counters.value + {value};"
)
COUNTER_SLOTS = 64
_BACKEND_SLOT = f"pg_backend_pid() % {COUNTER_SLOTS}"


def _trigger_function(counter_slot: str, *, paired: bool = False, create: str = "CREATE OR REPLACE") -> str:
    """``jobs_totals``, the trigger function that keeps ``counters`` (in the slot ``counter_slot`` names: an SQL
    expression over ``{r}``, the old or new row) and ``queued_work``. ``paired``: a job's add and remove land in
    the same slot (schema 1), so a remove updates the row its add made; else a remove adds -1, making the row if
    there is none."""
    old_slot = counter_slot.format(r="OLD")
    decrement = _DECREMENT.format(slot=old_slot) if paired else _ADD.format(key="old_key", slot=old_slot, value=-1)
    increment = _ADD.format(key="new_key", slot=counter_slot.format(r="NEW"), value=1)
    return f"""{create} FUNCTION jobs_totals() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_key text := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE {_KEY.format(r="OLD")} END;
    new_key text := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE {_KEY.format(r="NEW")} END;
BEGIN
    -- Counter rows are taken in name order (and queued work after them), so that two transactions changing
    -- statuses never wait for each other in a cycle.
    IF old_key IS DISTINCT FROM new_key THEN
        IF new_key IS NULL OR (old_key IS NOT NULL AND old_key < new_key) THEN
            IF old_key IS NOT NULL THEN {decrement} END IF;
            IF new_key IS NOT NULL THEN {increment} END IF;
        ELSE
            {increment}
            IF old_key IS NOT NULL THEN {decrement} END IF;
        END IF;
    END IF;
    IF TG_OP <> 'INSERT' AND OLD.status = 'queued' THEN
        UPDATE queued_work SET jobs = jobs - 1, work_units = greatest(0.0, work_units - OLD.work_units)
        WHERE queue = OLD.queue AND place = {_PLACE.format(r="OLD")} AND priority = OLD.priority
          AND slot = {_SLOT.format(r="OLD")};
        DELETE FROM queued_work WHERE queue = OLD.queue AND place = {_PLACE.format(r="OLD")}
          AND priority = OLD.priority AND slot = {_SLOT.format(r="OLD")} AND jobs <= 0;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.status = 'queued' THEN
        INSERT INTO queued_work (queue, place, priority, slot, jobs, work_units)
        VALUES (NEW.queue, {_PLACE.format(r="NEW")}, NEW.priority, {_SLOT.format(r="NEW")}, 1, NEW.work_units)
        ON CONFLICT (queue, place, priority, slot)
        DO UPDATE SET jobs = queued_work.jobs + 1, work_units = queued_work.work_units + excluded.work_units;
    END IF;
    RETURN NULL;
END $$"""


MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE jobs (
            id TEXT NOT NULL PRIMARY KEY,
            seq BIGINT NOT NULL,
            name TEXT NOT NULL,
            queue TEXT NOT NULL,
            priority BIGINT NOT NULL,
            sticky INTEGER NOT NULL,
            sticky_device_id TEXT,
            device_id TEXT,
            provider_id TEXT,
            status TEXT NOT NULL,
            attempt INTEGER NOT NULL,
            runs TEXT NOT NULL,
            worker_id TEXT,
            error TEXT,
            created_ts DOUBLE PRECISION NOT NULL,
            updated_ts DOUBLE PRECISION NOT NULL,
            started_ts DOUBLE PRECISION,
            completed_ts DOUBLE PRECISION,
            duration_sec DOUBLE PRECISION,
            cost_estimate DOUBLE PRECISION,
            bytes_tx BIGINT,
            bytes_rx BIGINT,
            vram_gb DOUBLE PRECISION,
            lease_token TEXT,
            lease_expires_ts DOUBLE PRECISION,
            lease_seconds INTEGER,
            spec TEXT NOT NULL,
            work_units DOUBLE PRECISION NOT NULL DEFAULT 20.0
        )""",
        "CREATE SEQUENCE job_seq",
        "CREATE INDEX jobs_claim ON jobs (queue, priority DESC, seq) WHERE status = 'queued'",
        "CREATE INDEX jobs_active ON jobs (started_ts, seq) WHERE status = 'running'",
        "CREATE INDEX jobs_lease ON jobs (lease_expires_ts, seq) WHERE status = 'running'",
        f"CREATE INDEX jobs_finished ON jobs (completed_ts DESC, seq DESC) WHERE {FINISHED_SQL}",
        "CREATE TABLE counters (name TEXT NOT NULL, slot INTEGER NOT NULL, value BIGINT NOT NULL, "
        "PRIMARY KEY (name, slot))",
        """CREATE TABLE queued_work (
            queue TEXT NOT NULL,
            place TEXT NOT NULL,
            priority BIGINT NOT NULL,
            slot INTEGER NOT NULL,
            jobs BIGINT NOT NULL,
            work_units DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (queue, place, priority, slot)
        )""",
        """CREATE TABLE run_model (
            place TEXT NOT NULL,
            model TEXT NOT NULL,
            samples INTEGER NOT NULL,
            p50 DOUBLE PRECISION NOT NULL,
            p90 DOUBLE PRECISION NOT NULL,
            last_completed_ts DOUBLE PRECISION NOT NULL,
            record BYTEA NOT NULL,
            PRIMARY KEY (place, model)
        )""",
        "CREATE TABLE events (id BIGINT NOT NULL PRIMARY KEY, type TEXT NOT NULL, data TEXT NOT NULL)",
        "CREATE SEQUENCE events_id_seq",
        _trigger_function(_SLOT, paired=True, create="CREATE"),
        "CREATE TRIGGER jobs_totals_rows AFTER INSERT OR DELETE ON jobs FOR EACH ROW EXECUTE FUNCTION jobs_totals()",
        "CREATE TRIGGER jobs_totals_update AFTER UPDATE ON jobs FOR EACH ROW "
        "WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.status = 'queued' OR NEW.status = 'queued') "
        "EXECUTE FUNCTION jobs_totals()",
    ),
    2: (  # the provider registry (§14): one document, versioned so that replicas reload it only when it changed
        "CREATE TABLE provider_registry (singleton BOOLEAN NOT NULL PRIMARY KEY DEFAULT true CHECK (singleton), "
        "version BIGINT NOT NULL, document TEXT NOT NULL)",
    ),
    3: SCHEDULED_JOBS,
    4: (  # what completions teach the run-time model, until folded into run_model (see PostgresJobStore)
        "CREATE TABLE lessons (id BIGSERIAL PRIMARY KEY, place TEXT NOT NULL, model TEXT, "
        "work_units DOUBLE PRECISION NOT NULL, duration_s DOUBLE PRECISION NOT NULL, "
        "completed_ts DOUBLE PRECISION NOT NULL)",
    ),
    5: (_trigger_function(_BACKEND_SLOT),),  # totals in the writer's slot (see the module docstring)
}
MIGRATIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER NOT NULL PRIMARY KEY, applied_at TEXT NOT NULL)"
)
MIGRATION_LOCK = "SELECT pg_advisory_xact_lock(hashtext('computeadvisor.schema_migrations'))"
"""Replicas starting together migrate one after the other; the later ones find the work done."""
SCHEMA_VERSION_NOW = "SELECT coalesce(max(version), 0) FROM schema_migrations"
RECORD_MIGRATION = "INSERT INTO schema_migrations (version, applied_at) VALUES (%s, %s)"

SELECT_VERSIONED = f"SELECT {ALL_COLUMNS}, xmin::text FROM jobs WHERE id = ?"
"""A job's row and its version: ``xmin``, the transaction that wrote this version of the row, which every update
changes (``SAVE`` writes only the version it was given). VACUUM's freezing keeps it (PostgreSQL 9.4 and later), and a
version could come back only after 2^32 transactions."""
SELECT_EXPIRED = (
    f"SELECT {ALL_COLUMNS} FROM jobs WHERE status = 'running' AND lease_expires_ts <= ? "
    "ORDER BY lease_expires_ts, seq FOR UPDATE SKIP LOCKED"
)
SELECT_COUNTERS = "SELECT name, sum(value) FROM counters GROUP BY name"
FINISHED_COUNT = "SELECT coalesce(sum(value), 0) FROM counters WHERE name = 'finished'"
PRUNE = (
    f"DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE id IN (SELECT id FROM jobs WHERE {FINISHED_SQL} "
    "ORDER BY completed_ts, seq LIMIT ?) FOR UPDATE SKIP LOCKED) RETURNING id"
)
"""The ``?`` oldest finished jobs as this statement sees them, but for those another writer is deleting (a prune
that ran at the same time, with the same count): it never goes past them to newer ones, which pruned twice."""

SWEEP_EVERY = 1024
"""Every this many event ids at most (the retention, when smaller), a write deletes every event older than the
retention (see ``_logged``)."""

# A write of the hot path is one statement: the change, its event and the retention work as data-modifying CTEs, so
# that it costs one round trip (and enqueue and claim need no BEGIN/COMMIT). ``seq`` is drawn in the statement (a
# transition that draws one gets 0 from ``PgTxn.next_seq``).


def _logged(source: str, data: str = "%(event_data)s::text", where: str = "true") -> str:
    """The CTEs ``logged`` (the event of each row of ``source`` where ``where``: ``%(event_type)s``, ``data``) and
    the event log's retention (``%(event_retention)s`` events): ``trimmed``, the event exactly that many ids older
    than each new one, looked up by id, and every ``%(event_sweep)s``-th id ``swept``, all older ones (what a
    smaller retention, a row another writer had not committed yet or a skipped row left). A range delete on every
    write measured about a quarter fewer cycles per second: each walked the dead index entries of the rows deleted
    before it until vacuum removed them. Rows another writer is deleting are left to it, as waiting for them deadlocked
    concurrent writers. Named parameters."""
    return f"""logged AS (
    INSERT INTO events (id, type, data)
    SELECT nextval('events_id_seq'), %(event_type)s::text, {data} FROM {source}, pg_current_xact_id() WHERE {where}
    RETURNING id
), trimmed AS (
    DELETE FROM events WHERE id IN (
        SELECT id FROM events WHERE id IN (SELECT id - %(event_retention)s::bigint FROM logged) FOR UPDATE SKIP LOCKED)
), swept AS (
    DELETE FROM events WHERE id IN (
        SELECT id FROM events
        WHERE id <= (SELECT max(id) FROM logged WHERE id %% %(event_sweep)s::bigint = 0) - %(event_retention)s::bigint
        FOR UPDATE SKIP LOCKED)
)"""


LOG = f"WITH {_logged('(SELECT 1) AS one')} SELECT id FROM logged"
"""One event (``append``, a registry change's event)."""


def log_params(event_type: str, data: str | None, retention: int) -> dict[str, Any]:
    """The parameters ``_logged`` takes: the event (``data`` None where the statement builds it) and the retention."""
    sweep = max(1, min(SWEEP_EVERY, retention))
    return {"event_type": event_type, "event_data": data, "event_retention": retention, "event_sweep": sweep}


ENQUEUE = f"""WITH inserted AS (
    INSERT INTO jobs ({", ".join(INSERTED_COLUMNS)})
    VALUES ({", ".join("nextval('job_seq')" if c == "seq" else f"%({c})s" for c in INSERTED_COLUMNS)})
    ON CONFLICT (id) DO NOTHING RETURNING id
), {_logged("inserted")}
SELECT count(*) FROM inserted"""
"""A new job and its event; no row when the id is taken. Parameters: the ``INSERTED_COLUMNS`` (``seq`` ignored)."""
SAVE = f"""WITH saved AS (
    UPDATE jobs SET seq = CASE WHEN %(seq)s::bigint = 0 THEN nextval('job_seq') ELSE %(seq)s::bigint END,
        {", ".join(f"{c} = %({c})s" for c in UPDATED_COLUMNS)}
    WHERE id = %(id)s AND (%(version)s::text IS NULL OR xmin = %(version)s::text::xid)
    RETURNING id, xmin::text AS version
), {_logged("saved", where="%(log)s::boolean")}, pruned AS (
    DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE id IN (
        SELECT id FROM jobs WHERE {FINISHED_SQL} AND %(finishing)s::boolean AND EXISTS (SELECT 1 FROM saved)
        ORDER BY completed_ts, seq
        LIMIT greatest(0, (SELECT coalesce(sum(value), 0) FROM counters WHERE name = 'finished')
                          + 1 - %(retention)s::bigint)::bigint
    ) FOR UPDATE SKIP LOCKED)
), taught AS (
    INSERT INTO lessons (place, model, work_units, duration_s, completed_ts)
    SELECT %(lesson_place)s::text, %(lesson_model)s::text, %(lesson_work_units)s::float8,
           %(lesson_duration_s)s::float8, %(lesson_completed_ts)s::float8
    FROM saved WHERE %(lesson_place)s::text IS NOT NULL
    RETURNING id
)
SELECT (SELECT version FROM saved), (SELECT id FROM taught)"""
"""A changed job (parameters: ``id``, ``seq`` (0: draw the next) and the ``UPDATED_COLUMNS``), its event when
``log``, the retention of finished jobs when ``finishing`` (it becomes finished: the count read is from before it;
as ``PRUNE``, only the oldest by that count), and the lesson it teaches when ``lesson_place`` is not null (the
``Lesson``'s fields as ``lesson_<field>``). With ``version`` (an ``xmin`` read by ``SELECT_VERSIONED``) only that
version of the row is written, and nothing else when the row has changed since; with none, the caller holds the
row's lock. One row: the version written (null: nothing was), and the lesson's id."""
SELECT_LESSONS = "SELECT EXISTS (SELECT 1 FROM lessons)"
FOLD_LOCK = "SELECT pg_advisory_xact_lock(hashtext('computeadvisor.run_model'))"
"""One fold at a time, across replicas: a fold reads and rewrites run_model records."""
TAKE_LESSONS = (
    "WITH taken AS (DELETE FROM lessons WHERE id IN (SELECT id FROM lessons ORDER BY id LIMIT %s) "
    "RETURNING id, place, model, work_units, duration_s, completed_ts) "
    "SELECT place, model, work_units, duration_s, completed_ts FROM taken ORDER BY id"
)
"""The oldest ``%s`` lessons, removed, in the order they were taught."""
SELECT_QUEUED_WORK = (
    "SELECT queue, place, priority, sum(jobs), sum(work_units) FROM queued_work GROUP BY queue, place, priority "
    "HAVING sum(jobs) > 0"
)

SNAPSHOT_HORIZON = "SELECT pg_snapshot_xmin(s)::text, pg_snapshot_xmax(s)::text FROM pg_current_snapshot() AS s"
SELECT_EVENT_IDS = "SELECT id FROM events WHERE id > %s ORDER BY id LIMIT %s"
OLDEST_EVENT = "SELECT min(id) FROM events"

# The claim (§5.4): one statement picks the next queued job, skipping rows another claim holds, takes it and logs
# its event.
# Mirrors job_machine.claim, as sqlite_jobs_schema.CLAIM does.
_DEVICE = (
    "CASE WHEN j.sticky <> 0 AND j.sticky_device_id IS NOT NULL THEN j.sticky_device_id "
    "ELSE coalesce(%(device)s::text, j.device_id) END"
)
_CLAIM_EVENT = (  # mirrors computeadvisor.domain.events.job_event for queued -> running
    "json_build_object('job_id', claimed.id, 'queue', claimed.queue, 'from', 'queued', 'to', 'running', "
    "'attempt', claimed.attempt, 'device_id', claimed.device_id, 'provider_id', claimed.provider_id, "
    "'ts', %(started_at)s::text)::text"
)
CLAIM = f"""WITH next AS (
    SELECT id FROM jobs WHERE queue = %(queue)s AND status = 'queued' AND {DUE_SQL.format(now="%(now)s")}
    ORDER BY priority DESC, seq LIMIT 1 FOR UPDATE SKIP LOCKED
), claimed AS (
UPDATE jobs AS j SET
    status = 'running',
    seq = nextval('job_seq'),
    attempt = j.attempt + 1,
    worker_id = %(worker)s::text,
    device_id = {_DEVICE},
    sticky_device_id = CASE WHEN j.sticky <> 0 AND j.sticky_device_id IS NULL THEN %(device)s::text
                            ELSE j.sticky_device_id END,
    runs = (j.runs::jsonb || jsonb_build_array(jsonb_build_object('attempt', j.attempt + 1, 'device_id', {_DEVICE},
            'worker_id', %(worker)s::text, 'started_at', %(started_at)s::text)))::text,
    started_ts = %(now)s,
    updated_ts = %(now)s,
    lease_token = %(token)s,
    lease_expires_ts = %(expires)s,
    lease_seconds = %(seconds)s
FROM next WHERE j.id = next.id
RETURNING {", ".join(f"j.{column.strip()}" for column in ALL_COLUMNS.split(","))}, j.xmin::text AS version
), {_logged("claimed", _CLAIM_EVENT)}
SELECT {ALL_COLUMNS}, version FROM claimed"""
"""The job claimed (its ``ALL_COLUMNS`` and the version written, as ``SELECT_VERSIONED``), or no row."""
