"""The EventLog contract over every JobStore adapter (§11): every transition has its event, in the same step, with
strictly increasing ids, and the log keeps only the most recent events."""

from __future__ import annotations

import pytest

from computeadvisor.domain.events import job_event, provider_event
from computeadvisor.domain.job_requests import parse_claim, parse_complete, parse_fail, parse_heartbeat, parse_requeue
from computeadvisor.domain.job_spec import parse_enqueue
from computeadvisor.domain.jobs import PriceBook
from computeadvisor.ports.job_store import JobStore
from tests.contract._job_support import FakeClock, MakeStore

pytestmark = pytest.mark.anyio


async def test_a_new_log_is_empty(store: JobStore) -> None:
    assert await store.event_bounds() == (None, 0)
    assert await store.events_after(0, 10) == []


async def test_every_transition_has_its_event_and_nothing_else_does(store: JobStore, clock: FakeClock) -> None:
    await store.enqueue(parse_enqueue({"id": "a", "queue": "remote", "provider_id": "rp"}))
    await store.enqueue(parse_enqueue({"id": "a", "queue": "remote", "provider_id": "rp"}))  # idempotent: no event
    claimed = await store.claim(parse_claim({"queue": "remote", "worker_id": "w"}))
    assert claimed is not None
    await store.heartbeat(parse_heartbeat({"job_id": "a"}))  # not a transition
    clock.advance(2)
    await store.complete(parse_complete({"job_id": "a", "duration_sec": 2}), PriceBook())
    await store.requeue(parse_requeue({"job_id": "a"}))
    await store.requeue(parse_requeue({"job_id": "a"}))  # already queued: unchanged, no event
    await store.cancel("a")
    await store.enqueue(parse_enqueue({"id": "b", "device_id": "gpu:0"}))
    await store.claim(parse_claim({}))
    await store.fail(parse_fail({"job_id": "b", "error": "boom"}), PriceBook())
    events = await store.events_after(0, 100)
    assert [e.id for e in events] == sorted({e.id for e in events}) and len(events) == 8
    assert [(e.data["job_id"], e.data["from"], e.data["to"]) for e in events] == [
        ("a", None, "queued"), ("a", "queued", "running"), ("a", "running", "succeeded"),
        ("a", "succeeded", "queued"), ("a", "queued", "cancelled"),
        ("b", None, "queued"), ("b", "queued", "running"), ("b", "running", "failed"),
    ]  # fmt: skip
    first = events[0]
    assert first.type == "job"
    assert first.data == {"job_id": "a", "queue": "remote", "from": None, "to": "queued", "attempt": 0,
                          "device_id": None, "provider_id": "rp", "ts": first.data["ts"]}  # fmt: skip
    assert first.data["ts"].endswith("Z")
    assert events[6].data["device_id"] == "gpu:0" and events[6].data["attempt"] == 1
    assert await store.event_bounds() == (events[0].id, events[-1].id)
    assert await store.events_after(events[5].id, 1) == [events[6]]


@pytest.mark.parametrize("claim_body", [{"queue": "remote", "worker_id": "w"}, {"device_id": "gpu:1"}, {}])
async def test_a_claims_event_is_the_domains_event_of_the_claimed_job(
    store: JobStore, clock: FakeClock, claim_body: dict[str, str]
) -> None:
    """(The PostgreSQL claim writes its event in the claim's own statement, with the domain's fields.)"""
    await store.enqueue(parse_enqueue({"id": "r", "queue": "remote", "provider_id": "rp", "device_id": "remote:rp"}))
    await store.enqueue(parse_enqueue({"id": "s", "sticky": True, "device_id": "gpu:0"}))
    clock.advance(1.25)
    claimed = await store.claim(parse_claim(claim_body))
    assert claimed is not None
    (event,) = (await store.events_after(0, 10))[2:]
    assert event.data == job_event(claimed.job, "queued", clock.now).data
    assert event.type == "job" and event.data["attempt"] == 1


async def test_lease_expiry_is_a_transition(make_store: MakeStore, clock: FakeClock) -> None:
    store = await make_store(attempt_cap=1)
    await store.enqueue(parse_enqueue({"id": "x"}))
    await store.claim(parse_claim({"lease_seconds": 5}))
    clock.advance(6)
    await store.expire_leases(PriceBook())
    last = (await store.events_after(0, 10))[-1]
    assert (last.data["from"], last.data["to"]) == ("running", "failed")


async def test_appended_events_share_the_ids_and_the_log_keeps_the_most_recent(make_store: MakeStore) -> None:
    store = await make_store(event_retention=3)
    ids = [(await store.append(provider_event(f"p{n}", "upsert", 0.0))).id for n in range(5)]
    assert ids == sorted(ids) and len(set(ids)) == 5
    kept = await store.events_after(0, 10)
    assert [e.id for e in kept] == ids[-3:]
    assert kept[0].data == {"provider_id": "p2", "op": "upsert", "ts": "1970-01-01T00:00:00Z"}
    assert await store.event_bounds() == (ids[2], ids[4])
    await store.enqueue(parse_enqueue({"id": "after"}))
    assert (await store.event_bounds())[1] == ids[4] + 1  # ids go on from the newest, never reused
