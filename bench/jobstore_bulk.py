"""The SQLite JobStore alone, at growing sizes: claim latency, state/board/counts latency, cycle throughput, RSS.

    python bench/jobstore_bulk.py                    # 0, 100k and 1M stored jobs
    python bench/jobstore_bulk.py --rows 0 20000     # quicker

Rows are bulk-loaded with one ``executemany`` (the adapter's own row mapping, so the rows are what the adapter
writes), mostly queued as in a backlog, plus running jobs and a full retention of finished ones. Measurements go
through the adapter on a temporary directory on the same disk as the repository's state root would be.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from computeadvisor.adapters import _sql_jobs as jobrows
from computeadvisor.adapters import sqlite_jobs_schema as sql
from computeadvisor.adapters.sqlite_jobs import SqliteJobStore
from computeadvisor.domain import job_machine as machine
from computeadvisor.domain.job_requests import ClaimRequest, CompleteRequest
from computeadvisor.domain.job_spec import JobSpec
from computeadvisor.domain.jobs import PriceBook

RUNNING = 1000
FINISHED = 10_000


def bulk_load(path: Path, rows: int) -> None:
    """Insert ``rows`` jobs: up to 1,000 running, up to 10,000 finished, the rest queued over both queues."""
    now = time.time()
    running = min(RUNNING, rows // 10)
    finished = min(FINISHED, rows // 10)

    def params(n: int) -> tuple[Any, ...]:
        queue = "remote" if n % 4 == 0 else "local"
        spec = JobSpec(id=f"bulk{n:08d}", name=f"bulk{n:08d}", queue=queue, priority=n % 10, payload={"n": n})
        state = machine.new_state(spec, now - rows + n, n + 1)
        if n < running:
            state = machine.claim(state, ClaimRequest(queue=queue, lease_seconds=86_400), now, f"tok{n}", n + 1)
        elif n < running + finished:
            state = machine.claim(state, ClaimRequest(queue=queue), now - 60, f"tok{n}", n + 1)
            done = CompleteRequest(job_id=spec.id, duration_sec=60)
            state = machine.complete(state, done, now - rows + n, n + 1, PriceBook())
        return jobrows.insert_params(state)

    with sqlite3.connect(path, isolation_level=None) as conn:
        conn.execute("BEGIN IMMEDIATE")
        batch = 50_000
        for start in range(0, rows, batch):
            conn.executemany(jobrows.INSERT_JOB, (params(n) for n in range(start, min(rows, start + batch))))
        conn.execute(sql.SET_COUNTER, (rows + 1, "seq"))
        conn.execute("COMMIT")


async def timed(call: Callable[[], Awaitable[Any]], samples: int) -> list[float]:
    """Milliseconds of each of ``samples`` sequential calls."""
    out = []
    for _ in range(samples):
        start = time.perf_counter()
        await call()
        out.append((time.perf_counter() - start) * 1000)
    return out


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of ``values``, nearest rank."""
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


async def cycles_per_second(store: SqliteJobStore, workers: int, seconds: float) -> tuple[float, float]:
    """Concurrent enqueue -> claim -> complete cycles on the remote queue; (cycles/s, ops per commit)."""
    deadline = time.perf_counter() + seconds
    done = 0
    batches0, ops0 = store.writer.batches, store.writer.operations

    async def worker(w: int) -> None:
        nonlocal done
        n = 0
        while time.perf_counter() < deadline:
            job_id = f"cyc{w}-{n}"
            await store.enqueue(JobSpec(id=job_id, name=job_id, queue="remote", priority=10**6))
            claimed = await store.claim(ClaimRequest(queue="remote", worker_id=str(w)))
            assert claimed is not None
            request = CompleteRequest(job_id=claimed.job.id, lease_token=claimed.lease.token)
            await store.complete(request, PriceBook())
            n += 1
            done += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(workers)))
    elapsed = time.perf_counter() - start
    batches, ops = store.writer.batches - batches0, store.writer.operations - ops0
    return done / elapsed, ops / max(1, batches)


async def measure(rows: int, samples: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="jobbench-", dir=Path.cwd()) as tmp:
        root = Path(tmp)
        store = SqliteJobStore(root)
        await store.open()
        await store.close()
        started = time.perf_counter()
        bulk_load(store.path, rows)
        load_s = time.perf_counter() - started
        store = SqliteJobStore(root)
        await store.open()
        try:
            await store.expire_leases(PriceBook())
            claim_ms: list[float] = []
            for n in range(samples):
                job_id = f"probe{n}"
                await store.enqueue(JobSpec(id=job_id, name=job_id, priority=10**6))
                start = time.perf_counter()
                claimed = await store.claim(ClaimRequest())
                claim_ms.append((time.perf_counter() - start) * 1000)
                assert claimed is not None and claimed.job.id == job_id
                await store.complete(CompleteRequest(job_id=job_id), PriceBook())
            state_ms = await timed(lambda: store.state(200), samples // 4)
            board_ms = await timed(lambda: store.board(100), samples // 4)
            counts_ms = await timed(store.counts, samples)
            get_ms = await timed(lambda: store.get("probe0"), samples)
            cps, per_commit = await cycles_per_second(store, 16, 3.0)
            counts = await store.counts()
        finally:
            await store.close()
        size_mb = sum(p.stat().st_size for p in store.path.parent.iterdir()) / 2**20
    return {
        "rows": rows,
        "load_s": round(load_s, 1),
        "db_mb": round(size_mb, 1),
        "claim_p50_ms": pct(claim_ms, 0.5),
        "claim_p95_ms": pct(claim_ms, 0.95),
        "state200_p50_ms": pct(state_ms, 0.5),
        "state200_p95_ms": pct(state_ms, 0.95),
        "board100_p50_ms": pct(board_ms, 0.5),
        "counts_p50_ms": pct(counts_ms, 0.5),
        "get_p50_ms": pct(get_ms, 0.5),
        "cycles_per_s_16": round(cps, 1),
        "ops_per_commit": round(per_commit, 2),
        "queued_after": counts.queues.local + counts.queues.remote,
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "mean_claim_ms": round(statistics.fmean(claim_ms), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[0, 100_000, 1_000_000])
    parser.add_argument("--samples", type=int, default=400)
    args = parser.parse_args()
    for rows in args.rows:
        print(json.dumps(asyncio.run(measure(rows, args.samples))), flush=True)


if __name__ == "__main__":
    main()
