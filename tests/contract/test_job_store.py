"""One contract suite for every JobStore adapter (design rule 6): the transitions and examples of §5."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest

from computeadvisor.domain.errors import Conflict, NotFound
from computeadvisor.domain.job_requests import (
    parse_claim,
    parse_complete,
    parse_fail,
    parse_heartbeat,
    parse_requeue,
)
from computeadvisor.domain.job_spec import parse_enqueue
from computeadvisor.domain.jobs import Claimed, Job, JobView, PriceBook, QueueDepths, public_view
from computeadvisor.domain.providers import ProviderRecord
from computeadvisor.domain.values import iso_utc
from computeadvisor.ports.job_store import JobStore
from tests.contract._job_support import RUNPOD_DEV, T0, FakeClock, MakeStore

pytestmark = pytest.mark.anyio


async def enqueue(store: JobStore, body: dict[str, Any]) -> Job:
    job, created = await store.enqueue(parse_enqueue(body))
    assert created
    return job


async def claim(store: JobStore, body: dict[str, Any] | None = None) -> Claimed:
    claimed = await store.claim(parse_claim(body or {}))
    assert claimed is not None
    return claimed


# -- enqueue and claim order (§5.4, §5.8) -----------------------------------------------------------------


async def test_priority_then_fifo(store: JobStore) -> None:
    for body in ({"id": "a", "priority": 1}, {"id": "b", "priority": 5}, {"id": "c", "priority": 1}):
        job = await enqueue(store, body)
        assert (job.status, job.attempt, job.runs, job.queue, job.provider_id) == ("queued", 0, (), "local", "local")
        assert job.created_at.endswith("Z") and job.created_ts == T0
    assert [(await claim(store)).job.id for _ in range(3)] == ["b", "a", "c"]
    assert await store.claim(parse_claim({})) is None


async def test_claims_only_the_named_queue(store: JobStore) -> None:
    await enqueue(store, {"id": "r", "target": "REMOTE"})
    assert await store.claim(parse_claim({})) is None
    claimed = await claim(store, {"queue": "remote", "worker_id": "w1", "lease_seconds": 60})
    job = claimed.job
    assert (job.id, job.queue, job.provider_id, job.status, job.attempt, job.worker_id) == (
        "r", "remote", None, "running", 1, "w1"
    )  # fmt: skip
    assert job.started_ts == T0 and job.started_at == iso_utc(T0)
    assert claimed.lease.expires_at == iso_utc(T0 + 60)
    assert len(claimed.lease.token) >= 32
    assert "lease" not in msgspec.json.decode(msgspec.json.encode(job))


async def test_enqueue_is_idempotent_on_the_first_spec(store: JobStore) -> None:
    first = await enqueue(store, {"id": "a", "priority": 1, "payload": {"x": 1, "y": [2]}})
    again, created = await store.enqueue(parse_enqueue({"id": "a", "priority": 1, "payload": {"y": [2], "x": 1}}))
    assert (again, created) == (first, False)
    await claim(store)
    now, created = await store.enqueue(parse_enqueue({"id": "a", "priority": "1", "payload": {"x": 1, "y": [2]}}))
    assert (now.status, created) == ("running", False)  # the job as it is now
    with pytest.raises(Conflict, match="'a'"):
        await store.enqueue(parse_enqueue({"id": "a", "priority": 2}))
    await store.requeue(parse_requeue({"job_id": "a", "priority": 7}))
    _, created = await store.enqueue(parse_enqueue({"id": "a", "priority": 1, "payload": {"x": 1, "y": [2]}}))
    assert not created  # compared with the first enqueue, not with the requeued priority


async def test_integer_ids_and_generated_ids(store: JobStore) -> None:
    job = await enqueue(store, {"id": 42, "title": "render"})
    assert (job.id, job.name) == ("42", "render")
    generated = await enqueue(store, {"name": "x"})
    assert len(generated.id) == 12 and int(generated.id, 16) >= 0
    assert (await store.get("42")) == job


# -- sticky devices (§5.4) --------------------------------------------------------------------------------


async def test_sticky_hint_wins_over_the_claimer(store: JobStore) -> None:
    await enqueue(store, {"id": "s", "queue": "remote", "sticky_device": True, "device_id": "remote:a"})
    job = (await claim(store, {"queue": "remote", "device_id": "remote:b"})).job
    assert job.device_id == job.sticky_device_id == "remote:a"
    assert job.attempt == 1 and job.runs[0].device_id == "remote:a"


async def test_sticky_bind_on_first_claim(store: JobStore) -> None:
    await enqueue(store, {"id": "t", "sticky": True})
    await claim(store, {"device_id": "gpu:1", "worker_id": "w1"})
    await store.requeue(parse_requeue({"job_id": "t"}))
    job = (await claim(store, {"device_id": "gpu:2", "worker_id": "w2"})).job
    assert (job.device_id, job.sticky_device_id, job.attempt) == ("gpu:1", "gpu:1", 2)
    assert [(r.attempt, r.device_id, r.worker_id) for r in job.runs] == [(1, "gpu:1", "w1"), (2, "gpu:1", "w2")]


async def test_not_sticky_takes_the_claimers_device_and_keeps_the_hint(store: JobStore) -> None:
    await enqueue(store, {"id": "n", "sticky_device_id": "gpu:0"})
    job = (await claim(store, {"device_id": "gpu:3"})).job
    assert (job.device_id, job.sticky_device_id) == ("gpu:3", "gpu:0")
    await store.requeue(parse_requeue({"job_id": "n"}))
    job = (await claim(store)).job  # no device sent: unchanged
    assert (job.device_id, job.sticky_device_id, job.runs[-1].device_id) == ("gpu:3", "gpu:0", "gpu:3")


async def test_sticky_without_any_device_stays_unbound(store: JobStore) -> None:
    await enqueue(store, {"id": "u", "sticky": 1})
    job = (await claim(store)).job
    assert (job.device_id, job.sticky_device_id) == (None, None)


# -- complete and costs (§5.7, §5.8) ----------------------------------------------------------------------

REMOTE_JOB = {"id": "r", "queue": "remote", "provider_id": "runpod-dev", "vram_gb": 16}
COMPLETE_R = {"job_id": "r", "duration_sec": 270, "bytes_tx": 1073741824, "bytes_rx": 67108864}


@pytest.mark.parametrize(("providers", "cost"), [((RUNPOD_DEV,), 0.7076), ((), 0.225)])
async def test_completion_cost(store: JobStore, providers: tuple[ProviderRecord, ...], cost: float) -> None:
    await enqueue(store, REMOTE_JOB)
    await claim(store, {"queue": "remote"})
    job = await store.complete(parse_complete(COMPLETE_R), PriceBook(providers))
    assert (job.status, job.duration_sec, job.cost_estimate) == ("succeeded", 270.0, cost)
    assert (job.bytes_tx, job.bytes_rx, job.vram_gb) == (1073741824, 67108864, 16.0)
    assert job.completed_ts == T0 and job.completed_at is not None


async def test_completion_cost_worked_example(store: JobStore) -> None:
    provider = ProviderRecord(
        id="p", meta={"cost_per_minute": 0.5, "egress_cost_per_gb": 0.25, "vram_cost_per_gb_minute": 0.05}
    )
    await enqueue(store, {"id": "x", "queue": "remote", "provider_id": "p", "vram_gb": "12"})
    await claim(store, {"queue": "remote"})
    body = {"job_id": "x", "duration_sec": "180", "bytes_tx": 1073741824, "bytes_rx": 134217728}
    assert (await store.complete(parse_complete(body), PriceBook((provider,)))).cost_estimate == 3.5812


async def test_complete_defaults_and_explicit_cost(store: JobStore, clock: FakeClock) -> None:
    await enqueue(store, {"id": "d", "bytes_tx": 5})
    await claim(store)
    clock.advance(12.34567)
    body = {"job_id": "d", "status": "cancelled", "cost_estimate": 1.23456}
    job = await store.complete(parse_complete(body), PriceBook())
    assert (job.status, job.duration_sec, job.cost_estimate) == ("cancelled", 12.346, 1.2346)
    assert (job.bytes_tx, job.bytes_rx, job.vram_gb, job.error) == (5, 0, None, None)


async def test_null_vram_takes_the_provider_default(store: JobStore) -> None:
    provider = ProviderRecord(
        id="p", meta={"cost_per_minute": 0.1, "vram_cost_per_gb_minute": 0.002, "default_vram_gb": 24}
    )
    await enqueue(store, {"id": "v", "queue": "remote", "provider_id": "p"})
    await claim(store, {"queue": "remote"})
    job = await store.complete(parse_complete({"job_id": "v", "duration_sec": 600}), PriceBook((provider,)))
    assert (job.vram_gb, job.cost_estimate) == (None, 1.48)


async def test_complete_with_failed_status_and_measured_vram(store: JobStore) -> None:
    await enqueue(store, {"id": "f"})
    await claim(store)
    job = await store.complete(parse_complete({"job_id": "f", "status": "failed", "vram_gb": "8"}), PriceBook())
    assert (job.status, job.vram_gb, job.duration_sec) == ("failed", 8.0, 0.0)


# -- fail, requeue, cancel ---------------------------------------------------------------------------------


async def test_fail_records_error_duration_and_cost(store: JobStore, clock: FakeClock) -> None:
    await enqueue(store, {"id": "c", "queue": "remote", "provider_id": "runpod-dev"})
    await claim(store, {"queue": "remote"})
    clock.advance(60.123456)
    job = await store.fail(parse_fail({"job_id": "c", "error": "boom"}), PriceBook((RUNPOD_DEV,)))
    assert (job.status, job.error, job.completed_ts) == ("failed", "boom", T0 + 60.123456)
    assert job.duration_sec is not None and job.duration_sec != round(job.duration_sec, 3)  # unrounded
    assert job.duration_sec == pytest.approx(60.123456)
    assert job.cost_estimate == round(60.123456 / 60 * 0.12, 4)
    assert (job.bytes_tx, job.bytes_rx) == (None, None)
    state = await store.state(10)
    assert state.completed[0].id == "c"


async def test_requeue_clears_the_run_and_goes_to_the_back(store: JobStore) -> None:
    await enqueue(store, {"id": "r", "queue": "remote", "device_id": "gpu:0", "vram_gb": 4})
    await enqueue(store, {"id": "s", "queue": "remote", "priority": 9})
    await claim(store, {"queue": "remote"})  # s
    first = await claim(store, {"queue": "remote", "worker_id": "w"})
    await store.fail(parse_fail({"job_id": "r", "error": "x"}), PriceBook())
    job, moved = await store.requeue(parse_requeue({"job_id": "r", "priority": 9}))
    assert moved
    assert (job.status, job.priority, job.worker_id, job.error) == ("queued", 9, None, None)
    assert (job.started_at, job.completed_at, job.duration_sec, job.cost_estimate) == (None, None, None, None)
    assert (job.attempt, job.runs, job.device_id, job.vram_gb) == (1, first.job.runs, "gpu:0", 4.0)
    await store.requeue(parse_requeue({"job_id": "s"}))  # same band, requeued later: behind r
    state = await store.state(10)
    assert [v.id for v in state.queues.remote] == ["r", "s"]


async def test_requeue_of_a_queued_job_changes_nothing(store: JobStore, clock: FakeClock) -> None:
    job = await enqueue(store, {"id": "q"})
    clock.advance(5)
    assert await store.requeue(parse_requeue({"job_id": "q", "priority": 3})) == (job, False)


async def test_failing_an_unclaimed_job_conflicts_and_cancel_removes_it(store: JobStore) -> None:
    await enqueue(store, {"id": "u", "queue": "remote"})
    with pytest.raises(Conflict, match=r"'u'.*queued"):
        await store.fail(parse_fail({"job_id": "u"}), PriceBook())
    state = await store.state(10)
    assert [v.id for v in state.queues.remote] == ["u"] and state.counts.queues.remote == 1
    job = await store.cancel("u")
    assert (job.status, job.completed_ts, job.duration_sec, job.cost_estimate) == ("cancelled", T0, None, None)
    assert (await store.counts()).queues.remote == 0
    with pytest.raises(Conflict, match=r"'u'.*cancelled"):
        await store.cancel("u")


async def test_cancel_a_running_job_drops_its_lease(store: JobStore) -> None:
    await enqueue(store, {"id": "k"})
    claimed = await claim(store)
    job = await store.cancel("k")
    assert (job.status, job.completed_ts, job.duration_sec) == ("cancelled", T0, None)
    with pytest.raises(Conflict, match="stale"):
        await store.heartbeat(parse_heartbeat({"job_id": "k", "lease_token": claimed.lease.token}))


# -- transition errors (§5.3, §5.8) ------------------------------------------------------------------------


async def test_complete_conflicts_outside_running(store: JobStore) -> None:
    await enqueue(store, {"id": "a"})
    with pytest.raises(Conflict, match=r"job 'a' is queued"):
        await store.complete(parse_complete({"job_id": "a"}), PriceBook())
    await claim(store)
    await store.complete(parse_complete({"job_id": "a"}), PriceBook())
    with pytest.raises(Conflict, match=r"job 'a' is succeeded"):
        await store.complete(parse_complete({"job_id": "a"}), PriceBook())
    with pytest.raises(Conflict, match=r"job 'a' is succeeded"):
        await store.fail(parse_fail({"job_id": "a"}), PriceBook())
    with pytest.raises(Conflict, match=r"job 'a' is succeeded"):
        await store.heartbeat(parse_heartbeat({"job_id": "a"}))


async def test_stale_token_is_rejected_and_the_job_is_unchanged(store: JobStore) -> None:
    await enqueue(store, {"id": "a"})
    old = await claim(store)
    await store.requeue(parse_requeue({"job_id": "a"}))
    new = await claim(store)
    assert new.lease.token != old.lease.token
    for attempt in (
        store.complete(parse_complete({"job_id": "a", "lease_token": old.lease.token}), PriceBook()),
        store.fail(parse_fail({"job_id": "a", "lease_token": old.lease.token}), PriceBook()),
        store.heartbeat(parse_heartbeat({"job_id": "a", "lease_token": old.lease.token})),
    ):
        with pytest.raises(Conflict, match="stale") as caught:
            await attempt
        assert "'a'" in caught.value.detail and "running" in caught.value.detail
    assert await store.get("a") == new.job
    body = {"job_id": "a", "lease_token": new.lease.token}
    assert (await store.complete(parse_complete(body), PriceBook())).status == "succeeded"


async def test_racing_transitions_of_one_job_apply_one_at_a_time(store: JobStore) -> None:
    """Completions and heartbeats of one running job sent at once (the same worker retrying, say): exactly one
    completion wins, every other call is decided on the job as the writes before it left it, and the job is
    completed once: one event, one lesson."""
    await enqueue(store, {"id": "race", "device_id": "gpu:0", "payload": {"work_units": 2}})
    claimed = await claim(store)
    body = {"job_id": "race", "lease_token": claimed.lease.token}
    results = await asyncio.gather(
        *(store.complete(parse_complete({**body, "duration_sec": 1 + n}), PriceBook()) for n in range(6)),
        *(store.heartbeat(parse_heartbeat({**body, "lease_seconds": 100 + n})) for n in range(6)),
        return_exceptions=True,
    )
    completions, heartbeats = results[:6], results[6:]
    (done,) = [result for result in completions if isinstance(result, Job)]
    assert all(isinstance(result, Conflict) for result in completions if result is not done)
    assert all(isinstance(result, (Claimed, Conflict)) for result in heartbeats)
    assert await store.get("race") == done and done.status == "succeeded"
    finished = [e for e in await store.events_after(0, 100) if e.data.get("to") == "succeeded"]
    assert [e.data["job_id"] for e in finished] == ["race"]
    (entry,) = await store.model_report()
    assert (entry.place, entry.samples) == ("gpu:0", 1)


async def test_unknown_ids_are_not_found_everywhere(store: JobStore) -> None:
    expected = "job 'zzz' not found"
    calls = [
        store.get("zzz"),
        store.cancel("zzz"),
        store.requeue(parse_requeue({"job_id": "zzz"})),
        store.heartbeat(parse_heartbeat({"job_id": "zzz"})),
        store.complete(parse_complete({"job_id": "zzz"}), PriceBook()),
        store.fail(parse_fail({"job_id": "zzz"}), PriceBook()),
    ]
    for call in calls:
        with pytest.raises(NotFound) as caught:
            await call
        assert caught.value.detail == expected


# -- leases (§5.5) -----------------------------------------------------------------------------------------


async def test_heartbeat_extends_with_the_same_token(store: JobStore, clock: FakeClock) -> None:
    await enqueue(store, {"id": "h"})
    claimed = await claim(store, {"lease_seconds": 30})
    assert claimed.job.lease_expires_at == claimed.lease.expires_at == iso_utc(T0 + 30)  # §11: the record shows it
    clock.advance(20)
    beat = await store.heartbeat(parse_heartbeat({"job_id": "h", "lease_token": claimed.lease.token}))
    assert beat.lease == claimed.lease.__class__(token=claimed.lease.token, expires_at=iso_utc(T0 + 50))
    assert (await store.get("h")).lease_expires_at == iso_utc(T0 + 50)
    assert (await store.state(10)).active[0].lease_expires_at == iso_utc(T0 + 50)
    clock.advance(20)
    beat = await store.heartbeat(parse_heartbeat({"job_id": "h", "lease_seconds": 100}))
    assert beat.lease.expires_at == iso_utc(T0 + 140) and beat.job.updated_ts == T0 + 40
    clock.advance(99)
    assert await store.expire_leases(PriceBook()) == []
    beat = await store.heartbeat(parse_heartbeat({"job_id": "h"}))  # back to the claim's 30 s
    assert beat.lease.expires_at == iso_utc(T0 + 139 + 30)
    done = await store.complete(parse_complete({"job_id": "h"}), PriceBook())
    assert done.lease_expires_at is None and (await store.get("h")).lease_expires_at is None


async def test_leases_expired_says_when_expiry_has_work(store: JobStore, clock: FakeClock) -> None:
    assert await store.leases_expired() is False  # nothing running
    await enqueue(store, {"id": "x"})
    await claim(store, {"lease_seconds": 5})
    assert await store.leases_expired() is False  # running, lease not over
    clock.advance(5)
    assert await store.leases_expired() is True
    assert [job.id for job in await store.expire_leases(PriceBook())] == ["x"]
    assert await store.leases_expired() is False  # processed


async def test_lease_expiry_requeues_then_fails_at_the_cap(make_store: MakeStore, clock: FakeClock) -> None:
    store = await make_store(attempt_cap=2)
    await enqueue(store, {"id": "e", "queue": "remote", "provider_id": "runpod-dev", "priority": 1})
    await enqueue(store, {"id": "f", "queue": "remote", "priority": 1})
    first = await claim(store, {"queue": "remote", "lease_seconds": 1})
    assert first.job.id == "e"
    clock.advance(2)
    [requeued] = await store.expire_leases(PriceBook((RUNPOD_DEV,)))
    assert (requeued.id, requeued.status, requeued.worker_id, requeued.started_at) == ("e", "queued", None, None)
    assert (requeued.priority, requeued.attempt, requeued.error) == (1, 1, None)
    assert [v.id for v in (await store.state(10)).queues.remote] == ["f", "e"]  # a new seq: behind f
    with pytest.raises(Conflict):
        await store.complete(parse_complete({"job_id": "e", "lease_token": first.lease.token}), PriceBook())
    await claim(store, {"queue": "remote"})  # f
    second = await claim(store, {"queue": "remote", "lease_seconds": 10})
    clock.advance(10)
    [failed] = await store.expire_leases(PriceBook((RUNPOD_DEV,)))
    assert (failed.id, failed.status, failed.error, failed.attempt) == ("e", "failed", "lease expired", 2)
    assert (failed.completed_ts, failed.duration_sec, failed.cost_estimate) == (T0 + 12, 10.0, 0.02)
    with pytest.raises(Conflict, match="stale"):
        await store.complete(parse_complete({"job_id": "e", "lease_token": second.lease.token}), PriceBook())
    assert await store.expire_leases(PriceBook()) == []


async def test_default_cap_is_three(store: JobStore, clock: FakeClock) -> None:
    await enqueue(store, {"id": "e"})
    statuses = []
    for _ in range(3):
        await claim(store, {"lease_seconds": 5})
        clock.advance(5)
        statuses += [job.status for job in await store.expire_leases(PriceBook())]
    assert statuses == ["queued", "queued", "failed"]
    assert (await store.get("e")).error == "lease expired"


# -- retention (§5.9) ---------------------------------------------------------------------------------------


async def test_retention_keeps_the_most_recently_finished(make_store: MakeStore, clock: FakeClock) -> None:
    store = await make_store(retention=3)
    for n in range(5):
        await enqueue(store, {"id": f"j{n}"})
    await enqueue(store, {"id": "waiting"})
    for n in range(5):
        await claim(store)
        clock.advance(1)
        await store.complete(parse_complete({"job_id": f"j{n}"}), PriceBook())
    counts = await store.counts()
    assert (counts.completed, counts.queues.local) == (3, 1)
    assert [v.id for v in (await store.state(10)).completed] == ["j4", "j3", "j2"]
    with pytest.raises(NotFound):
        await store.get("j0")
    assert await store.prune() == 0
    _, created = await store.enqueue(parse_enqueue({"id": "j0", "priority": 4}))  # a pruned id is free again
    assert created


# -- state, board, counts (§5.7) ----------------------------------------------------------------------------


async def test_state_sections_orders_limits_and_counts(store: JobStore, clock: FakeClock) -> None:
    for n, (queue, priority) in enumerate([("local", 0), ("local", 2), ("remote", 0), ("local", 2), ("local", 1)]):
        await enqueue(store, {"id": f"q{n}", "queue": queue, "priority": priority})
        clock.advance(1)
    for n in range(3):
        await enqueue(store, {"id": f"r{n}"})
    await claim(store)  # q1
    clock.advance(1)
    await claim(store)  # q3
    await store.complete(parse_complete({"job_id": "q1"}), PriceBook())
    clock.advance(1)
    await store.cancel("q0")
    state = await store.state(2)
    assert [v.id for v in state.queues.local] == ["q4", "r0"]
    assert [v.id for v in state.queues.remote] == ["q2"]
    assert [v.id for v in state.active] == ["q3"]
    assert [v.id for v in state.completed] == ["q0", "q1"]
    counts = state.counts
    assert (counts.queues.local, counts.queues.remote, counts.active, counts.completed) == (4, 1, 1, 2)
    assert counts == await store.counts()
    assert await store.running() == QueueDepths(local=1, remote=0)
    for view in (*state.queues.local, *state.active, *state.completed):
        assert view == public_view(await store.get(view.id))
    assert list(msgspec.structs.asdict(state.active[0])) == list(JobView.__struct_fields__)
    assert len(JobView.__struct_fields__) == 21


async def test_board_shows_running_and_recent_finished(store: JobStore, clock: FakeClock) -> None:
    await enqueue(store, {"id": "w", "queue": "remote", "device_id": "remote:a"})
    for n in range(3):
        await enqueue(store, {"id": f"l{n}"})
    await claim(store, {"device_id": "gpu:0"})  # l0 at T0
    clock.advance(10)
    await claim(store)  # l1 at T0+10
    clock.advance(10)
    await store.complete(parse_complete({"job_id": "l1", "duration_sec": 3}), PriceBook())
    await claim(store, {"queue": "remote"})
    clock.advance(5)
    await store.complete(parse_complete({"job_id": "w"}), PriceBook())
    await store.cancel("l2")
    board = await store.board(1)
    assert [s.id for s in board.jobs] == ["l0", "l2"]  # the running job, plus the 1 most recently finished
    assert board.generated_at == iso_utc(T0 + 25)
    l0, l2 = board.jobs
    assert (l0.start, l0.end, l0.duration_sec, l0.device, l0.status) == (T0, T0 + 25, 25.0, "gpu:0", "running")
    assert (l2.start, l2.end, l2.duration_sec) == (T0, T0 + 25, 25.0)  # never started: created_ts
    assert len(msgspec.structs.asdict(l0)) == 14
    board = await store.board(10)
    assert [(s.queue, s.id) for s in board.jobs] == [("local", "l0"), ("local", "l2"), ("local", "l1"),
                                                     ("remote", "w")]  # fmt: skip
    l1 = board.jobs[2]
    assert (l1.start, l1.end, l1.duration_sec) == (T0 + 10, T0 + 20, 3.0)
    assert (board.jobs[3].device, board.jobs[3].duration_sec) == ("remote:a", 5.0)


async def test_records_are_equal_across_reads(store: JobStore) -> None:
    job = await enqueue(store, {"id": "p", "payload": {"prompt": "é", "n": [1, 2.5, None]}, "meta": {"k": True}})
    assert await store.get("p") == job
    data = msgspec.json.decode(msgspec.json.encode(job))
    assert data["payload"] == {"prompt": "é", "n": [1, 2.5, None]} and data["meta"] == {"k": True}
    assert {k for k, v in data.items() if v is None} >= {"worker_id", "error", "started_at", "completed_at"}
