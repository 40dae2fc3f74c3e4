"""Enqueue -> claim -> complete on PostgreSQL with 1, 2 and 3 replicas, next to SQLite and pgqueuer (issue 14).

    .venv/bin/python bench/postgres.py [--url postgresql://127.0.0.1:5432/postgres] [--rounds 3] [--duration 5]
                                       [--workers 16] [--out FILE]

Each measurement runs on a fresh database on the server at ``--url`` (dropped after it), so no scenario inherits
another's tables. Each round runs, one after the other and in the same order, ``--workers`` concurrent clients for
``--duration`` seconds against:

* ``sqlite``: one ``computeadvisor serve`` on a fresh state root (the embedded default);
* ``pg-1``, ``pg-2``, ``pg-3``: one, two or three ``computeadvisor serve --database-url`` replicas on the database,
  the clients spread over them;
* ``pg-store``: the same cycle on ``PostgresJobStore`` itself, in this process (the library, no HTTP): the figure to
  set beside pgqueuer's;
* ``pgqueuer``: the same cycle with pgqueuer's own primitives on the same server (``Queries.enqueue``, ``dequeue``
  with a batch of one, ``log_jobs``), one asyncpg connection per client, in this process: what a user of that queue
  would write, with no HTTP in between.

A cycle is enqueue, claim (the claimed job may be another client's) and complete, each acknowledged. Over HTTP each
client is one keep-alive connection of ``sched_client`` (the scheduler bench's light client). Reports cycles/s
per scenario (median of the rounds), the claim's p50/p95 for ``pg-1``, and the cost of ``NOTIFY`` measured directly:
commits/s of ``--workers`` connections each inserting a row per transaction, with and without a ``NOTIFY`` in it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psycopg
from pgqueuer.ports.repository import EntrypointExecutionParameter
from pgqueuer.queries import Queries
from pgqueuer.types import QueueEntrypoint, QueueManagerId

import sched_client as sc
from computeadvisor.adapters.postgres_jobs import PostgresJobStore
from computeadvisor.domain.job_requests import parse_claim, parse_complete
from computeadvisor.domain.job_spec import parse_enqueue
from computeadvisor.domain.jobs import PriceBook
from util import free_ports, wait

SCENARIOS = ("sqlite", "pg-1", "pg-2", "pg-3", "pg-store", "pgqueuer")


async def http_cycles(bases: list[str], workers: int, duration: float, claims: list[float]) -> int:
    """Cycles done by ``workers`` clients spread over ``bases`` in ``duration`` seconds; claim latencies appended.

    Each client is one keep-alive connection of ``sched_client`` (hand-written HTTP/1.1, msgspec): a light load
    generator, so that the servers, not the client, use this machine's cores (httpx spent 3.6-3.9 ms of CPU per
    cycle here, more than either server)."""
    done = 0
    end = time.monotonic() + duration
    conns = [sc.Connection("127.0.0.1", urllib.parse.urlsplit(bases[n % len(bases)]).port or 80)
             for n in range(workers)]  # fmt: skip
    await asyncio.gather(*(conn.open() for conn in conns))

    async def worker(n: int) -> None:
        nonlocal done
        conn = conns[n]
        k = 0
        while time.monotonic() < end:
            await sc.call(conn, "POST", "/api/schedule/enqueue", {"id": f"{uuid.uuid4().hex[:8]}-{n}-{k}"}, None)
            k += 1
            started = time.perf_counter()
            claimed = await sc.call(conn, "POST", "/api/schedule/claim", {"worker_id": f"w{n}"}, None)
            claims.append(time.perf_counter() - started)
            if claimed["job"] is None:
                continue
            body = {"job_id": claimed["job"]["id"], "lease_token": claimed["lease"]["token"], "duration_sec": 1}
            await sc.call(conn, "POST", "/api/schedule/complete", body, None)
            done += 1

    try:
        await asyncio.gather(*(worker(n) for n in range(workers)))
    finally:
        for conn in conns:
            conn.close()
    return done


async def pgqueuer_cycles(url: str, workers: int, duration: float) -> int:
    """The same cycle with pgqueuer's primitives, one asyncpg connection per client."""
    entrypoints = {QueueEntrypoint("render"): EntrypointExecutionParameter(concurrency_limit=0)}
    done = 0
    end = time.monotonic() + duration

    async def worker(n: int) -> None:
        nonlocal done
        connection = await asyncpg.connect(url)
        queries = Queries.from_asyncpg_connection(connection)
        manager = QueueManagerId(uuid.uuid4())
        try:
            while time.monotonic() < end:
                await queries.enqueue("render", b"{}")
                jobs = await queries.dequeue(1, entrypoints, manager, None, timedelta(seconds=30))
                if jobs:
                    await queries.log_jobs([(job, "successful", None) for job in jobs])
                    done += len(jobs)
        finally:
            await connection.close()

    await asyncio.gather(*(worker(n) for n in range(workers)))
    return done


async def store_cycles(url: str, workers: int, duration: float) -> int:
    """The cycle on the job store itself (the library): ``workers`` tasks on one store with as many connections."""
    store = PostgresJobStore(url, pool_size=workers)
    await store.open()
    done = 0
    end = time.monotonic() + duration

    async def worker(n: int) -> None:
        nonlocal done
        k = 0
        while time.monotonic() < end:
            await store.enqueue(parse_enqueue({"id": f"s{uuid.uuid4().hex[:8]}-{n}-{k}"}))
            k += 1
            claimed = await store.claim(parse_claim({"worker_id": f"w{n}"}))
            if claimed is not None:
                body = {"job_id": claimed.job.id, "lease_token": claimed.lease.token, "duration_sec": 1}
                await store.complete(parse_complete(body), PriceBook())
                done += 1

    try:
        await asyncio.gather(*(worker(n) for n in range(workers)))
    finally:
        await store.close()
    return done


async def commits_per_s(url: str, workers: int, duration: float, notify: bool) -> float:
    """Transactions of one INSERT (and a NOTIFY when asked) committed per second by ``workers`` connections."""
    statement = "INSERT INTO notify_bench (at) VALUES (clock_timestamp())"
    done = 0
    end = time.monotonic() + duration

    async def worker() -> None:
        nonlocal done
        connection = await asyncpg.connect(url)
        try:
            while time.monotonic() < end:
                async with connection.transaction():
                    await connection.execute(statement)
                    if notify:
                        await connection.execute("NOTIFY notify_bench")
                done += 1
        finally:
            await connection.close()

    await asyncio.gather(*(worker() for _ in range(workers)))
    return done / duration


class Services:
    """Service processes started for one scenario and stopped after it."""

    def __init__(self, count: int, database_url: str | None, retention: int = 1_000_000) -> None:
        self.ports = free_ports(count)
        self._roots = [tempfile.mkdtemp(prefix="bench-pg-") for _ in range(count)]
        extra = ["--database-url", database_url] if database_url else []
        self._processes = [
            subprocess.Popen([sys.executable, "-m", "computeadvisor", "serve", "--root", root, "--port", str(port),
                              "--log-level", "warning", "--retention", str(retention), *extra])
            for root, port in zip(self._roots, self.ports, strict=True)
        ]  # fmt: skip
        wait([(f"http://127.0.0.1:{p}/api/schedule/health", proc.pid)
              for p, proc in zip(self.ports, self._processes, strict=True)], timeout=60)  # fmt: skip

    @property
    def bases(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.ports]

    def stop(self) -> None:
        for process in self._processes:
            process.terminate()
        for process in self._processes:
            process.wait(timeout=30)


FILL = """INSERT INTO jobs (id, seq, name, queue, priority, sticky, provider_id, status, attempt, runs, created_ts,
    updated_ts, started_ts, completed_ts, duration_sec, spec)
SELECT 'old-' || n, nextval('job_seq'), 'old-' || n, 'local', 0, 0, 'local', 'succeeded', 1, '[]', 1.7e9 + n,
    1.7e9 + n, 1.7e9 + n, 1.7e9 + n + 1, 1.0, '{"id": "old", "payload": {}, "meta": {}}'
FROM generate_series(1, %s) AS n"""


def state_at(url: str, stored: int, reads: int = 200) -> dict[str, float]:
    """``GET /api/schedule/state`` p50/p95 (ms) with ``stored`` finished jobs in the database (one replica)."""
    with psycopg.connect(url, autocommit=True) as conn:
        # In bulk, with the row triggers off (a million updates of the same total rows in one transaction crawl),
        # then the total they would have kept, set once.
        with conn.transaction():
            conn.execute("ALTER TABLE jobs DISABLE TRIGGER USER")
            conn.execute(FILL, (stored,))
            conn.execute("ALTER TABLE jobs ENABLE TRIGGER USER")
            conn.execute(
                "INSERT INTO counters (name, slot, value) VALUES ('finished', 0, %s) "
                "ON CONFLICT (name, slot) DO UPDATE SET value = counters.value + excluded.value",
                (stored,),
            )
        conn.execute("VACUUM ANALYZE jobs")
    services = Services(1, url, retention=stored + 1_000_000)
    try:
        timings = []
        with httpx.Client(base_url=services.bases[0], timeout=30) as api:
            for _ in range(reads):
                started = time.perf_counter()
                api.get("/api/schedule/state").raise_for_status()
                timings.append(time.perf_counter() - started)
    finally:
        services.stop()
    timings.sort()
    return {
        "p50": round(timings[len(timings) // 2] * 1000, 2),
        "p95": round(timings[int(len(timings) * 0.95)] * 1000, 2),
    }


class FreshDatabase:
    """A database created on the server at ``url`` for one measurement, dropped after it."""

    def __init__(self, url: str) -> None:
        self._admin_url = url
        self._name = f"computeadvisor_bench_{uuid.uuid4().hex[:8]}"
        self.url = urllib.parse.urlsplit(url)._replace(path=f"/{self._name}").geturl()  # asyncpg takes no key=value

    def __enter__(self) -> str:
        with psycopg.connect(self._admin_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{self._name}"')
        return self.url

    def __exit__(self, *_: object) -> None:
        with psycopg.connect(self._admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self._name}" WITH (FORCE)')


def run(url: str, rounds: int, duration: float, workers: int, stored: int) -> dict[str, Any]:
    rates: dict[str, list[float]] = {scenario: [] for scenario in SCENARIOS}
    claims: list[float] = []
    notify: dict[str, list[float]] = {"without": [], "with": []}
    for _ in range(rounds):
        for scenario in SCENARIOS:  # each on a database of its own, so none inherits another's tables
            with FreshDatabase(url) as database:
                if scenario == "pgqueuer":
                    asyncio.run(_install_pgqueuer(database))
                rates[scenario].append(_one(scenario, database, workers, duration, claims) / duration)
        with FreshDatabase(url) as database:
            with psycopg.connect(database, autocommit=True) as conn:
                conn.execute("CREATE TABLE notify_bench (id BIGSERIAL PRIMARY KEY, at TIMESTAMPTZ)")
            for key, flag in (("without", False), ("with", True)):
                notify[key].append(asyncio.run(commits_per_s(database, workers, duration, flag)))
    state = None
    if stored:
        with FreshDatabase(url) as database:
            asyncio.run(_create_schema(database))
            state = state_at(database, stored)
    medians = {scenario: round(statistics.median(values), 1) for scenario, values in rates.items()}
    claims.sort()
    return {
        "cycles_per_s": medians,
        "rounds": rates,
        "pg_1_claim_ms": {
            "p50": round(claims[len(claims) // 2] * 1000, 2),
            "p95": round(claims[int(len(claims) * 0.95)] * 1000, 2),
        },
        "notify_commits_per_s": {key: round(statistics.median(values), 1) for key, values in notify.items()},
        "state_ms_at_stored_jobs": state,
        "settings": {"rounds": rounds, "duration_s": duration, "workers": workers, "stored_jobs": stored},
    }


async def _create_schema(database: str) -> None:
    store = PostgresJobStore(database)
    await store.open()  # migrates
    await store.close()


async def _install_pgqueuer(database: str) -> None:
    connection = await asyncpg.connect(database)
    try:
        await Queries.from_asyncpg_connection(connection).install()
    finally:
        await connection.close()


def _one(scenario: str, database: str, workers: int, duration: float, claims: list[float]) -> int:
    if scenario == "pgqueuer":
        return asyncio.run(pgqueuer_cycles(database, workers, duration))
    if scenario == "pg-store":
        return asyncio.run(store_cycles(database, workers, duration))
    count = 1 if scenario == "sqlite" else int(scenario.removeprefix("pg-"))
    services = Services(count, None if scenario == "sqlite" else database)
    try:
        latencies: list[float] = []
        done = asyncio.run(http_cycles(services.bases, workers, duration, latencies))
        if scenario == "pg-1":
            claims.extend(latencies)
        return done
    finally:
        services.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench/postgres.py")
    parser.add_argument("--url", default="postgresql://127.0.0.1:5432/postgres")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument(
        "--stored", type=int, default=1_000_000, help="finished jobs stored for the state read (0: skip)"
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    result = run(args.url, args.rounds, args.duration, args.workers, args.stored)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
