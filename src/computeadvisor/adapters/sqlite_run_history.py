"""What the scheduler database keeps for the planner (§10.3, §10.4): learned records and queued-work totals.

* ``run_model``: one row per (place, model) key (``model = ''`` is the place over every model) with the record
  (samples and accuracy comparisons, msgpack) and its brief in columns, so that a plan reads a few numbers per
  place and never a sample. Rows change only when a job succeeds, in the transaction that completes it.
* ``queued_work``: queued work units and jobs per (queue, place, priority), kept by triggers in the same
  transaction as every insert, status change and delete of a queued job, like ``counters``. The place expression
  mirrors :func:`computeadvisor.domain.waiting.waiting_place` (``''`` for none).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from computeadvisor.adapters._sql_jobs import Txn
from computeadvisor.domain.jobs import Job
from computeadvisor.domain.runtime_model import (
    MIN_SAMPLES,
    Key,
    LearnedRate,
    Lesson,
    ModelEntry,
    PlaceRecord,
    Rate,
    evictions,
    lesson_of,
    model_entries,
    teach,
)
from computeadvisor.domain.waiting import QueuedWork, RunningWork, Workload, workload

_PLACE = (
    "CASE WHEN {r}.queue = 'remote' THEN coalesce('remote:' || {r}.provider_id, '') "
    "ELSE coalesce({r}.device_id, {r}.sticky_device_id, '') END"
)
_ADD = """INSERT INTO queued_work (queue, place, priority, jobs, work_units)
    VALUES (NEW.queue, {place}, NEW.priority, 1, NEW.work_units)
    ON CONFLICT (queue, place, priority)
    DO UPDATE SET jobs = jobs + 1, work_units = work_units + excluded.work_units;"""
_REMOVE = """UPDATE queued_work SET jobs = jobs - 1, work_units = max(0.0, work_units - OLD.work_units)
    WHERE queue = OLD.queue AND place = {place} AND priority = OLD.priority;
    DELETE FROM queued_work WHERE queue = OLD.queue AND place = {place} AND priority = OLD.priority AND jobs <= 0;"""

ADD_WORK_UNITS = "ALTER TABLE jobs ADD COLUMN work_units REAL NOT NULL DEFAULT 20.0"
CREATE_TABLES = (
    """CREATE TABLE queued_work (
        queue TEXT NOT NULL,
        place TEXT NOT NULL,
        priority INTEGER NOT NULL,
        jobs INTEGER NOT NULL,
        work_units REAL NOT NULL,
        PRIMARY KEY (queue, place, priority)
    ) WITHOUT ROWID""",
    """CREATE TABLE run_model (
        place TEXT NOT NULL,
        model TEXT NOT NULL,
        samples INTEGER NOT NULL,
        p50 REAL NOT NULL,
        p90 REAL NOT NULL,
        last_completed_ts REAL NOT NULL,
        record BLOB NOT NULL,
        PRIMARY KEY (place, model)
    ) WITHOUT ROWID""",
)
FILL_QUEUED_WORK = (
    "INSERT INTO queued_work (queue, place, priority, jobs, work_units) "
    f"SELECT queue, {_PLACE.format(r='jobs')}, priority, count(*), sum(work_units) FROM jobs WHERE status = 'queued' "
    "GROUP BY 1, 2, 3"
)


def _trigger(name: str, event: str, row: str, action: str) -> str:
    """A trigger that applies ``action`` (``_ADD`` or ``_REMOVE``) for the ``row`` (NEW or OLD) of a queued job."""
    body = action.format(place=_PLACE.format(r=row))
    return f"CREATE TRIGGER {name} AFTER {event} ON jobs WHEN {row}.status = 'queued' BEGIN {body} END"


TRIGGERS = (
    _trigger("jobs_work_insert", "INSERT", "NEW", _ADD),
    _trigger("jobs_work_leave", "UPDATE", "OLD", _REMOVE),
    _trigger("jobs_work_enter", "UPDATE", "NEW", _ADD),
    _trigger("jobs_work_delete", "DELETE", "OLD", _REMOVE),
)

SELECT_RATES = "SELECT place, model, samples, p50, p90, last_completed_ts FROM run_model"
SELECT_RECORDS = "SELECT place, model, record FROM run_model"
SELECT_QUEUED_WORK = "SELECT queue, place, priority, jobs, work_units FROM queued_work"
SELECT_RUNNING_WORK = "SELECT device_id, started_ts, work_units FROM jobs WHERE status = 'running' AND queue = 'local'"
_SELECT_RECORD = "SELECT record FROM run_model WHERE place = ? AND model = ?"
_SELECT_SEEN = "SELECT place, model, last_completed_ts FROM run_model"
_UPSERT = (
    "INSERT INTO run_model (place, model, samples, p50, p90, last_completed_ts, record) VALUES (?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (place, model) DO UPDATE SET samples = excluded.samples, p50 = excluded.p50, p90 = excluded.p90, "
    "last_completed_ts = excluded.last_completed_ts, record = excluded.record"
)
_DELETE = "DELETE FROM run_model WHERE place = ? AND model = ?"

_record_decoder = msgspec.msgpack.Decoder(PlaceRecord)
_encoder = msgspec.msgpack.Encoder()


def _model_key(model: str | None) -> str:
    return "" if model is None else model


def _model_of(text: str) -> str | None:
    return text or None


async def learn(txn: Txn, job: Job, min_samples: int = MIN_SAMPLES) -> None:
    """Teach the model what ``job`` (just finished) teaches, if anything, in the caller's transaction."""
    lesson = lesson_of(job)
    if lesson is not None:
        await learn_lessons(txn, [lesson], min_samples)


async def learn_lessons(txn: Txn, lessons: Sequence[Lesson], min_samples: int = MIN_SAMPLES) -> None:
    """Teach the model ``lessons`` in their order, in the caller's transaction (which no other writer of
    ``run_model`` runs beside: SQLite's one writer, or PostgreSQL's fold lock)."""
    fetch = txn.fetch
    records: dict[Key, PlaceRecord] = {}
    for key in dict.fromkeys(key for lesson in lessons for key in lesson.taught()):
        rows = await fetch(_SELECT_RECORD, (key[0], _model_key(key[1])))
        if rows:
            records[key] = _record_decoder.decode(rows[0][0])
    known = len(records)
    changed: set[Key] = set()
    for lesson in lessons:
        updated = teach(records, lesson, min_samples=min_samples)
        records.update(updated)
        changed.update(updated)
    for place, model in changed:
        record = records[(place, model)]
        brief = record.learned(place, model)
        rate = brief.seconds_per_unit
        await fetch(_UPSERT, (place, _model_key(model), brief.samples, rate.p50, rate.p90, brief.last_completed_ts,
                              _encoder.encode(record)))  # fmt: skip
    if len(records) > known:  # a new key: the model may have outgrown its bounds
        seen = {(place, _model_of(model)): float(ts) for place, model, ts in await fetch(_SELECT_SEEN)}
        for place, model in evictions(seen):
            await fetch(_DELETE, (place, _model_key(model)))


def rates_from_rows(rows: Sequence[Sequence[Any]]) -> list[LearnedRate]:
    """Briefs from ``SELECT_RATES`` rows."""
    return [
        LearnedRate(place=place, model=_model_of(model), samples=int(samples),
                    seconds_per_unit=Rate(p50=float(p50), p90=float(p90)), last_completed_ts=float(ts))
        for place, model, samples, p50, p90, ts in rows
    ]  # fmt: skip


def entries_from_rows(rows: Sequence[Sequence[Any]]) -> list[ModelEntry]:
    """§10.6 entries from ``SELECT_RECORDS`` rows."""
    return model_entries((place, _model_of(model), _record_decoder.decode(blob)) for place, model, blob in rows)


def workload_from_rows(queued: Sequence[Sequence[Any]], running: Sequence[Sequence[Any]]) -> Workload:
    """The workload from ``SELECT_QUEUED_WORK`` and ``SELECT_RUNNING_WORK`` rows, in the domain's order."""
    return workload(
        (QueuedWork(queue=queue, place=place or None, priority=int(priority), jobs=int(jobs), work_units=float(units))
         for queue, place, priority, jobs, units in queued),
        (RunningWork(place=place, started_ts=float(started or 0.0), work_units=float(units))
         for place, started, units in running),
    )  # fmt: skip
