"""The scheduler as a hypothesis state machine: every JobStore adapter against a plain-Python model (rule 8).

Every store gets the same operations on the same fake clock. After every step: the same statuses as the model, no
job lost or invented, counts equal, and the stores' full records equal field for field (so the SQLite claim
statement cannot drift from ``job_machine.claim``). Claim order must be priority, then FIFO; a complete or fail
after a job finished, and any stale lease token, must be refused.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from computeadvisor.domain.errors import ComputeAdvisorError, Conflict, NotFound
from computeadvisor.domain.job_requests import (
    ClaimRequest,
    CompleteRequest,
    FailRequest,
    HeartbeatRequest,
    RequeueRequest,
)
from computeadvisor.domain.job_spec import JobSpec
from computeadvisor.domain.jobs import FINISHED, Job, JobStatus, PriceBook, QueueDepths
from computeadvisor.domain.waiting import workload_of
from computeadvisor.ports.job_store import JobStore
from tests.contract._job_support import JOB_STORES, FakeClock

T = TypeVar("T")
CAP = 2
RETENTION = 3
IDS = st.sampled_from([f"j{n}" for n in range(4)])
QUEUE = st.sampled_from(["local", "remote"])
PRIORITY = st.integers(-1, 2)
TOKEN = st.sampled_from(["none", "current", "first"])
HINT = st.sampled_from([None, "gpu:0"])
DEVICE = st.sampled_from([None, "gpu:1", "gpu:2"])
ATTEMPTS = st.sampled_from([1, 1, 2, 3])
DELAY = st.sampled_from([None, None, 0.0, 5.0])
BACKOFF = 3.0  # seconds; a retry waits BACKOFF × 2^(attempt − 1) (§15.2)


@dataclass
class ModelJob:
    """What the model knows of a job: just enough to predict every answer."""

    spec: tuple[Any, ...]
    queue: str
    priority: int
    ticket: int  # when it last became queued: FIFO within a priority band
    status: str = "queued"
    attempt: int = 0
    expires: float = 0.0
    lease_seconds: int = 0
    claim_order: int = 0
    tokens: list[list[str]] = field(default_factory=lambda: [[] for _ in JOB_STORES])  # per store, every token
    max_attempts: int = 1
    due: float | None = None  # when a queued job becomes claimable (§15.1); None: at once

    def claimable(self, now: float) -> bool:
        return self.status == "queued" and (self.due is None or self.due <= now)


class SchedulerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.runner = asyncio.Runner()
        self.tmp = tempfile.mkdtemp(prefix="jobmachine-")
        self.clock = FakeClock()
        self.stores: list[JobStore] = [
            make(Path(self.tmp) / name, clock=self.clock, attempt_cap=CAP, retention=RETENTION)
            for name, make in sorted(JOB_STORES.items())
        ]
        for store in self.stores:
            self.run(store.open())
        self.model: dict[str, ModelJob] = {}
        self.finished_order: list[str] = []
        self.counter = 0

    def teardown(self) -> None:
        for store in self.stores:
            self.run(store.close())
        self.runner.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(coro)

    def tick(self) -> int:
        self.counter += 1
        return self.counter

    def outcomes(self, make: Any) -> list[Any]:
        """Run ``make(store, index)`` on each store; results or the domain errors raised."""
        results: list[Any] = []
        for index, store in enumerate(self.stores):
            try:
                results.append(self.run(make(store, index)))
            except ComputeAdvisorError as exc:
                results.append(exc)
        return results

    def finish(self, job_id: str, status: str) -> None:
        self.model[job_id].status = status
        self.finished_order.append(job_id)
        while len(self.finished_order) > RETENTION:
            del self.model[self.finished_order.pop(0)]

    def has(self, status: str | None = None) -> bool:
        return any(status is None or j.status == status for j in self.model.values())

    def pick(self, data: st.DataObject, status: str | None = None) -> str:
        """Mostly a job the model holds (of ``status`` when given), sometimes any id, known or not."""
        wanted = sorted(i for i, j in self.model.items() if status is None or j.status == status)
        if wanted and data.draw(st.integers(0, 4)) > 0:
            return data.draw(st.sampled_from(wanted))
        return data.draw(IDS)

    def token_for(self, job: ModelJob, index: int, kind: str) -> str | None:
        tokens = job.tokens[index]
        if kind == "none" or not tokens:
            return None
        return tokens[-1] if kind == "current" else tokens[0]

    def expect_fenced(self, job_id: str, kind: str, results: list[Any]) -> bool:
        """Check NotFound/Conflict answers of a fenced call; True when the call must have succeeded."""
        job = self.model.get(job_id)
        if job is None:
            assert all(isinstance(r, NotFound) for r in results), results
            return False
        ok = job.status == "running" and (kind != "first" or len(job.tokens[0]) == 1)
        for result in results:
            assert isinstance(result, Job) if ok else isinstance(result, Conflict), (job_id, kind, job, result)
        if not ok and kind == "first" and job.status == "running":
            event("stale token refused")
        return ok

    # -- rules ---------------------------------------------------------------------------------------------

    @initialize(queues=st.lists(QUEUE, min_size=2, max_size=3), attempts=st.lists(ATTEMPTS, min_size=3, max_size=3))
    def some_jobs(self, queues: list[str], attempts: list[int]) -> None:
        for n, queue in enumerate(queues):
            self.enqueue(f"j{n}", queue, 0, sticky=n == 0, hint=None, attempts=attempts[n])

    @rule(job_id=IDS, queue=QUEUE, priority=PRIORITY, sticky=st.booleans(), hint=HINT, attempts=ATTEMPTS, delay=DELAY)
    def add(self, job_id: str, queue: str, priority: int, sticky: bool, hint: str | None, attempts: int,
            delay: float | None) -> None:  # fmt: skip
        self.enqueue(job_id, queue, priority, sticky=sticky, hint=hint, attempts=attempts, delay=delay)

    def enqueue(self, job_id: str, queue: str, priority: int, *, sticky: bool, hint: str | None, attempts: int = 1,
                delay: float | None = None) -> None:  # fmt: skip
        spec = JobSpec(
            id=job_id, name=job_id, queue=queue, priority=priority, sticky=sticky, device_id=hint, provider_id=None,
            max_attempts=attempts, backoff_seconds=BACKOFF, delay_seconds=delay,
        )  # fmt: skip
        results = self.outcomes(lambda store, _: store.enqueue(spec))
        known = self.model.get(job_id)
        if known is None:
            assert all(r[1] is True for r in results), results
            self.model[job_id] = ModelJob(
                spec=(queue, priority, sticky, hint, attempts, delay), queue=queue, priority=priority,
                ticket=self.tick(), max_attempts=attempts, due=None if delay is None else self.clock.now + delay,
            )  # fmt: skip
        elif known.spec == (queue, priority, sticky, hint, attempts, delay):
            assert all(r[1] is False and r[0].status == known.status for r in results), results
        else:
            assert all(isinstance(r, Conflict) for r in results), results

    @precondition(lambda self: self.has("queued"))
    @rule(data=st.data(), lease=st.sampled_from([1, 10]), device=DEVICE)
    def claim(self, data: st.DataObject, lease: int, device: str | None) -> None:
        waiting = sorted({j.queue for j in self.model.values() if j.status == "queued"})
        queue = data.draw(st.sampled_from(waiting) if data.draw(st.integers(0, 4)) else QUEUE)
        request = ClaimRequest(queue=queue, device_id=device, lease_seconds=lease, worker_id="w")
        results = self.outcomes(lambda store, _: store.claim(request))
        now = self.clock.now
        queued = [(-j.priority, j.ticket, i) for i, j in self.model.items() if j.claimable(now) and j.queue == queue]
        if not queued:
            assert results == [None] * len(self.stores)
            return
        expected = min(queued)[2]
        job = self.model[expected]
        for index, result in enumerate(results):
            assert result is not None and result.job.id == expected, (expected, results)
            job.tokens[index].append(result.lease.token)
        job.status, job.attempt = "running", job.attempt + 1
        job.expires, job.lease_seconds, job.claim_order = self.clock.now + lease, lease, self.tick()

    @precondition(lambda self: self.has("running"))
    @rule(data=st.data(), kind=TOKEN, status=st.sampled_from(["succeeded", "failed", "cancelled"]))
    def complete(self, data: st.DataObject, kind: str, status: str) -> None:
        job_id = self.pick(data, "running")
        job = self.model.get(job_id)

        def call(store: JobStore, index: int) -> Coroutine[Any, Any, Job]:
            token = self.token_for(job, index, kind) if job else None
            return store.complete(
                CompleteRequest(job_id=job_id, lease_token=token, status=JobStatus(status)), PriceBook()
            )

        if self.expect_fenced(job_id, kind, self.outcomes(call)):
            self.finish(job_id, status)
            event("completed")

    @precondition(lambda self: self.has("running"))
    @rule(data=st.data(), kind=TOKEN)
    def fail(self, data: st.DataObject, kind: str) -> None:
        job_id = self.pick(data, "running")
        job = self.model.get(job_id)

        def call(store: JobStore, index: int) -> Coroutine[Any, Any, Job]:
            token = self.token_for(job, index, kind) if job else None
            return store.fail(FailRequest(job_id=job_id, error="boom", lease_token=token), PriceBook())

        if self.expect_fenced(job_id, kind, self.outcomes(call)):
            assert job is not None
            if job.attempt < job.max_attempts:  # retried later (§15.2)
                job.status, job.ticket = "queued", self.tick()
                job.due = self.clock.now + BACKOFF * 2 ** (job.attempt - 1)
                event("failed: retried")
            else:
                self.finish(job_id, "failed")

    @precondition(lambda self: self.has("running"))
    @rule(data=st.data(), kind=TOKEN)
    def heartbeat(self, data: st.DataObject, kind: str) -> None:
        job_id = self.pick(data, "running")
        job = self.model.get(job_id)

        async def call(store: JobStore, index: int) -> Job:
            token = self.token_for(job, index, kind) if job else None
            return (await store.heartbeat(HeartbeatRequest(job_id=job_id, lease_token=token))).job

        if self.expect_fenced(job_id, kind, self.outcomes(call)):
            assert job is not None
            job.expires = self.clock.now + job.lease_seconds

    @precondition(lambda self: self.has())
    @rule(data=st.data(), priority=st.none() | PRIORITY)
    def requeue(self, data: st.DataObject, priority: int | None) -> None:
        job_id = self.pick(data)
        results = self.outcomes(lambda store, _: store.requeue(RequeueRequest(job_id=job_id, priority=priority)))
        job = self.model.get(job_id)
        if job is None:
            assert all(isinstance(r, NotFound) for r in results), results
            return
        moved = job.status != "queued"
        assert all(isinstance(r[0], Job) and r[0].status == "queued" and r[1] == moved for r in results), results
        if job.status != "queued":
            if job.status in FINISHED:
                self.finished_order.remove(job_id)
            job.status, job.ticket, job.due = "queued", self.tick(), None
            job.priority = job.priority if priority is None else priority

    @precondition(lambda self: self.has())
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        job_id = self.pick(data)
        results = self.outcomes(lambda store, _: store.cancel(job_id))
        job = self.model.get(job_id)
        if job is None:
            assert all(isinstance(r, NotFound) for r in results), results
        elif job.status in FINISHED:
            assert all(isinstance(r, Conflict) for r in results), results
        else:
            assert all(isinstance(r, Job) and r.status == "cancelled" for r in results), results
            self.finish(job_id, "cancelled")

    @precondition(lambda self: self.has("running") or self.has("queued"))
    @rule(seconds=st.sampled_from([1, 5, 10]))
    def advance_and_expire(self, seconds: int) -> None:
        self.clock.advance(seconds)
        results = self.outcomes(lambda store, _: store.expire_leases(PriceBook()))
        now = self.clock.now
        due = sorted(
            (j.expires, j.claim_order, i) for i, j in self.model.items() if j.status == "running" and j.expires <= now
        )
        expected = []
        for _, _, job_id in due:
            job = self.model[job_id]
            if job.attempt < CAP:
                job.status, job.ticket, job.due = "queued", self.tick(), None
                event("lease expired: requeued")
            else:
                self.finish(job_id, "failed")
                event("lease expired: failed at the cap")
            expected.append((job_id, job.status))
        for result in results:
            assert [(j.id, j.status) for j in result] == expected, (result, expected)

    # -- invariants ----------------------------------------------------------------------------------------

    @invariant()
    def stores_agree_with_the_model(self) -> None:
        first, *others = self.stores
        counts = self.run(first.counts())
        assert all(self.run(store.counts()) == counts for store in others)
        statuses = [j.status for j in self.model.values()]
        assert counts.active == statuses.count("running")
        assert counts.completed == sum(s in FINISHED for s in statuses)
        now = self.clock.now
        due = [j.queue for j in self.model.values() if j.claimable(now)]
        later = [j.queue for j in self.model.values() if j.status == "queued" and not j.claimable(now)]
        assert counts.queues == QueueDepths(local=due.count("local"), remote=due.count("remote"))
        assert counts.scheduled == QueueDepths(local=later.count("local"), remote=later.count("remote"))
        running = [j.queue for j in self.model.values() if j.status == "running"]  # the metrics' gauge (§13)
        expected_running = QueueDepths(local=running.count("local"), remote=running.count("remote"))
        assert all(self.run(store.running()) == expected_running for store in self.stores)
        for job_id, job in self.model.items():
            record = self.run(first.get(job_id))
            assert all(self.run(store.get(job_id)) == record for store in others)
            assert (record.status, record.priority, record.attempt) == (job.status, job.priority, job.attempt)
            assert (record.lease_expires_at is not None) == (record.status == "running")  # §11
            assert record.run_at_ts == (job.due if job.status == "queued" else record.run_at_ts)
        state, board = self.run(first.state(10)), self.run(first.board(10))
        assert all(self.run(store.state(10)) == state for store in others)
        assert all(self.run(store.board(10)) == board for store in others)
        # The planner's totals move with the jobs in every store (§10.4), and what they learned agrees (§10.3).
        workload = workload_of((self.run(first.get(job_id)) for job_id in self.model), self.clock.now)
        assert all(self.run(store.workload()) == workload for store in self.stores)
        events = self.run(first.events_after(0, 10_000))  # every transition logged, the same in every store (§11)
        assert all(self.run(store.events_after(0, 10_000)) == events for store in others)
        assert [e.id for e in events] == list(range(1, len(events) + 1))
        learned = sorted(self.run(first.model_report()), key=lambda e: (e.place, e.model or ""))
        assert all(sorted(self.run(s.model_report()), key=lambda e: (e.place, e.model or "")) == learned
                   for s in others)  # fmt: skip


SchedulerMachine.TestCase.settings = settings(
    max_examples=120,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestSchedulerMachine = SchedulerMachine.TestCase
