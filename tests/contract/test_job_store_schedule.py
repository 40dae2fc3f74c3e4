"""Scheduled jobs and retries (§15) in every JobStore: not claimable before ``run_at``, counted apart, retried."""

from __future__ import annotations

from typing import Any

import pytest

from computeadvisor.domain.job_requests import parse_claim, parse_complete, parse_fail
from computeadvisor.domain.job_spec import parse_enqueue
from computeadvisor.domain.jobs import Claimed, Job, PriceBook, QueueDepths
from computeadvisor.domain.values import iso_utc
from computeadvisor.ports.job_store import JobStore
from tests.contract._job_support import T0, FakeClock

pytestmark = pytest.mark.anyio


async def enqueue(store: JobStore, body: dict[str, Any]) -> Job:
    job, created = await store.enqueue(parse_enqueue(body))
    assert created
    return job


async def claim(store: JobStore) -> Claimed | None:
    return await store.claim(parse_claim({"worker_id": "w", "device_id": "cpu"}))


async def fail(store: JobStore, claimed: Claimed | None, error: str) -> Job:
    assert claimed is not None
    body = {"job_id": claimed.job.id, "lease_token": claimed.lease.token, "error": error}
    return await store.fail(parse_fail(body), PriceBook())


async def test_a_job_is_not_claimed_before_its_run_at(store: JobStore, clock: FakeClock) -> None:
    later = await enqueue(store, {"id": "later", "priority": 9, "run_at": iso_utc(T0 + 60)})
    assert later.status == "queued" and later.run_at == iso_utc(T0 + 60) and later.run_at_ts == T0 + 60
    await enqueue(store, {"id": "now", "priority": 1})
    counts = await store.counts()
    assert counts.queues == QueueDepths(local=1) and counts.scheduled == QueueDepths(local=1)
    first = await claim(store)
    assert first is not None and first.job.id == "now"  # the higher priority is not due yet
    assert await claim(store) is None
    clock.advance(59.5)
    assert await claim(store) is None
    clock.advance(0.5)
    counts = await store.counts()  # no write since the last read: the store still sees the job fall due
    assert counts.queues == QueueDepths(local=1) and counts.scheduled == QueueDepths()
    due = await claim(store)
    assert due is not None and due.job.id == "later" and due.job.run_at == iso_utc(T0 + 60)


async def test_delay_seconds_counts_from_the_first_enqueue(store: JobStore, clock: FakeClock) -> None:
    job = await enqueue(store, {"id": "d", "delay_seconds": 30})
    assert job.run_at_ts == T0 + 30
    clock.advance(10)
    again, created = await store.enqueue(parse_enqueue({"id": "d", "delay_seconds": 30}))
    assert not created and again.run_at_ts == T0 + 30  # idempotent: the same spec, the first due time
    both = await enqueue(store, {"id": "both", "delay_seconds": 5, "run_at": T0 + 100})
    assert both.run_at_ts == T0 + 100  # the later of the two
    past = await enqueue(store, {"id": "past", "run_at": "2001-01-01T00:00:00Z"})
    assert past.run_at_ts is not None and past.run_at_ts < T0
    claimed = await claim(store)
    assert claimed is not None and claimed.job.id == "past"  # a past run_at is due at once


async def test_a_failure_with_attempts_left_is_retried_after_an_exponential_backoff(
    store: JobStore, clock: FakeClock
) -> None:
    await enqueue(store, {"id": "flaky", "max_attempts": 3, "backoff_seconds": 10})
    retried = await fail(store, await claim(store), "out of memory")
    assert (retried.status, retried.attempt, retried.error) == ("queued", 1, "out of memory")
    assert retried.run_at_ts == T0 + 10 and retried.started_ts is None and retried.duration_sec is None
    assert [run.error for run in retried.runs] == ["out of memory"]
    assert (await store.counts()).scheduled == QueueDepths(local=1)
    events = await store.events_after(0, 100)
    assert [(e.data["from"], e.data["to"]) for e in events] == [(None, "queued"), ("queued", "running"),
                                                                ("running", "queued")]  # fmt: skip
    assert events[-1].data["run_at"] == iso_utc(T0 + 10) and events[-1].data["attempt"] == 1
    assert await claim(store) is None
    clock.advance(10)
    second = await claim(store)
    assert second is not None and second.job.attempt == 2 and second.job.error == "out of memory"  # the last one
    retried = await fail(store, second, "out of memory again")
    assert retried.status == "queued" and retried.run_at_ts == clock.now + 20  # 10 × 2^(2 − 1)
    clock.advance(20)
    final = await fail(store, await claim(store), "gave up")
    assert (final.status, final.attempt, final.error) == ("failed", 3, "gave up")
    assert [run.error for run in final.runs] == ["out of memory", "out of memory again", None]
    assert (await store.counts()).scheduled == QueueDepths()


async def test_a_retried_job_that_succeeds_has_no_error_but_its_runs_keep_them(store: JobStore) -> None:
    await enqueue(store, {"id": "second-time", "max_attempts": 2, "backoff_seconds": 0})
    await fail(store, await claim(store), "flake")
    again = await claim(store)
    assert again is not None
    done = await store.complete(
        parse_complete({"job_id": "second-time", "lease_token": again.lease.token}), PriceBook()
    )
    assert (done.status, done.error, [run.error for run in done.runs]) == ("succeeded", None, ["flake", None])


async def test_a_completion_keeps_the_output_names_in_its_run(store: JobStore) -> None:
    await enqueue(store, {"id": "frames"})
    claimed = await claim(store)
    assert claimed is not None
    body = {"job_id": "frames", "lease_token": claimed.lease.token, "outputs": ["out/f1.png", "out/f2.png"]}
    done = await store.complete(parse_complete(body), PriceBook())
    assert done.runs[-1].outputs == ("out/f1.png", "out/f2.png")
    assert (await store.get("frames")).runs == done.runs


async def test_without_max_attempts_a_failure_is_final(store: JobStore) -> None:
    await enqueue(store, {"id": "once"})
    failed = await fail(store, await claim(store), "boom")
    assert (failed.status, failed.run_at_ts) == ("failed", None)
    assert failed.runs[0].error is None


async def test_the_planners_workload_ignores_jobs_not_yet_due(store: JobStore, clock: FakeClock) -> None:
    await enqueue(store, {"id": "soon", "payload": {"work_units": 5}, "delay_seconds": 30})
    await enqueue(store, {"id": "ready", "payload": {"work_units": 3}})
    workload = await store.workload()
    assert [(w.jobs, w.work_units) for w in workload.queued] == [(1, 3.0)]
    clock.advance(30)
    workload = await store.workload()
    assert [(w.jobs, w.work_units) for w in workload.queued] == [(2, 8.0)]


async def test_state_lists_scheduled_jobs_in_claim_order_and_counts_them_apart(
    store: JobStore, clock: FakeClock
) -> None:
    await enqueue(store, {"id": "r1", "queue": "remote", "delay_seconds": 5})
    await enqueue(store, {"id": "l1"})
    state = await store.state(10)
    assert [j.id for j in state.queues.remote] == ["r1"] and [j.id for j in state.queues.local] == ["l1"]
    assert state.counts.queues == QueueDepths(local=1) and state.counts.scheduled == QueueDepths(remote=1)
    clock.advance(5)
    assert (await store.state(10)).counts.queues == QueueDepths(local=1, remote=1)
