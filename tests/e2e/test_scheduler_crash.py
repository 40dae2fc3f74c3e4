"""Crash safety of the scheduler (§5.9): ``kill -9`` at random moments under concurrent enqueue/claim/complete.

Four client threads loop enqueue -> claim -> complete against a real ``computeadvisor serve``. The main thread
kills the process with SIGKILL ten times at random moments and restarts it on the same state root (on a new port;
the clients read the current base URL from a shared holder and ride out the connection errors). Afterwards:

* every job whose enqueue answered 2xx exists;
* no job was completed twice (no two 2xx completes for one id), and every job's status agrees with what the
  clients were told (a 2xx complete means ``succeeded``; a 2xx claim counts in ``attempt``);
* once the leases (2 s) have run out, no job is left running;
* ``PRAGMA integrity_check`` on ``data/scheduler.db`` answers ``ok`` after the server is stopped.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from ._harness import RunningServer, ServerLauncher, client, poll

pytestmark = pytest.mark.e2e

WORKERS = 4
KILLS = 10
LEASE_SECONDS = 2
KILL_GAP_S = (1.0, 1.5)
REQUEST_TIMEOUT_S = 5.0
RETRY_PAUSE_S = 0.02
DB_FILE = Path("data") / "scheduler.db"


class BaseHolder:
    """The base URL of the server that is up now, or None while it is down (between a kill and the restart)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._base: str | None = None
        self.stopped = False

    def set(self, base: str | None) -> None:
        with self._cond:
            self._base = base
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self.stopped = True
            self._cond.notify_all()

    def wait(self) -> str | None:
        """The current base, waiting while the server is down; None once the run is stopped."""
        with self._cond:
            while self._base is None and not self.stopped:
                self._cond.wait(0.5)
            return None if self.stopped else self._base


@dataclass
class WorkerLog:
    """What one client thread was told: every 2xx enqueue, claim and complete, and anything unexpected."""

    enqueued: list[str] = field(default_factory=list)
    claimed: list[str] = field(default_factory=list)
    completed: list[str] = field(default_factory=list)
    sent_complete: set[str] = field(default_factory=set)
    unexpected: list[str] = field(default_factory=list)
    transport_errors: int = 0
    fenced: int = 0


class Worker(threading.Thread):
    """enqueue -> claim -> complete in a loop; a connection error means: wait for the server, then carry on."""

    def __init__(self, number: int, holder: BaseHolder) -> None:
        super().__init__(name=f"worker-{number}", daemon=True)
        self.number = number
        self.holder = holder
        self.log = WorkerLog()
        self._http: httpx.Client | None = None
        self._base: str | None = None

    def _post(self, route: str, body: dict[str, Any]) -> httpx.Response | None:
        """One POST to the current server; None when the server is stopping or the connection failed."""
        base = self.holder.wait()
        if base is None:
            return None
        if base != self._base or self._http is None:
            if self._http is not None:
                self._http.close()
            self._http, self._base = client(base, timeout=REQUEST_TIMEOUT_S), base
        try:
            return self._http.post(f"/api/schedule/{route}", json=body)
        except httpx.TransportError:
            self.log.transport_errors += 1
            time.sleep(RETRY_PAUSE_S)
            return None

    def _note(self, route: str, response: httpx.Response) -> None:
        self.log.unexpected.append(f"{route}: {response.status_code} {response.text[:300]}")

    def _enqueue(self, job_id: str) -> bool:
        """Enqueue until a 2xx (an identical retry is idempotent, §5.6); False when the run is over."""
        while not self.holder.stopped:
            response = self._post("enqueue", {"id": job_id, "name": f"crash {job_id}", "payload": {"n": job_id}})
            if response is None:
                continue
            if response.is_success:
                self.log.enqueued.append(job_id)
                return True
            self._note("enqueue", response)
            return False
        return False

    def _claim(self) -> tuple[str, str] | None:
        response = self._post("claim", {"worker_id": self.name, "lease_seconds": LEASE_SECONDS})
        if response is None:
            return None
        if not response.is_success:
            self._note("claim", response)
            return None
        answer = response.json()
        if answer["job"] is None:
            return None
        job_id: str = answer["job"]["id"]
        self.log.claimed.append(job_id)
        return job_id, answer["lease"]["token"]

    def _complete(self, job_id: str, token: str) -> None:
        self.log.sent_complete.add(job_id)
        response = self._post("complete", {"job_id": job_id, "lease_token": token, "duration_sec": 0.5})
        if response is None:
            return
        if response.is_success:
            self.log.completed.append(job_id)
        elif response.status_code == 409:  # the lease expired while the server was down (fencing)
            self.log.fenced += 1
        else:
            self._note("complete", response)

    def run(self) -> None:
        n = 0
        while not self.holder.stopped:
            job_id = f"w{self.number}-{n}"
            n += 1
            if not self._enqueue(job_id):
                continue
            claimed = self._claim()
            if claimed is not None:
                self._complete(*claimed)
        if self._http is not None:
            self._http.close()


@contextmanager
def running_workers(holder: BaseHolder) -> Iterator[list[Worker]]:
    workers = [Worker(n, holder) for n in range(WORKERS)]
    for worker in workers:
        worker.start()
    try:
        yield workers
    finally:
        holder.stop()
        for worker in workers:
            worker.join(timeout=REQUEST_TIMEOUT_S * 3)


def test_kill_9_under_load_loses_nothing_and_completes_nothing_twice(
    launcher: ServerLauncher, state_root: Path
) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    args = ("--retention", "1000000")  # nothing pruned: every enqueued job must still be there at the end
    server: RunningServer = launcher.start(state_root, args=args)
    holder = BaseHolder()
    holder.set(server.base_url)

    with running_workers(holder) as workers:
        for _ in range(KILLS):
            time.sleep(rng.uniform(*KILL_GAP_S))
            holder.set(None)
            server.kill_hard()
            server = launcher.start(state_root, args=args)
            holder.set(server.base_url)
        time.sleep(rng.uniform(*KILL_GAP_S))  # some load on the last server too
    assert all(not worker.is_alive() for worker in workers), "a client thread hung"

    logs = [worker.log for worker in workers]
    per_worker = [(len(log.enqueued), len(log.completed), log.transport_errors, log.fenced) for log in logs]
    context = f"seed {seed}; (enqueued, completed, cut off, fenced) per worker: {per_worker}"
    assert not [entry for log in logs for entry in log.unexpected], context
    enqueued = [job_id for log in logs for job_id in log.enqueued]
    completed = Counter(job_id for log in logs for job_id in log.completed)
    claims = Counter(job_id for log in logs for job_id in log.claimed)
    sent_complete = {job_id for log in logs for job_id in log.sent_complete}
    assert sum(log.transport_errors for log in logs) > 0, f"no request was ever cut off: {context}"
    assert len(completed) > 0, context
    assert [job_id for job_id, times in completed.items() if times > 1] == [], context

    with server.client() as http:
        # Every lease taken before the last kill runs out within LEASE_SECONDS; expiry then requeues its job.
        state = poll(
            lambda: http.get("/api/schedule/state", params={"limit": 1000}).json(),
            lambda state: not state["active"],
            timeout_s=LEASE_SECONDS + 10,
        )
        assert state["active"] == [], context
        assert state["counts"]["active"] == 0, context
        statuses: dict[str, str] = {}
        for job_id in enqueued:
            response = http.get(f"/api/schedule/jobs/{job_id}")
            assert response.status_code == 200, f"{job_id} lost: {response.text} ({context})"
            job = response.json()["job"]
            statuses[job_id] = job["status"]
            assert job["attempt"] >= claims[job_id], (job, context)
            assert len(job["runs"]) == job["attempt"], (job, context)
            if completed[job_id]:
                assert job["status"] == "succeeded", (job, context)
            if job["status"] == "succeeded":
                assert job_id in sent_complete, (job, context)  # only a complete makes a job succeed here
            elif job["status"] == "failed":
                assert job["error"] == "lease expired", (job, context)
            else:
                assert job["status"] == "queued", (job, context)
    counts = Counter(statuses.values())
    assert counts["succeeded"] >= len(completed), (counts, context)

    server.stop()
    with closing(sqlite3.connect(state_root / DB_FILE)) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
