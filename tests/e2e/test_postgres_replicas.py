"""Several service processes on one PostgreSQL database (§14): one queue, one event order, long-polls across
replicas, and a database that goes away and comes back."""

from __future__ import annotations

import concurrent.futures
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests import _postgres
from tests.e2e._harness import RunningServer, ServerLauncher, poll
from tests.e2e._sse import SseStream
from tests.e2e._tcp_proxy import TcpRelay

pytestmark = pytest.mark.e2e


def replicas(launcher: ServerLauncher, tmp_path: Path, url: str, count: int = 2) -> list[RunningServer]:
    return [launcher.start(tmp_path / f"host{n}", args=("--database-url", url)) for n in range(count)]


def post(server: RunningServer, route: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    with server.client(timeout=40) as api:
        response = api.post(f"/api/schedule/{route}", json=body)
    assert response.status_code == status, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_replicas_share_one_queue_and_one_event_order(launcher: ServerLauncher, tmp_path: Path) -> None:
    a, b = replicas(launcher, tmp_path, _postgres.fresh_database())
    stream = SseStream(f"{b.base_url}/api/events?types=job").start()
    for n in range(20):
        post(a if n % 2 else b, "enqueue", {"id": f"j{n}"})

    def claim_all(server: RunningServer) -> list[str]:
        taken = []
        while (claimed := post(server, "claim", {"worker_id": server.base_url}))["job"] is not None:
            taken.append(claimed["job"]["id"])
            body = {"job_id": claimed["job"]["id"], "lease_token": claimed["lease"]["token"], "duration_sec": 1}
            post(a, "complete", body)  # completed through the other replica than the one that claimed, half the time
        return taken

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(claim_all, [a, b, a, b]))
    taken = [job for result in results for job in result]
    assert sorted(taken) == sorted(f"j{n}" for n in range(20))  # every job claimed exactly once
    stream.wait_for(lambda events: len(events) >= 60)
    events = stream.logged()
    assert [e.id for e in events] == list(range(1, 61))  # one id order, none missed or repeated, from both replicas
    assert sorted(e.data["to"] for e in events).count("succeeded") == 20
    state = httpx.get(f"{b.base_url}/api/schedule/state", timeout=10).json()
    assert state["counts"] == {
        "queues": {"local": 0, "remote": 0},
        "active": 0,
        "completed": 20,
        "scheduled": {"local": 0, "remote": 0},
    }


def test_a_claim_waiting_on_one_replica_takes_a_job_enqueued_on_another(
    launcher: ServerLauncher, tmp_path: Path
) -> None:
    a, b = replicas(launcher, tmp_path, _postgres.fresh_database())
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(post, b, "claim", {"wait_seconds": 30})
        post(a, "enqueue", {"id": "far-away"})
        claimed = waiting.result(timeout=40)
    assert claimed["job"]["id"] == "far-away"


def test_the_database_going_away_is_503_and_the_service_recovers(launcher: ServerLauncher, tmp_path: Path) -> None:
    url = _postgres.fresh_database()
    info = psycopg.conninfo.conninfo_to_dict(url)
    relay = TcpRelay((str(info.get("host") or "127.0.0.1"), int(str(info.get("port") or 5432))))
    relay.start()
    through_relay = psycopg.conninfo.make_conninfo(url, host="127.0.0.1", port=relay.port)
    (server,) = replicas(launcher, tmp_path, through_relay, count=1)
    post(server, "enqueue", {"id": "before"})
    relay.cut()
    down = post(server, "enqueue", {"id": "during"}, status=503)
    assert down["detail"] == "database unavailable"
    with server.client() as api:
        assert api.get("/api/schedule/state").status_code == 503
        assert api.get("/api/gpu/list").status_code == 200  # what needs no database keeps working
    relay.start()
    with server.client() as api:
        answer = poll(lambda: api.get("/api/schedule/state"), lambda r: r.status_code == 200, timeout_s=30)
    assert answer.status_code == 200
    assert [job["id"] for job in answer.json()["queues"]["local"]] == ["before"]  # nothing lost, nothing invented
    post(server, "enqueue", {"id": "after"})
    assert "Traceback" not in server.log_text()


def test_a_provider_saved_through_one_replica_is_priced_by_the_next_request_of_another(
    launcher: ServerLauncher, tmp_path: Path
) -> None:
    a, b = replicas(launcher, tmp_path, _postgres.fresh_database())
    provider = {"id": "rp", "kind": "runpod", "meta": {"cost_per_minute": 0.5}}
    with a.client() as api:
        assert api.post("/api/providers", json=provider).status_code == 200
    job = {"job": {"queue": "remote", "provider_id": "rp", "duration_minutes": 2}}
    with b.client() as api:
        costs = api.post("/api/compute/costs", json=job).json()
        assert costs["estimate"]["estimate"] == 1.0
        assert [p["id"] for p in api.get("/api/providers").json()["providers"]] == ["rp"]
        assert api.delete("/api/providers/rp").status_code == 200
    with a.client() as api:
        assert api.get("/api/providers").json()["providers"] == []
    assert not (tmp_path / "host0" / "config" / "compute_providers.json").exists()  # the database holds it
