"""GET /api/events over real HTTP connections to the service process (§11): replay after a reconnect with no
duplicates and no gaps, across a kill -9; reset, filters, keep-alive, the stream cap and a clean end on stop."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest

from tests.e2e._harness import RunningServer, ServerLauncher
from tests.e2e._sse import SseStream

pytestmark = pytest.mark.e2e


def cycle(api: httpx.Client, job_id: str) -> int:
    """Enqueue, claim and complete one job, each acknowledged with 2xx; three transitions."""
    assert api.post("/api/schedule/enqueue", json={"id": job_id}).status_code == 200
    claimed = api.post("/api/schedule/claim", json={"device_id": "cpu"}).json()
    assert claimed["job"]["id"] == job_id
    done = api.post("/api/schedule/complete", json={"job_id": job_id, "lease_token": claimed["lease"]["token"]})
    assert done.status_code == 200
    return 3


def stream(server: RunningServer, query: str = "", **headers: str) -> SseStream:
    return SseStream(f"{server.base_url}/api/events{query}", headers=headers).start()


def test_a_reconnecting_client_misses_nothing_across_a_kill(launcher: ServerLauncher, state_root: Path) -> None:
    server = launcher.start(state_root)
    live = stream(server, "?types=job")
    with server.client() as api:
        expected = sum(cycle(api, f"a{n}") for n in range(5))
    live.wait_for(lambda events: len(events) >= expected)
    seen = live.logged()
    assert len(seen) == expected
    server.kill_hard()  # acknowledged transitions and their events are on disk
    assert live.ended.wait(timeout=10)
    assert live.error is not None  # a stream cut by a dead server reads as broken (see the clean end below)

    server = launcher.start(state_root)
    with server.client() as api:
        expected += sum(cycle(api, f"b{n}") for n in range(3))  # while nobody listens
    resumed = stream(server, "?types=job", **{"Last-Event-ID": str(seen[-1].id)})
    with server.client() as api:
        expected += cycle(api, "c0")  # and while it replays or listens
    resumed.wait_for(lambda events: len(seen) + len(events) >= expected)
    every = seen + resumed.logged()
    ids = [e.id for e in every]
    assert ids == list(range(1, expected + 1))  # in order, no duplicates, no gaps
    assert [(e.data["job_id"], e.data["to"]) for e in every[-3:]] == [
        ("c0", "queued"), ("c0", "running"), ("c0", "succeeded")
    ]  # fmt: skip
    by_job: dict[str, list[str]] = {}
    for event in every:
        by_job.setdefault(event.data["job_id"], []).append(event.data["to"])
    assert all(states == ["queued", "running", "succeeded"] for states in by_job.values()), by_job


def test_a_position_outside_the_log_starts_with_a_reset(launcher: ServerLauncher, state_root: Path) -> None:
    server = launcher.start(state_root, args=("--event-retention", "3"))
    with server.client() as api:
        cycle(api, "x")
        cycle(api, "y")  # six events, the log keeps ids 4-6
    for query in ("?after=1", "?after=99"):
        reset = stream(server, query)
        events = reset.wait_for(lambda e: len(e) >= 1)
        assert (events[0].type, events[0].id, events[0].data) == ("reset", None, {"oldest": 4, "newest": 6})
    replay = stream(server, "?after=4&types=job")
    assert [e.id for e in replay.wait_for(lambda e: len(e) >= 2)] == [5, 6]


def test_filters_keepalive_and_the_header_winning(launcher: ServerLauncher, state_root: Path) -> None:
    server = launcher.start(state_root, args=("--event-keepalive", "0.2"))
    remote_only = stream(server, "?types=job&queue=remote")
    with server.client() as api:
        api.post("/api/schedule/enqueue", json={"id": "l1"})
        api.post("/api/schedule/enqueue", json={"id": "r1", "queue": "remote"})
        api.post("/api/providers", json={"id": "p1", "kind": "runpod"})
    events = remote_only.wait_for(lambda e: any(x.comment == "keep-alive" for x in e) and bool(remote_only.logged()))
    assert [e.data["job_id"] for e in remote_only.logged()] == ["r1"]
    assert any(e.comment == "keep-alive" for e in events)
    both = stream(server, "?after=0&types=provider", **{"Last-Event-ID": "2"})  # the header wins over ?after
    assert [(e.id, e.data["op"]) for e in both.wait_for(lambda e: len(e) >= 1) if e.id] == [(3, "upsert")]
    for query, field in (("?after=-1", "after"), ("?types=job,nope", "types"), ("?queue=gpu", "queue")):
        answer = httpx.get(f"{server.base_url}/api/events{query}")
        assert answer.status_code == 400 and answer.json()["detail"].startswith(f"{field}:"), answer.text


def test_the_stream_cap_and_a_clean_end_when_the_server_stops(launcher: ServerLauncher, state_root: Path) -> None:
    server = launcher.start(state_root, args=("--max-streams", "1"))
    first = stream(server)
    assert first.status == 200
    second = httpx.get(f"{server.base_url}/api/events")
    assert second.status_code == 503 and "too many event streams" in second.json()["detail"]
    server.process.send_signal(signal.SIGTERM)
    assert first.ended.wait(timeout=10)  # the server ends the stream itself ...
    assert first.error is None  # ... as a complete response, not a broken connection (a death mid-stream is)
    # uvicorn re-raises the signal it caught once it has shut down, so the exit is by SIGTERM after a clean stop.
    assert server.process.wait(timeout=15) in (0, -signal.SIGTERM)
