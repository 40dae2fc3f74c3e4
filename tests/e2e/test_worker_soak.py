"""Soak (issue 15): four workers, two jobs at a time each, drain 2,000 jobs while the service is killed 5 times."""

from __future__ import annotations

import functools
import operator
import signal
import sqlite3
from pathlib import Path

import pytest

from computeadvisor.client import Client

from ._harness import ServerLauncher, poll
from ._workers import WorkerLauncher

pytestmark = pytest.mark.e2e

JOBS = 2000
KILLS = 5
DRAIN_TIMEOUT_S = 300.0


def store_counts(root: Path) -> dict[str, int]:
    """Jobs per status, read from the job store's own database (not through the service)."""
    with sqlite3.connect(f"file:{root / 'data' / 'scheduler.db'}?mode=ro", uri=True, timeout=10) as db:
        return dict(db.execute("SELECT status, count(*) FROM jobs GROUP BY status").fetchall())


def completions_per_job(root: Path) -> dict[str, int]:
    """How many ``→ succeeded`` transitions the store's event log holds per job."""
    with sqlite3.connect(f"file:{root / 'data' / 'scheduler.db'}?mode=ro", uri=True, timeout=10) as db:
        rows = db.execute(
            "SELECT json_extract(data, '$.job_id'), count(*) FROM events"
            " WHERE type = 'job' AND json_extract(data, '$.to') = 'succeeded' GROUP BY 1"
        ).fetchall()
    return dict(rows)


def test_four_workers_drain_2000_jobs_through_five_kills_of_the_service(
    launcher: ServerLauncher, farm: WorkerLauncher, tmp_path: Path
) -> None:
    root = tmp_path / "soak"
    args = ("--event-retention", "100000")
    server = launcher.start(root, args=args)
    with Client(server.base_url) as client:
        for n in range(JOBS):
            client.enqueue(id=f"soak-{n:04d}", payload={"width": 512, "height": 512})
    runs_log = tmp_path / "runs.log"
    command = ["sh", "-c", f'echo "$COMPUTEADVISOR_JOB_ID" >> {runs_log}']
    options = ("--concurrency", "2", "--lease-seconds", "5", "--grace", "30")
    pool = [farm.start(server.base_url, *options, "--worker-id", f"soak-w{n}", command=command) for n in range(4)]
    for kill in range(1, KILLS + 1):
        target = kill * JOBS // (KILLS + 2)
        poll(lambda: store_counts(root).get("succeeded", 0), functools.partial(operator.le, target), timeout_s=120)
        server.kill_hard()
        server = launcher.start(root, args=args, port=server.port)
    counts = poll(lambda: store_counts(root), lambda c: c.get("succeeded", 0) == JOBS, timeout_s=DRAIN_TIMEOUT_S)
    for worker in pool:
        worker.signal(signal.SIGTERM)
    codes = [worker.wait() for worker in pool]
    ran = runs_log.read_text().split()
    completions = completions_per_job(root)
    print(
        f"\nsoak: {JOBS} jobs, {KILLS} kills of the service: store {counts}; commands run {len(ran)} times "
        f"({len(ran) - len(set(ran))} re-runs after a lost answer or lease); jobs completed twice: "
        f"{sum(1 for n in completions.values() if n > 1)}"
    )
    assert codes == [0, 0, 0, 0], [w.log_text()[-2000:] for w in pool]
    assert counts == {"succeeded": JOBS}  # none lost, failed, queued or left running
    assert len(completions) == JOBS and set(completions.values()) == {1}  # each succeeded exactly once
    assert set(ran) == {f"soak-{n:04d}" for n in range(JOBS)}
