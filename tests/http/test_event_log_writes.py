"""What the routes write to the event log (§11): provider saves, deletes and health flips, policy changes, and job
transitions, each once; a change that changes nothing is no event."""

from __future__ import annotations

import asyncio
from typing import Any

from computeadvisor.adapters.memory_jobs import MemoryJobStore
from computeadvisor.domain.hardware import GpuInfo
from tests.http.conftest import ClientFactory

GPU0 = GpuInfo(id=0, name="GPU", mem_total=8192, mem_free=8000)


def logged(jobs: MemoryJobStore) -> list[tuple[str, dict[str, Any]]]:
    events = asyncio.run(jobs.events_after(0, 1000))
    return [(e.type, {k: v for k, v in e.data.items() if k != "ts"}) for e in events]


def test_provider_events(make_client: ClientFactory) -> None:
    jobs = MemoryJobStore()
    client = make_client(jobs=jobs)
    client.post("/api/providers", json={"id": "p1", "kind": "runpod"})  # no base: its probe fails
    client.get("/api/providers/health", params={"id": "p1"})
    client.get("/api/providers/health", params={"id": "p1"})  # the same result again: no event
    client.post("/api/providers", json={"id": "p1", "kind": "echo"})  # saved again: its health is forgotten
    client.get("/api/providers/health")  # every provider: an echo answers ok
    assert client.delete("/api/providers/p1").status_code == 200
    assert client.delete("/api/providers/p1").status_code == 404  # nothing deleted: no event
    assert logged(jobs) == [
        ("provider", {"provider_id": "p1", "op": "upsert"}),
        ("provider", {"provider_id": "p1", "op": "health", "ok": False}),
        ("provider", {"provider_id": "p1", "op": "upsert"}),
        ("provider", {"provider_id": "p1", "op": "health", "ok": True}),
        ("provider", {"provider_id": "p1", "op": "delete"}),
    ]


def test_policy_events_only_for_a_change(make_client: ClientFactory) -> None:
    jobs = MemoryJobStore()
    client = make_client(jobs=jobs, gpus=[GPU0])
    manual = {"mode": "manual", "manual_device": "gpu:0"}
    assert client.put("/api/gpu/policy", json=manual).status_code == 200
    assert client.put("/api/gpu/policy", json=manual).status_code == 200  # the same policy: no event
    client.put("/api/gpu/policy", json={"mode": "sticky"})
    client.post("/api/compute/advise", json={})  # sticky mode records its device: a change
    policies = [data["policy"] for kind, data in logged(jobs) if kind == "policy"]
    assert policies == [
        {"mode": "manual", "preferred_id": None, "manual_device": "gpu:0"},
        {"mode": "sticky", "preferred_id": None, "manual_device": "gpu:0"},
        {"mode": "sticky", "preferred_id": None, "manual_device": "gpu:0", "sticky_device": "gpu:0"},
    ]


def test_job_events_through_the_routes(make_client: ClientFactory) -> None:
    jobs = MemoryJobStore()
    client = make_client(jobs=jobs)
    client.post("/api/schedule/enqueue", json={"id": "j"})
    claimed = client.post("/api/schedule/claim", json={}).json()
    client.post("/api/schedule/heartbeat", json={"job_id": "j", "lease_token": claimed["lease"]["token"]})
    client.post("/api/schedule/cancel", json={"job_id": "j"})
    assert [(d["from"], d["to"]) for kind, d in logged(jobs)] == [
        (None, "queued"), ("queued", "running"), ("running", "cancelled")
    ]  # fmt: skip
