"""What only the PostgreSQL adapters do; the shared contract suites run over them through ``JOB_STORES`` and
``REGISTRIES``."""

from __future__ import annotations

import asyncio
import statistics
from pathlib import Path

import psycopg
import pytest

from computeadvisor.adapters import postgres_jobs_schema as pg
from computeadvisor.adapters.postgres_jobs import FOLD_EVERY, REMEMBERED_SPEC_BYTES, PostgresJobStore
from computeadvisor.adapters.postgres_registry import PostgresRegistry
from computeadvisor.app.bootstrap import opened
from computeadvisor.domain.errors import Conflict, NotFound
from computeadvisor.domain.events import provider_event
from computeadvisor.domain.job_requests import parse_claim, parse_complete, parse_heartbeat
from computeadvisor.domain.job_spec import parse_enqueue
from computeadvisor.domain.jobs import PriceBook
from computeadvisor.domain.providers import ProviderRecord
from tests import _postgres
from tests.contract._job_support import JOB_STORES, FakeClock

pytestmark = pytest.mark.anyio


def test_the_contract_suites_run_on_postgres() -> None:
    """Skips (fails in CI) with the reason when the server is not reachable: the suites then ran without it."""
    _postgres.require()
    assert "postgres" in JOB_STORES


async def test_reopen_keeps_jobs_and_refuses_a_newer_schema(tmp_path: Path) -> None:
    _postgres.require()
    url, schema = _postgres.database_url(), _postgres.schema_for(tmp_path)
    store = PostgresJobStore(url, schema=schema)
    await store.open()
    await store.close()
    store = PostgresJobStore(url, schema=schema)
    await store.open()  # the second open finds the schema current
    await store.close()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'INSERT INTO "{schema}".schema_migrations VALUES (99, %s)', ("2099-01-01T00:00:00Z",))
    with pytest.raises(Exception, match="schema version 99"):
        await PostgresJobStore(url, schema=schema).open()


async def test_totals_kept_by_schema_4_stay_right_after_the_upgrade(tmp_path: Path) -> None:
    """Schema 5 moves the totals to the writer's slot: jobs counted under schema 4 (in their id's slot) are
    claimed, finished and pruned afterwards, and every total still matches the rows."""
    _postgres.require()
    url, schema = _postgres.database_url(), _postgres.schema_for(tmp_path / "upgrade")
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'SET LOCAL search_path = "{schema}"')
        conn.execute(pg.MIGRATIONS_TABLE)
        for version in range(1, 5):  # what a release of schema 4 made
            for statement in pg.MIGRATIONS[version]:
                conn.execute(statement)
            conn.execute(pg.RECORD_MIGRATION, (version, "2026-12-01T00:00:00Z"))
        conn.execute(
            "INSERT INTO jobs (id, seq, name, queue, priority, sticky, provider_id, status, attempt, runs, created_ts, "
            "updated_ts, spec) SELECT 'old-' || n, nextval('job_seq'), 'old-' || n, 'local', 0, 0, 'local', 'queued', "
            """0, '[]', 1.7e9, 1.7e9, '{"id": "old-' || n || '", "name": "old-' || n || '"}' """
            "FROM generate_series(1, 12) AS n"
        )
    store = PostgresJobStore(url, schema=schema, pool_size=4, retention=5)
    async with opened(store):
        assert (await store.counts()).queues.local == 12

        async def worker(n: int) -> None:
            while (claimed := await store.claim(parse_claim({"worker_id": f"w{n}"}))) is not None:
                request = parse_complete({"job_id": claimed.job.id, "lease_token": claimed.lease.token})
                await store.complete(request, PriceBook())

        await asyncio.gather(*(worker(n) for n in range(4)))
        counts, state = await store.counts(), await store.state(100)
        assert (counts.queues.local, counts.active, counts.completed) == (
            len(state.queues.local), len(state.active), len(state.completed)
        )  # fmt: skip
        # Never fewer than the retention: concurrent completions that each pruned by the same count pruned twice.
        # More only by completions that ran together (each prunes by the count it saw, not the others').
        assert (counts.queues.local, counts.active) == (0, 0) and 5 <= counts.completed <= 5 + 3


async def test_a_provider_saved_through_one_replica_is_read_by_the_next_request_of_another(tmp_path: Path) -> None:
    _postgres.require()
    url, schema = _postgres.database_url(), _postgres.schema_for(tmp_path / "registry")
    first, second = PostgresRegistry(url, schema=schema), PostgresRegistry(url, schema=schema)
    async with opened(first, second):
        assert await second.records() == []
        await first.upsert(ProviderRecord(id="rp", kind="runpod", meta={"cost_per_minute": 0.1}))
        assert [r.id for r in await second.records()] == ["rp"]  # no waiting, no notification: the next read

        async def save(registry: PostgresRegistry, n: int) -> None:
            await registry.upsert(ProviderRecord(id=f"p{n}", kind="custom"))

        await asyncio.gather(*(save(first if n % 2 else second, n) for n in range(20)))  # none lost
        assert sorted(r.id for r in await first.records()) == sorted(["rp", *(f"p{n}" for n in range(20))])
        assert (await second.stats()).total == 21


async def test_a_registry_change_and_its_event_commit_together(tmp_path: Path) -> None:
    _postgres.require()
    url, schema = _postgres.database_url(), _postgres.schema_for(tmp_path / "shared")
    jobs, registry = PostgresJobStore(url, schema=schema), PostgresRegistry(url, schema=schema)
    async with opened(jobs, registry):
        assert registry.logs_events
        saved = provider_event("rp", "upsert", 1_760_000_000.0)
        await registry.upsert(ProviderRecord(id="rp", kind="runpod"), saved)
        with pytest.raises(NotFound):  # refused: neither the change nor its event is written
            await registry.delete("nobody", provider_event("nobody", "delete", 1_760_000_001.0))
        await registry.delete("rp", provider_event("rp", "delete", 1_760_000_002.0))
        events = await jobs.events_after(0, 10)
        assert [(e.type, e.data["provider_id"], e.data["op"]) for e in events] == [
            ("provider", "rp", "upsert"),
            ("provider", "rp", "delete"),
        ]
        assert (await jobs.event_bounds())[1] == events[-1].id


async def test_concurrent_writers_with_trimming_and_pruning_never_fail(tmp_path: Path) -> None:
    """Sixteen writers on one store whose retention trims events and prunes jobs on almost every write: no
    transition is refused (a deadlock PostgreSQL breaks is run again), and the totals agree with the rows."""
    _postgres.require()
    store = PostgresJobStore(_postgres.database_url(), schema=_postgres.schema_for(tmp_path / "busy"), pool_size=16,
                             retention=5, event_retention=10)  # fmt: skip
    async with opened(store):

        async def worker(n: int) -> None:
            for k in range(15):
                await store.enqueue(parse_enqueue({"id": f"w{n}-{k}"}))
                claimed = await store.claim(parse_claim({"worker_id": f"w{n}"}))
                if claimed is not None:
                    request = parse_complete({"job_id": claimed.job.id, "lease_token": claimed.lease.token})
                    await store.complete(request, PriceBook())

        await asyncio.gather(*(worker(n) for n in range(16)))
        counts = await store.counts()
        state = await store.state(1000)
        assert counts.completed == len(state.completed) <= 5 + 16  # pruned as they finish (concurrent ones may pass)
        assert counts.queues.local == len(state.queues.local) and counts.active == len(state.active) == 0
        oldest, newest = await store.event_bounds()  # the last 10, what the last sweep (every 10th id) left, and
        assert oldest is not None and newest - oldest < 10 + 10 + 16 * 3  # what was not committed yet then


async def test_a_job_a_replica_remembers_is_decided_on_the_row_when_another_replica_changed_it(tmp_path: Path) -> None:
    """A store remembers the running jobs it wrote (to skip the read); what another replica wrote since is never
    overruled: a refusal on the remembered job is decided again on the row, and a write of a stale version is not
    applied but decided again."""
    _postgres.require()
    url, schema = _postgres.database_url(), _postgres.schema_for(tmp_path / "remembered")
    clock = FakeClock()
    first, second = PostgresJobStore(url, schema=schema, clock=clock), PostgresJobStore(url, schema=schema, clock=clock)
    async with opened(first, second):
        await first.enqueue(parse_enqueue({"id": "j"}))
        old = await first.claim(parse_claim({"lease_seconds": 10}))  # remembered by the first replica
        assert old is not None
        clock.advance(11)
        await second.expire_leases(PriceBook())
        new = await second.claim(parse_claim({"lease_seconds": 10}))
        assert new is not None and new.job.attempt == 2
        beat = await first.heartbeat(parse_heartbeat({"job_id": "j", "lease_token": new.lease.token}))
        assert beat.lease.token == new.lease.token  # refused on what it remembered, accepted on the row
        with pytest.raises(Conflict, match="stale"):
            await first.complete(parse_complete({"job_id": "j", "lease_token": old.lease.token}), PriceBook())

        await second.heartbeat(parse_heartbeat({"job_id": "j", "lease_seconds": 300}))  # a version the first lacks
        clock.advance(1)
        done = await first.complete(parse_complete({"job_id": "j", "lease_token": new.lease.token}), PriceBook())
        assert done.status == "succeeded" and done.attempt == 2 and await second.get("j") == done
        finished = [e for e in await second.events_after(0, 100) if e.data.get("to") == "succeeded"]
        assert len(finished) == 1


async def test_a_store_remembers_only_jobs_with_small_specs(tmp_path: Path) -> None:
    """What a store remembers to skip a read is bounded in bytes, not only in jobs: a large payload is read again."""
    _postgres.require()
    store = PostgresJobStore(_postgres.database_url(), schema=_postgres.schema_for(tmp_path / "sizes"))
    async with opened(store):
        await store.enqueue(parse_enqueue({"id": "small", "priority": 1, "payload": {"frames": 24}}))
        await store.enqueue(parse_enqueue({"id": "large", "payload": {"workflow": "x" * REMEMBERED_SPEC_BYTES}}))
        claims = [await store.claim(parse_claim({})) for _ in range(2)]
        assert [c.job.id for c in claims if c is not None] == ["small", "large"]
        assert list(store._written) == ["small"]
        for claimed in claims:
            assert claimed is not None
            body = {"job_id": claimed.job.id, "lease_token": claimed.lease.token}
            assert (await store.complete(parse_complete(body), PriceBook())).payload == claimed.job.payload
        assert store._written == {}  # finished jobs are let go


async def test_completions_teach_the_model_through_lessons_folded_in_order(tmp_path: Path) -> None:
    """A completion appends its lesson; a read of the model folds the pending ones first, and every ``FOLD_EVERY``-th
    lesson folds in its completion, so none is lost to concurrent completions and few wait."""
    _postgres.require()
    url, schema = _postgres.database_url(), _postgres.schema_for(tmp_path / "lessons")
    store = PostgresJobStore(url, schema=schema, pool_size=8)
    count = FOLD_EVERY + 44
    async with opened(store):
        for k in range(count):
            await store.enqueue(parse_enqueue({"id": f"j{k}", "device_id": "gpu:0", "payload": {"work_units": 2}}))

        async def worker(n: int) -> None:
            while (claimed := await store.claim(parse_claim({"worker_id": f"w{n}"}))) is not None:
                seconds = 1 + int(claimed.job.id[1:]) % 8
                body = {"job_id": claimed.job.id, "lease_token": claimed.lease.token, "duration_sec": seconds}
                await store.complete(parse_complete(body), PriceBook())

        await asyncio.gather(*(worker(n) for n in range(8)))
        with psycopg.connect(url, autocommit=True, options=f"-c search_path={schema}") as conn:
            pending = conn.execute("SELECT count(*) FROM lessons").fetchone()
        assert pending is not None and pending[0] < FOLD_EVERY  # folded at the FOLD_EVERY-th lesson
        (rate,) = await store.learned_rates()
        assert (rate.place, rate.samples) == ("gpu:0", count)
        assert rate.seconds_per_unit.p50 == statistics.median((1 + k % 8) / 2 for k in range(count))
        with psycopg.connect(url, autocommit=True, options=f"-c search_path={schema}") as conn:
            assert conn.execute("SELECT count(*) FROM lessons").fetchone() == (0,)
