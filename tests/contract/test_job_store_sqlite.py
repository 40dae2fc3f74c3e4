"""What only the SQLite JobStore can do: survive a reopen, migrate, batch commits, and share one file safely."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from computeadvisor.adapters import _sql_jobs as jobrows
from computeadvisor.adapters import sqlite_jobs_schema as sql
from computeadvisor.adapters.file_signatures import FileSignatures
from computeadvisor.adapters.sqlite_jobs import SqliteJobStore
from computeadvisor.adapters.sqlite_writer import WriteTxn
from computeadvisor.domain import job_machine as machine
from computeadvisor.domain.errors import Conflict, NotFound, StorageError
from computeadvisor.domain.job_requests import parse_claim, parse_complete
from computeadvisor.domain.job_spec import JobSpec, parse_enqueue
from computeadvisor.domain.jobs import Claimed, PriceBook
from tests.contract._job_support import FakeClock

pytestmark = pytest.mark.anyio


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteJobStore]:
    adapter = SqliteJobStore(tmp_path, clock=FakeClock())
    await adapter.open()
    yield adapter
    await adapter.close()


def query(path: Path, statement: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return list(conn.execute(statement))


async def test_layout_pragmas_and_migration_table(store: SqliteJobStore, tmp_path: Path) -> None:
    assert store.path == tmp_path / "data" / "scheduler.db"
    await store.enqueue(parse_enqueue({"id": "a"}))
    assert query(store.path, "PRAGMA journal_mode") == [("wal",)]
    assert query(store.path, "PRAGMA integrity_check") == [("ok",)]
    assert query(store.path, "SELECT version FROM schema_migrations") == [(1,), (2,), (3,), (4,)]


async def test_reopen_keeps_jobs_leases_counts_and_order(tmp_path: Path) -> None:
    clock = FakeClock()
    first = SqliteJobStore(tmp_path, clock=clock)
    await first.open()
    for body in ({"id": "a", "priority": 1}, {"id": "b", "priority": 1}, {"id": "c", "priority": 1}):
        await first.enqueue(parse_enqueue(body))
    claimed = await first.claim(parse_claim({"worker_id": "w"}))
    assert claimed is not None
    await first.close()
    await first.close()  # idempotent

    second = SqliteJobStore(tmp_path, clock=clock)
    await second.open()
    assert await second.get("a") == claimed.job
    await second.enqueue(parse_enqueue({"id": "d", "priority": 1}))
    ids = []
    while (next_claim := await second.claim(parse_claim({}))) is not None:
        ids.append(next_claim.job.id)
    assert ids == ["b", "c", "d"]  # the sequence continues after a reopen
    body = {"job_id": "a", "lease_token": claimed.lease.token}
    assert (await second.complete(parse_complete(body), PriceBook())).status == "succeeded"
    counts = await second.counts()
    assert (counts.queues.local, counts.active, counts.completed) == (0, 3, 1)
    await second.close()
    assert query(second.path, "PRAGMA integrity_check") == [("ok",)]


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    store = SqliteJobStore(tmp_path)
    await store.open()
    await store.close()
    with sqlite3.connect(store.path) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (99, 'future')")
    with pytest.raises(StorageError, match="schema version 99"):
        await SqliteJobStore(tmp_path).open()


async def test_unusable_path_is_a_storage_error(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("not a directory")
    with pytest.raises(StorageError):
        await SqliteJobStore(tmp_path).open()


async def test_closed_store_refuses_writes(tmp_path: Path) -> None:
    store = SqliteJobStore(tmp_path)
    await store.open()
    await store.close()
    with pytest.raises(StorageError, match="not open"):
        await store.enqueue(parse_enqueue({"id": "a"}))
    with pytest.raises(StorageError, match="not open"):
        await store.counts()


async def test_concurrent_writes_share_transactions(store: SqliteJobStore) -> None:
    await store.enqueue(parse_enqueue({"id": "dup", "priority": 1}))
    batches_before = store.writer.batches
    bodies = [{"id": f"j{n}"} for n in range(60)] + [{"id": "dup", "priority": 2}] * 5
    results = await asyncio.gather(*(store.enqueue(parse_enqueue(b)) for b in bodies), return_exceptions=True)
    assert all(isinstance(r, Conflict) for r in results[60:])
    assert all(isinstance(r, tuple) and r[1] for r in results[:60])  # conflicts did not poison the batch
    assert store.writer.batches - batches_before < 10
    assert (await store.counts()).queues.local == 61


async def test_an_operation_failing_after_its_writes_is_rolled_back_alone(store: SqliteJobStore) -> None:
    state = machine.new_state(JobSpec(id="ghost", name="ghost"), 0.0, 10**9)

    async def writes_then_fails(txn: WriteTxn) -> None:
        await txn.execute(jobrows.INSERT_JOB, jobrows.insert_params(state))
        assert await txn.fetch(jobrows.SELECT_JOB, ("ghost",))  # written, inside the batch's transaction
        raise Conflict("changed my mind")

    batches_before = store.writer.batches
    results = await asyncio.gather(
        store.enqueue(parse_enqueue({"id": "before"})),
        store.writer.submit(writes_then_fails),
        store.enqueue(parse_enqueue({"id": "after"})),
        return_exceptions=True,
    )
    assert isinstance(results[1], Conflict) and store.writer.batches == batches_before + 1
    assert [(await store.get(i)).id for i in ("before", "after")] == ["before", "after"]
    with pytest.raises(NotFound):
        await store.get("ghost")
    assert (await store.counts()).queues.local == 2


async def test_mixed_transitions_in_one_batch(store: SqliteJobStore) -> None:
    for n in range(10):
        await store.enqueue(parse_enqueue({"id": f"j{n}"}))
    for _ in range(5):
        await store.claim(parse_claim({}))  # j0..j4 run, j5..j9 stay queued
    batches_before = store.writer.batches
    bodies = [{"job_id": f"j{n}"} for n in range(10)]
    results = await asyncio.gather(
        *(store.complete(parse_complete(b), PriceBook()) for b in bodies), return_exceptions=True
    )
    assert [type(r).__name__ for r in results] == ["Job"] * 5 + ["Conflict"] * 5
    assert store.writer.batches - batches_before <= 2
    counts = await store.counts()
    assert (counts.queues.local, counts.active, counts.completed) == (5, 0, 5)


async def test_counts_see_another_writers_commits(signatures: FileSignatures, tmp_path: Path) -> None:
    one = SqliteJobStore(tmp_path, signatures=signatures)
    two = SqliteJobStore(tmp_path, signatures=signatures)  # another process on the same file
    await one.open()
    await two.open()
    try:
        assert (await one.counts()).queues.local == 0
        for n in range(3):
            await two.enqueue(parse_enqueue({"id": f"j{n}"}))
            assert (await one.counts()).queues.local == n + 1
        await two.claim(parse_claim({}))
        counts = await one.counts()
        assert (counts.queues.local, counts.active) == (2, 1)
    finally:
        await one.close()
        await two.close()


async def test_concurrent_claims_never_share_a_job(store: SqliteJobStore, tmp_path: Path) -> None:
    await asyncio.gather(*(store.enqueue(parse_enqueue({"id": f"j{n}", "priority": n % 3})) for n in range(120)))
    other = SqliteJobStore(tmp_path)  # a second writer on the same file, as another process would be
    await other.open()
    try:

        async def worker(adapter: SqliteJobStore) -> list[str]:
            got: list[str] = []
            while (claimed := await adapter.claim(parse_claim({}))) is not None:
                got.append(claimed.job.id)
            return got

        results = await asyncio.gather(*(worker(store if n % 2 else other) for n in range(16)))
    finally:
        await other.close()
    claimed_ids = [job_id for got in results for job_id in got]
    assert len(claimed_ids) == len(set(claimed_ids)) == 120
    counts = await store.counts()
    assert (counts.queues.local, counts.active) == (0, 120)


async def test_counters_match_the_rows(store: SqliteJobStore) -> None:
    for n in range(6):
        await store.enqueue(parse_enqueue({"id": f"j{n}", "queue": "remote" if n % 2 else "local"}))
    got: Claimed | None = await store.claim(parse_claim({"queue": "remote"}))
    assert got is not None
    await store.cancel("j0")
    counts = await store.counts()
    rows = {str(k): v for k, v in query(store.path, "SELECT status || ':' || queue, count(*) FROM jobs GROUP BY 1")}
    assert rows == {"queued:local": 2, "queued:remote": 2, "running:remote": 1, "cancelled:local": 1}
    assert (counts.queues.local, counts.queues.remote, counts.active, counts.completed) == (2, 2, 1, 1)


@pytest.mark.parametrize(
    ("statement", "params", "index"),
    [
        ("SELECT id FROM jobs WHERE queue = ? AND status = 'queued' ORDER BY priority DESC, seq LIMIT 1",
         ("local",), "jobs_claim"),
        (jobrows.SELECT_QUEUED, ("local", 5), "jobs_claim"),
        (jobrows.SELECT_RUNNING, (), "jobs_active"),
        (jobrows.SELECT_FINISHED, (5,), "jobs_finished"),
        (jobrows.SELECT_EXPIRED, (0.0,), "jobs_lease"),
        (jobrows.NEXT_EXPIRY, (), "jobs_lease"),
        (sql.PRUNE, (5,), "jobs_finished"),
    ],
)  # fmt: skip
async def test_hot_queries_use_their_index(
    store: SqliteJobStore, statement: str, params: tuple[object, ...], index: str
) -> None:
    with sqlite3.connect(store.path) as conn:
        plan = " ".join(str(row[-1]) for row in conn.execute(f"EXPLAIN QUERY PLAN {statement}", params))
    assert index in plan and "TEMP B-TREE" not in plan, plan


async def test_a_version_1_database_is_migrated_with_its_history_and_queues(tmp_path: Path) -> None:
    clock = FakeClock()
    store = SqliteJobStore(tmp_path, clock=clock)
    await store.open()
    for n in range(3):
        await store.enqueue(parse_enqueue({"id": f"done{n}", "payload": {"work_units": 10, "model": "sdxl"}}))
        await store.claim(parse_claim({"device_id": "gpu:0"}))
        clock.advance(1)
        await store.complete(parse_complete({"job_id": f"done{n}", "duration_sec": 4 + n}), PriceBook())
    await store.enqueue(parse_enqueue({"id": "running", "priority": 2, "payload": {"steps": 10}}))
    await store.enqueue(parse_enqueue({"id": "queued", "payload": {"work_units": 3}}))
    await store.claim(parse_claim({"device_id": "cpu"}))
    learned, workload = await store.model_report(), await store.workload()
    await store.close()
    with sqlite3.connect(store.path) as conn:  # back to what version 1 wrote
        conn.executescript(
            """DROP TABLE run_model; DROP TABLE queued_work;
            DROP TRIGGER jobs_work_insert; DROP TRIGGER jobs_work_leave; DROP TRIGGER jobs_work_enter;
            DROP TRIGGER jobs_work_delete; ALTER TABLE jobs DROP COLUMN work_units; DROP TABLE events;
            DROP INDEX jobs_scheduled; ALTER TABLE jobs DROP COLUMN run_at_ts;
            DELETE FROM schema_migrations WHERE version >= 2;"""
        )
    reopened = SqliteJobStore(tmp_path, clock=clock)
    await reopened.open()
    try:
        assert await reopened.model_report() == learned
        assert await reopened.workload() == workload
        assert workload.running[0].work_units == 10.0 and workload.queued[0].work_units == 3.0  # not the default 20
    finally:
        await reopened.close()


async def test_what_a_plan_reads_does_not_grow_with_the_history(tmp_path: Path) -> None:
    clock = FakeClock()
    store = SqliteJobStore(tmp_path, clock=clock)
    await store.open()
    statements: list[str] = []
    await store.trace_reads(statements.append)
    counted: list[int] = []
    try:
        for size in (0, 40, 400):  # finished jobs in the history (and queued ones beside them)
            while (await store.counts()).completed < size:
                done = (await store.counts()).completed
                await store.enqueue(parse_enqueue({"id": f"j{done}", "payload": {"work_units": 1 + done % 7}}))
                await store.enqueue(parse_enqueue({"id": f"q{done}"}))
                claimed = await store.claim(parse_claim({"device_id": "gpu:0"}))
                assert claimed is not None
                clock.advance(1)
                await store.complete(parse_complete({"job_id": claimed.job.id, "duration_sec": 2}), PriceBook())
            statements.clear()
            await store.learned_rates()
            await store.workload()
            counted.append(len(statements))
        assert counted[0] == counted[1] == counted[2] > 0, counted
        statements.clear()
        await store.learned_rates()
        await store.workload()
        assert statements == []  # unchanged files: both answers come from the cache
    finally:
        await store.close()
