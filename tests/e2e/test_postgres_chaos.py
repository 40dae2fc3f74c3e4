"""Replica chaos (§14): three service processes on one PostgreSQL, eight clients enqueueing, claiming with short
leases and completing with tokens, replicas killed with SIGKILL at random and restarted (20 kills), and one restart of
PostgreSQL itself in the middle. Then an audit straight from the database: every job acknowledged with 2xx is there,
none completed twice, none left running past its lease.

The PostgreSQL restart runs ``$COMPUTEADVISOR_TEST_PG_RESTART`` (``.ci/run`` sets it to ``pg_ctlcluster … restart``);
without it that part is skipped with a note (a failure in CI), since restarting a developer's server is not a test's
business.
"""

from __future__ import annotations

import functools
import operator
import os
import random
import shlex
import subprocess
import threading
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests import _postgres
from tests._required import absent
from tests.e2e._harness import RunningServer, ServerLauncher, poll

pytestmark = pytest.mark.e2e

REPLICAS = 3
CLIENTS = 8
KILLS = 20
LEASE_S = 2
RESTART_COMMAND = os.environ.get("COMPUTEADVISOR_TEST_PG_RESTART", "")
KEEP_ALL = ("--retention", "1000000", "--event-retention", "1000000")  # the audit reads every job and event


class Ledger:
    """What the clients were told with a 2xx, across threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.enqueued: set[str] = set()
        self.completed: list[str] = []
        self.errors = 0

    def enqueued_count(self) -> int:
        with self.lock:
            return len(self.enqueued)

    def add(self, kind: str, job_id: str) -> None:
        with self.lock:
            if kind == "enqueued":
                self.enqueued.add(job_id)
            else:
                self.completed.append(job_id)


def client_loop(n: int, ports: list[int], ledger: Ledger, stop: threading.Event) -> None:
    rng = random.Random(n)
    k = 0
    with httpx.Client(timeout=10, trust_env=False) as http:
        while not stop.is_set():
            base = f"http://127.0.0.1:{rng.choice(ports)}/api/schedule"
            try:
                job_id = f"c{n}-{k}"
                k += 1
                if http.post(f"{base}/enqueue", json={"id": job_id}).status_code == 200:
                    ledger.add("enqueued", job_id)
                answer = http.post(f"{base}/claim", json={"worker_id": f"w{n}", "lease_seconds": LEASE_S})
                claimed: dict[str, Any] = answer.json() if answer.status_code == 200 else {}
                if claimed.get("job") and rng.random() < 0.8:  # the rest are abandoned: their leases expire
                    body = {"job_id": claimed["job"]["id"], "lease_token": claimed["lease"]["token"]}
                    base = f"http://127.0.0.1:{rng.choice(ports)}/api/schedule"  # possibly another replica
                    if http.post(f"{base}/complete", json=body).status_code == 200:
                        ledger.add("completed", claimed["job"]["id"])
            except (httpx.HTTPError, ValueError):
                with ledger.lock:
                    ledger.errors += 1  # a replica being killed, or the database restarting: try another


def restart_postgres() -> None:
    done = subprocess.run(shlex.split(RESTART_COMMAND), capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_replicas_killed_and_postgres_restarted_lose_nothing(launcher: ServerLauncher, tmp_path: Path) -> None:
    url = _postgres.fresh_database()
    args = ("--database-url", url, *KEEP_ALL)
    servers: list[RunningServer] = [launcher.start(tmp_path / f"host{n}", args=args) for n in range(REPLICAS)]
    ports = [server.port for server in servers]
    ledger, stop = Ledger(), threading.Event()
    clients = [threading.Thread(target=client_loop, args=(n, ports, ledger, stop)) for n in range(CLIENTS)]
    for thread in clients:
        thread.start()
    rng = random.Random(7)
    restarted_postgres = False
    try:
        for kill in range(KILLS):
            target = len(ledger.enqueued) + 20  # let the load make progress between kills (a bounded wait)
            poll(ledger.enqueued_count, functools.partial(operator.le, target), timeout_s=30)
            victim = rng.randrange(REPLICAS)
            servers[victim].kill_hard()
            servers[victim] = launcher.start(tmp_path / f"host{victim}", args=args, port=ports[victim])
            if kill == KILLS // 2 and RESTART_COMMAND:
                restart_postgres()
                restarted_postgres = True
    finally:
        stop.set()
        for thread in clients:
            thread.join(timeout=60)

    # Every lease has run out by now or will within LEASE_S; the replicas' expiry loops requeue or fail them.
    with psycopg.connect(url, autocommit=True) as db:

        def stuck() -> int:
            query = (
                "SELECT count(*) FROM jobs WHERE status = 'running' AND lease_expires_ts < extract(epoch FROM now())"
            )
            row = db.execute(query).fetchone()
            return int(row[0]) if row else -1

        assert poll(stuck, lambda count: count == 0, timeout_s=30) == 0  # none running past its lease
        stored = {row[0] for row in db.execute("SELECT id FROM jobs").fetchall()}
        successes = db.execute(
            "SELECT data::jsonb->>'job_id', count(*) FROM events WHERE type = 'job' "
            "AND data::jsonb->>'to' = 'succeeded' GROUP BY 1 HAVING count(*) > 1"
        ).fetchall()
        statuses: dict[str, int] = dict(db.execute("SELECT status, count(*) FROM jobs GROUP BY status").fetchall())
        succeeded = {row[0] for row in db.execute("SELECT id FROM jobs WHERE status = 'succeeded'").fetchall()}
    missing = ledger.enqueued - stored
    print(  # the counts the issue asks for, in the test's output (-s)
        f"\nchaos: {KILLS} kills, postgres restarted: {restarted_postgres}, acknowledged enqueues "
        f"{len(ledger.enqueued)}, acknowledged completions {len(ledger.completed)}, client errors {ledger.errors}, "
        f"stored {len(stored)} by status {statuses}, missing {len(missing)}, completed twice {len(successes)}"
    )
    assert not missing, sorted(missing)[:10]
    assert successes == []  # no job completed twice
    assert len(ledger.completed) == len(set(ledger.completed))
    assert set(ledger.completed) <= succeeded  # an acknowledged completion stands
    assert len(ledger.enqueued) >= KILLS * 20
    if not restarted_postgres:
        absent("COMPUTEADVISOR_TEST_PG_RESTART is not set: the PostgreSQL restart was not exercised")
