"""``/api/schedule/*`` through HTTP (contract §5): every route, its 4xx answers and the worked examples of §5.8.

Most tests run against both job stores (in memory, and SQLite on ``tmp_path``) with a fake clock, so lease expiry
is tested by moving time instead of sleeping.
"""

from __future__ import annotations

import concurrent.futures
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import TestClient

from computeadvisor.adapters.memory_jobs import MemoryJobStore
from computeadvisor.adapters.sqlite_jobs import SqliteJobStore
from computeadvisor.ports.job_store import JobStore
from tests.contract._job_support import BOARD_SEGMENT_KEYS, FakeClock
from tests.contract._job_support import JOB_RECORD_KEYS as FULL_RECORD_KEYS
from tests.contract._job_support import JOB_VIEW_KEYS as PUBLIC_KEYS
from tests.http.conftest import ClientFactory
from tests.seed_examples import FEATURE_OFF
from tests.seed_examples import RUNPOD_DEV as RUNPOD_DEV_BODY

TOKEN = "sched-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
START = 1_760_000_000.0
POST_ROUTES = ("enqueue", "claim", "heartbeat", "complete", "fail", "requeue", "cancel")
JOB_ID_ROUTES = ("heartbeat", "complete", "fail", "requeue", "cancel")
SEGMENT_KEYS = set(BOARD_SEGMENT_KEYS)
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$")


class Api:
    """A test client that checks what every scheduler response must carry: JSON object bodies with ``feature``."""

    def __init__(self, client: TestClient[Litestar], clock: FakeClock, headers: dict[str, str] | None = None) -> None:
        self.client = client
        self.clock = clock
        self.headers = headers or {}

    def _checked(self, response: httpx.Response, status: int | None) -> httpx.Response:
        if status is not None:
            assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/json")
        body = response.json()
        assert isinstance(body, dict), body
        assert body["feature"] == FEATURE_OFF, body
        if response.status_code >= 400:
            assert body["status_code"] == response.status_code
            assert isinstance(body["detail"], str)
        return response

    def post(self, route: str, body: Any = None, status: int | None = 200, **kwargs: Any) -> dict[str, Any]:
        """POST /api/schedule/<route> with a JSON body; the decoded answer after checking its status."""
        # json.dumps, not httpx's encoder: it writes NaN and Infinity, which the server must reject with a 400.
        headers = {"content-type": "application/json", **self.headers, **kwargs.pop("headers", {})}
        raw = json.dumps(body).encode()
        response = self.client.post(f"/api/schedule/{route}", content=raw, headers=headers, **kwargs)
        data: dict[str, Any] = self._checked(response, status).json()
        return data

    def get(self, path: str, status: int | None = 200, **kwargs: Any) -> dict[str, Any]:
        """GET an ``/api/...`` path; the decoded answer after checking its status."""
        data: dict[str, Any] = self._checked(self.client.get(path, **kwargs), status).json()
        return data

    def enqueue(self, **body: Any) -> dict[str, Any]:
        answer = self.post("enqueue", body)
        assert answer["ok"] is True
        job: dict[str, Any] = answer["job"]
        return job

    def claim(self, **body: Any) -> dict[str, Any]:
        """Claim and return the whole answer (``job`` and ``lease``)."""
        return self.post("claim", body)

    def job(self, job_id: str) -> dict[str, Any]:
        record: dict[str, Any] = self.get(f"/api/schedule/jobs/{job_id}")["job"]
        return record

    def state(self, limit: int | None = None) -> dict[str, Any]:
        return self.get("/api/schedule/state", params={} if limit is None else {"limit": limit})

    def advise_context(self) -> dict[str, Any]:
        context: dict[str, Any] = self.get_advise({})["context"]
        return context

    def get_advise(self, body: dict[str, Any]) -> dict[str, Any]:
        response = self.client.post("/api/compute/advise", json=body, headers=self.headers)
        data: dict[str, Any] = self._checked(response, 200).json()
        return data


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


StoreFactory = Callable[[FakeClock], JobStore]


@pytest.fixture(params=["memory", "sqlite"])
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    """Builds the job store under test, on the given clock."""
    if request.param == "memory":
        return lambda clock: MemoryJobStore(clock=clock)
    return lambda clock: SqliteJobStore(tmp_path / "root", clock=clock)


@pytest.fixture
def api(make_client: ClientFactory, store_factory: StoreFactory) -> Api:
    clock = FakeClock(START)
    return Api(make_client(jobs=store_factory(clock)), clock)


@pytest.fixture
def memory_api(make_client: ClientFactory) -> Api:
    clock = FakeClock(START)
    return Api(make_client(jobs=MemoryJobStore(clock=clock)), clock)


# -- health and enqueue ----------------------------------------------------------------------------------------


def test_health(api: Api) -> None:
    assert api.get("/api/schedule/health") == {"ok": True, "queues": ["local", "remote"], "feature": FEATURE_OFF}


def test_priority_and_fifo_example(api: Api) -> None:
    for body in ({"id": "a", "priority": 1}, {"id": "b", "priority": 5}, {"id": "c", "priority": 1}):
        answer = api.post("enqueue", body)
        assert answer["ok"] is True
        assert answer["created"] is True
        job = answer["job"]
        assert job["id"] == body["id"]
        assert job["status"] == "queued"
        assert job["attempt"] == 0
        assert job["runs"] == []
        assert job["queue"] == "local"
        assert job["provider_id"] == "local"
        assert job["created_at"].endswith("Z")
        assert ISO_Z.match(job["created_at"])
    claimed = [api.claim(queue="local")["job"]["id"] for _ in range(3)]
    assert claimed == ["b", "a", "c"]
    assert api.claim(queue="local") == {"ok": True, "job": None, "lease": None, "feature": FEATURE_OFF}


def test_full_record_keys_and_no_lease_token(api: Api) -> None:
    enqueued = api.post("enqueue", {"id": "k"})
    assert set(enqueued) == {"ok", "job", "created", "feature"}
    assert set(enqueued["job"]) >= FULL_RECORD_KEYS
    claim = api.claim(lease_seconds=30)
    token = claim["lease"]["token"]
    assert set(claim) == {"ok", "job", "lease", "feature"}
    assert set(claim["lease"]) == {"token", "expires_at"}
    assert claim["lease"]["expires_at"].endswith("Z")
    answers = [
        claim["job"],
        api.job("k"),
        api.post("heartbeat", {"job_id": "k", "lease_token": token})["job"],
        api.post("complete", {"job_id": "k", "lease_token": token})["job"],
        api.post("requeue", {"job_id": "k"})["job"],
        api.post("cancel", {"job_id": "k"})["job"],
    ]
    for record in answers:
        assert set(record) >= FULL_RECORD_KEYS
        assert [key for key in record if "lease" in key or "token" in key] == ["lease_expires_at"]  # never the token
        assert token not in str(record)
    assert [record["lease_expires_at"] is not None for record in answers] == [True, True, True, False, False, False]
    state = api.client.get("/api/schedule/state").text + api.client.get("/api/schedule/board").text
    assert token not in state


def test_enqueue_defaults_and_fields(api: Api) -> None:
    job = api.enqueue()
    assert re.fullmatch(r"[0-9a-f]{12}", job["id"])
    assert job["name"] == job["id"]
    assert job["priority"] == 0
    assert job["sticky"] is False
    assert job["device_id"] is job["sticky_device_id"] is None
    assert job["payload"] == {} and job["meta"] == {}
    for key in ("worker_id", "error", "started_at", "started_ts", "completed_at", "completed_ts", "duration_sec",
                "cost_estimate", "bytes_tx", "bytes_rx", "vram_gb"):  # fmt: skip
        assert job[key] is None, key
    assert job["created_ts"] == job["updated_ts"] == START
    assert job["created_at"] == job["updated_at"] == "2025-10-09T08:53:20Z"

    job = api.enqueue(id=42, title="T", priority="7", payload={"provider_id": "p1", "x": 1}, meta=[1], bytes_tx="12.9",
                      bytes_rx=3, vram_gb="16", sticky_device_id="gpu:3")  # fmt: skip
    assert job["id"] == "42" and api.job("42")["id"] == "42"
    assert job["name"] == "T"
    assert job["priority"] == 7
    assert job["provider_id"] == "p1"
    assert job["payload"] == {"provider_id": "p1", "x": 1}
    assert job["meta"] == {}
    assert (job["bytes_tx"], job["bytes_rx"], job["vram_gb"]) == (12, 3, 16.0)
    assert job["device_id"] == job["sticky_device_id"] == "gpu:3"
    assert api.enqueue(id="n", name="named", title="T", priority=-5)["name"] == "named"
    assert api.job("n")["priority"] == -5


def test_queue_names(api: Api) -> None:
    job = api.enqueue(id="r", target="REMOTE")
    assert job["queue"] == "remote"
    assert job["provider_id"] is None
    assert api.enqueue(id="q", queue=" Remote ", target="local")["queue"] == "remote"
    queue_cases: list[tuple[dict[str, Any], str]] = [
        ({"queue": "gpu"}, "queue"),
        ({"target": "gpu"}, "queue"),
        ({"priority": "high"}, "priority"),
        ({"priority": 2**63}, "priority"),
        ({"priority": 1.5}, "priority"),
        ({"priority": True}, "priority"),
        ({"bytes_tx": -1}, "bytes_tx"),
        ({"bytes_rx": "abc"}, "bytes_rx"),
        ({"vram_gb": "nan"}, "vram_gb"),
        ({"queue": 3}, "queue"),
    ]
    for body, field in queue_cases:
        answer = api.post("enqueue", body, status=400)
        assert field in answer["detail"], (body, answer)
    assert api.state()["counts"]["queues"] == {"local": 0, "remote": 2}


def test_sticky_and_device_hints(api: Api) -> None:
    assert api.enqueue(id="s1", sticky="false")["sticky"] is True  # plain truthiness (§0.1)
    assert api.enqueue(id="s2", sticky=0, sticky_device=[])["sticky"] is False
    assert api.enqueue(id="s3", sticky_device="yes")["sticky"] is True
    job = api.enqueue(id="s4", device_id="", sticky_device_id="gpu:2")
    assert job["device_id"] == job["sticky_device_id"] == "gpu:2"
    job = api.enqueue(id="s5", device_id="gpu:1", sticky_device_id="gpu:2")
    assert job["device_id"] == job["sticky_device_id"] == "gpu:1"
    assert api.enqueue(id="s6", queue="remote", payload={"provider_id": "rp"})["provider_id"] == "rp"
    assert api.enqueue(id="s7", queue="remote", provider_id="x", payload={"provider_id": "rp"})["provider_id"] == "x"


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_retention_prunes_the_oldest_finished_and_frees_the_id(
    make_client: ClientFactory, tmp_path: Path, kind: str
) -> None:
    clock = FakeClock(START)
    store: JobStore
    if kind == "memory":
        store = MemoryJobStore(clock=clock, retention=2)
    else:
        store = SqliteJobStore(tmp_path / "root", clock=clock, retention=2)
    api = Api(make_client(jobs=store), clock)
    for n in range(3):
        api.enqueue(id=f"p{n}", priority=-n)
        api.claim()
        clock.advance(1)
        api.post("complete", {"job_id": f"p{n}"})
    api.enqueue(id="waiting")
    state = api.state()
    assert ids(state["completed"]) == ["p2", "p1"]
    assert state["counts"] == {
        "queues": {"local": 1, "remote": 0},
        "active": 0,
        "completed": 2,
        "scheduled": {"local": 0, "remote": 0},
    }
    api.get("/api/schedule/jobs/p0", status=404)
    again = api.post("enqueue", {"id": "p0", "queue": "remote"})  # a pruned id can be enqueued afresh (§5.6)
    assert again["created"] is True
    assert again["job"]["status"] == "queued" and again["job"]["attempt"] == 0


def test_duplicate_ids(api: Api) -> None:
    assert api.post("enqueue", {"id": "a", "priority": 1})["created"] is True
    again = api.post("enqueue", {"id": "a", "priority": 1})
    assert again["created"] is False
    assert again["job"]["id"] == "a"
    conflict = api.post("enqueue", {"id": "a", "priority": 2}, status=409)
    assert "'a'" in conflict["detail"] or '"a"' in conflict["detail"] or " a " in conflict["detail"]
    # Compared with the first enqueue's spec, and answered with the job as it is now (§5.6).
    api.claim()
    now = api.post("enqueue", {"id": "a", "priority": "1"})
    assert now["created"] is False
    assert now["job"]["status"] == "running"
    assert api.post("requeue", {"job_id": "a", "priority": 4})["job"]["priority"] == 4
    assert api.post("enqueue", {"id": "a", "priority": 1})["job"]["priority"] == 4
    api.post("enqueue", {"id": "a", "priority": 4}, status=409)
    assert api.state()["counts"]["queues"]["local"] == 1


# -- claim, devices, heartbeat ---------------------------------------------------------------------------------


def test_sticky_hint_example(api: Api) -> None:
    api.enqueue(id="s", queue="remote", sticky_device=True, device_id="remote:a")
    answer = api.claim(queue="remote", device_id="remote:b")
    job = answer["job"]
    assert job["device_id"] == job["sticky_device_id"] == "remote:a"
    assert job["attempt"] == 1
    assert job["runs"][0]["device_id"] == "remote:a"


def test_sticky_bind_example(api: Api) -> None:
    api.enqueue(id="t", sticky=True)
    first = api.claim(device_id="gpu:1", worker_id="w1")["job"]
    assert first["device_id"] == first["sticky_device_id"] == "gpu:1"
    api.post("requeue", {"job_id": "t"})
    job = api.claim(device_id="gpu:2", worker_id="w2")["job"]
    assert job["device_id"] == "gpu:1"
    assert job["attempt"] == 2
    assert len(job["runs"]) == 2
    assert [run["device_id"] for run in job["runs"]] == ["gpu:1", "gpu:1"]
    assert [run["worker_id"] for run in job["runs"]] == ["w1", "w2"]
    assert [run["attempt"] for run in job["runs"]] == [1, 2]


def test_claim_devices_without_stickiness(api: Api) -> None:
    api.enqueue(id="hint", device_id="gpu:0")
    job = api.claim(device_id="gpu:5")["job"]
    assert (job["device_id"], job["sticky_device_id"]) == ("gpu:5", "gpu:0")
    api.enqueue(id="none")
    job = api.claim()["job"]
    assert (job["device_id"], job["sticky_device_id"], job["worker_id"]) == (None, None, None)
    assert job["started_at"].endswith("Z")
    assert job["runs"] == [{"attempt": 1, "device_id": None, "worker_id": None, "started_at": job["started_at"]}]


def test_claim_body_rules(api: Api) -> None:
    api.enqueue(id="r1", queue="remote")
    assert api.client.post("/api/schedule/claim").json()["job"] is None  # no body: local, empty
    assert api.client.post("/api/schedule/claim", content=b"null").json()["job"] is None
    assert api.claim(queue="", worker_id="w")["job"] is None
    claimed = api.claim(queue="REMOTE", worker_id="w", lease_seconds=60)
    assert claimed["job"]["id"] == "r1"
    assert claimed["job"]["worker_id"] == "w"
    assert claimed["lease"]["expires_at"] == "2025-10-09T08:54:20Z"
    claim_cases: list[tuple[dict[str, Any], str]] = [
        ({"queue": "gpu"}, "queue"),
        ({"lease_seconds": 0}, "lease_seconds"),
        ({"lease_seconds": -1}, "lease_seconds"),
        ({"lease_seconds": 1.5}, "lease_seconds"),
        ({"lease_seconds": "10"}, "lease_seconds"),
        ({"lease_seconds": True}, "lease_seconds"),
        ({"lease_seconds": 2**63}, "lease_seconds"),
        ({"lease_seconds": 10**30}, "lease_seconds"),
        ({"worker_id": 5}, "worker_id"),
        ({"device_id": ["x"]}, "device_id"),
    ]
    for body, field in claim_cases:
        answer = api.post("claim", body, status=400)
        assert field in answer["detail"], (body, answer)


def test_default_lease_is_an_hour(api: Api) -> None:
    api.enqueue(id="h")
    assert api.claim()["lease"]["expires_at"] == "2025-10-09T09:53:20Z"


def test_heartbeat(api: Api) -> None:
    api.enqueue(id="h")
    lease = api.claim(lease_seconds=10)["lease"]
    assert api.post("heartbeat", {"job_id": "h", "lease_seconds": 10**20}, status=400)["detail"].count("lease_seconds")
    api.clock.advance(5)
    beat = api.post("heartbeat", {"job_id": "h", "lease_token": lease["token"]})
    assert beat["lease"] == {"token": lease["token"], "expires_at": "2025-10-09T08:53:35Z"}
    assert beat["job"]["status"] == "running"
    assert beat["job"]["updated_at"] == "2025-10-09T08:53:25Z"
    api.clock.advance(8)  # past the claim's lease, within the heartbeat's
    assert api.job("h")["status"] == "running"
    longer = api.post("heartbeat", {"job_id": "h", "lease_seconds": 100})  # no token: accepted (§5.5)
    assert longer["lease"] == {"token": lease["token"], "expires_at": "2025-10-09T08:55:13Z"}
    stale = api.post("heartbeat", {"job_id": "h", "lease_token": "not-the-token"}, status=409)
    assert "stale" in stale["detail"].lower()
    api.post("heartbeat", {"job_id": "h", "lease_seconds": 0}, status=400)
    api.post("complete", {"job_id": "h"})
    finished = api.post("heartbeat", {"job_id": "h"}, status=409)
    assert "succeeded" in finished["detail"]
    api.enqueue(id="job-q7")
    queued = api.post("heartbeat", {"job_id": "job-q7"}, status=409)
    assert "job-q7" in queued["detail"]
    assert "queued" in queued["detail"]


# -- complete, fail, cost ---------------------------------------------------------------------------------------


def _remote_r(api: Api) -> str:
    api.enqueue(id="r", queue="remote", provider_id="runpod-dev", vram_gb=16)
    token: str = api.claim(queue="remote")["lease"]["token"]
    return token


def test_completion_cost_with_registered_provider(api: Api) -> None:
    registered = api.client.post("/api/providers", json=RUNPOD_DEV_BODY)
    assert registered.status_code == 200, registered.text
    _remote_r(api)
    body = {"job_id": "r", "duration_sec": 270, "bytes_tx": 1073741824, "bytes_rx": 67108864}
    job = api.post("complete", body)["job"]
    assert job["status"] == "succeeded"
    assert job["duration_sec"] == 270.0
    assert job["cost_estimate"] == 0.7076
    assert (job["bytes_tx"], job["bytes_rx"], job["vram_gb"]) == (1073741824, 67108864, 16.0)
    assert job["completed_at"] == "2025-10-09T08:53:20Z"
    assert job["error"] is None


def test_completion_cost_without_provider(api: Api) -> None:
    _remote_r(api)
    body = {"job_id": "r", "duration_sec": "270", "bytes_tx": 1073741824, "bytes_rx": 67108864}
    job = api.post("complete", body)["job"]
    assert job["duration_sec"] == 270.0
    assert job["cost_estimate"] == 0.225


def test_completion_cost_meta_example(api: Api) -> None:
    provider = {"id": "pricey", "kind": "runpod", "meta": {"cost_per_minute": 0.5, "egress_cost_per_gb": 0.25,
                                                          "vram_cost_per_gb_minute": 0.05}}  # fmt: skip
    assert api.client.post("/api/providers", json=provider).status_code == 200
    api.enqueue(id="m", queue="remote", provider_id="pricey")
    api.claim(queue="remote")
    body = {"job_id": "m", "duration_sec": 180, "bytes_tx": 1073741824, "bytes_rx": 134217728, "vram_gb": 12}
    job = api.post("complete", body)["job"]
    assert job["vram_gb"] == 12.0
    assert job["cost_estimate"] == 3.5812


def test_complete_measurements(api: Api) -> None:
    api.enqueue(id="x", bytes_tx=5)
    api.claim()
    api.clock.advance(2.5)
    job = api.post("complete", {"job_id": "x", "cost_estimate": 1.23456, "status": ""})["job"]
    assert job["cost_estimate"] == 1.2346
    assert job["duration_sec"] == 2.5  # absent: now - started
    assert (job["bytes_tx"], job["bytes_rx"], job["vram_gb"]) == (5, 0, None)
    api.enqueue(id="y")
    api.claim()
    body = {"job_id": "y", "duration_sec": 1.23456, "cost_estimate": "0", "bytes_rx": 9.9, "status": None}
    job = api.post("complete", body)["job"]
    assert (job["status"], job["duration_sec"], job["cost_estimate"], job["bytes_rx"]) == ("succeeded", 1.235, 0.0, 9)
    for status in ("failed", "cancelled"):
        api.enqueue(id=status)
        api.claim()
        assert api.post("complete", {"job_id": status, "status": status})["job"]["status"] == status
    api.enqueue(id="z")
    api.claim()
    complete_cases: list[tuple[dict[str, Any], str]] = [
        ({"status": "done"}, "status"),
        ({"status": 1}, "status"),
        ({"duration_sec": -1}, "duration_sec"),
        ({"duration_sec": "inf"}, "duration_sec"),
        ({"bytes_tx": -5}, "bytes_tx"),
        ({"bytes_rx": [1]}, "bytes_rx"),
        ({"vram_gb": "x"}, "vram_gb"),
        ({"cost_estimate": -0.1}, "cost_estimate"),
        ({"cost_estimate": True}, "cost_estimate"),
        ({"lease_token": 7}, "lease_token"),
    ]
    for body, field in complete_cases:
        answer = api.post("complete", {"job_id": "z", **body}, status=400)
        assert field in answer["detail"], (body, answer)
    assert api.job("z")["status"] == "running"


def test_transition_errors(api: Api) -> None:
    api.enqueue(id="job-a9")
    queued = api.post("complete", {"job_id": "job-a9"}, status=409)
    assert "job-a9" in queued["detail"] and "queued" in queued["detail"]
    first = api.claim()["lease"]["token"]
    api.post("requeue", {"job_id": "job-a9"})
    second = api.claim()["lease"]["token"]
    stale = api.post("complete", {"job_id": "job-a9", "lease_token": first}, status=409)
    assert "stale" in stale["detail"].lower()
    assert api.job("job-a9")["status"] == "running"
    api.post("fail", {"job_id": "job-a9", "lease_token": first}, status=409)
    api.post("complete", {"job_id": "job-a9", "lease_token": second})
    finished = api.post("complete", {"job_id": "job-a9", "lease_token": second}, status=409)
    assert "job-a9" in finished["detail"] and "succeeded" in finished["detail"]
    api.post("complete", {"job_id": "job-a9"}, status=409)
    api.post("fail", {"job_id": "job-a9"}, status=409)
    assert api.post("complete", {}, status=400)["detail"] == "Missing job_id"
    assert api.post("complete", {"job_id": "zzz"}, status=404)["detail"] == "job 'zzz' not found"


@pytest.mark.parametrize("route", JOB_ID_ROUTES)
def test_missing_and_unknown_job_id(api: Api, route: str) -> None:
    for body in ({}, {"job_id": None}, {"job_id": ""}, {"job_id": 0}, {"job_id": False}):
        assert api.post(route, body, status=400)["detail"] == "Missing job_id", body
    assert api.post(route, None, status=400)["detail"] == "Missing job_id"
    assert api.post(route, {"job_id": "zzz"}, status=404)["detail"] == "job 'zzz' not found"
    assert api.post(route, {"job_id": 77}, status=404)["detail"] == "job '77' not found"
    answer = api.post(route, {"job_id": ["a"]}, status=400)
    assert "job_id" in answer["detail"]


def test_fail_example(api: Api) -> None:
    api.enqueue(id="old")
    api.claim()
    api.post("complete", {"job_id": "old"})
    api.enqueue(id="c")
    api.claim()
    api.clock.advance(4.25)
    job = api.post("fail", {"job_id": "c", "error": "boom"})["job"]
    assert job["status"] == "failed"
    assert job["error"] == "boom"
    assert job["completed_at"] == "2025-10-09T08:53:24.250000Z"
    assert job["duration_sec"] == 4.25
    assert isinstance(job["cost_estimate"], float) and job["cost_estimate"] >= 0
    assert job["bytes_tx"] is None and job["bytes_rx"] is None  # not defaulted by fail
    assert api.state()["completed"][0]["id"] == "c"
    assert ids(api.state()["completed"]) == ["c", "old"]
    api.enqueue(id="e")
    api.claim()
    assert api.post("fail", {"job_id": "e", "error": None})["job"]["error"] is None
    api.enqueue(id="f")
    api.claim()
    assert "error" in api.post("fail", {"job_id": "f", "error": 5}, status=400)["detail"]


def test_requeue_example(api: Api) -> None:
    _remote_r(api)
    api.post("complete", {"job_id": "r", "duration_sec": 10, "bytes_tx": 100})
    job = api.post("requeue", {"job_id": "r", "priority": 9})["job"]
    assert job["status"] == "queued"
    assert job["priority"] == 9
    assert job["started_at"] is None and job["completed_at"] is None and job["error"] is None
    assert job["duration_sec"] is None and job["cost_estimate"] is None and job["worker_id"] is None
    assert job["attempt"] == 1 and len(job["runs"]) == 1
    assert (job["bytes_tx"], job["vram_gb"]) == (100, 16.0)
    state = api.state()
    assert ids(state["queues"]["remote"]) == ["r"]
    assert state["completed"] == []
    # A queued job is returned unchanged, priority included.
    unchanged = api.post("requeue", {"job_id": "r", "priority": 1})["job"]
    assert unchanged == api.job("r")
    assert unchanged["priority"] == 9
    assert "priority" in api.post("requeue", {"job_id": "r", "priority": "high"}, status=400)["detail"]


def test_requeue_goes_to_the_back_of_its_band(api: Api) -> None:
    for job_id in ("a", "b", "c"):
        api.enqueue(id=job_id, priority=1)
    api.claim()  # a
    api.post("requeue", {"job_id": "a"})
    assert ids(api.state()["queues"]["local"]) == ["b", "c", "a"]
    assert [api.claim()["job"]["id"] for _ in range(3)] == ["b", "c", "a"]


def test_cancel(api: Api) -> None:
    api.enqueue(id="q")
    job = api.post("cancel", {"job_id": "q"})["job"]
    assert job["status"] == "cancelled"
    assert job["completed_at"] == "2025-10-09T08:53:20Z"
    assert job["duration_sec"] is None and job["cost_estimate"] is None
    assert "cancelled" in api.post("cancel", {"job_id": "q"}, status=409)["detail"]
    api.enqueue(id="run")
    token = api.claim()["lease"]["token"]
    api.clock.advance(3)
    cancelled = api.post("cancel", {"job_id": "run", "lease_token": "ignored"})["job"]
    assert cancelled["status"] == "cancelled"
    assert cancelled["duration_sec"] is None and cancelled["cost_estimate"] is None
    assert cancelled["completed_at"] == "2025-10-09T08:53:23Z"
    assert cancelled["started_at"] == "2025-10-09T08:53:20Z"
    api.post("complete", {"job_id": "run", "lease_token": token}, status=409)
    api.post("heartbeat", {"job_id": "run", "lease_token": token}, status=409)
    assert api.state()["counts"] == {
        "queues": {"local": 0, "remote": 0},
        "active": 0,
        "completed": 2,
        "scheduled": {"local": 0, "remote": 0},
    }


def test_failing_an_unclaimed_remote_job(api: Api) -> None:
    api.enqueue(id="u", queue="remote")
    conflict = api.post("fail", {"job_id": "u", "error": "nope"}, status=409)
    assert "'u'" in conflict["detail"] and "queued" in conflict["detail"]
    state = api.state()
    assert ids(state["queues"]["remote"]) == ["u"]
    assert state["completed"] == [] and state["active"] == []
    assert api.job("u")["status"] == "queued"
    assert api.advise_context()["remote_queue_depth"] == 1
    api.post("cancel", {"job_id": "u"})
    assert api.state()["queues"]["remote"] == []
    assert api.advise_context()["remote_queue_depth"] == 0


# -- leases ----------------------------------------------------------------------------------------------------


def test_lease_expiry_requeues_then_fails_at_the_cap(api: Api) -> None:
    api.enqueue(id="lease-1", priority=3)
    api.enqueue(id="later", priority=3)
    tokens = []
    for attempt in (1, 2):
        claim = api.claim(lease_seconds=1, worker_id=f"w{attempt}")
        assert claim["job"]["id"] == "lease-1"
        tokens.append(claim["lease"]["token"])
        api.clock.advance(2)
        job = api.job("lease-1")
        assert job["status"] == "queued"
        assert job["attempt"] == attempt
        assert job["priority"] == 3
        assert job["worker_id"] is None and job["started_at"] is None and job["error"] is None
        assert len(job["runs"]) == attempt
        stale = api.post("complete", {"job_id": "lease-1", "lease_token": tokens[-1]}, status=409)
        assert "lease-1" in stale["detail"]
        if attempt == 1:
            # The expiry requeue took a new seq: the job went behind "later", of the same priority (§5.4).
            assert ids(api.state()["queues"]["local"]) == ["later", "lease-1"]
            api.post("cancel", {"job_id": "later"})
    claim = api.claim(lease_seconds=1)
    assert claim["job"]["id"] == "lease-1" and claim["job"]["attempt"] == 3
    api.clock.advance(2)
    job = api.job("lease-1")
    assert job["status"] == "failed"
    assert job["error"] == "lease expired"
    assert job["attempt"] == 3
    assert job["completed_at"] == "2025-10-09T08:53:26Z"
    assert job["duration_sec"] == 2.0
    assert isinstance(job["cost_estimate"], float)
    for token in (*tokens, claim["lease"]["token"]):
        api.post("complete", {"job_id": "lease-1", "lease_token": token}, status=409)
    api.post("complete", {"job_id": "lease-1"}, status=409)
    state = api.state()
    assert state["active"] == []
    assert ids(state["completed"]) == ["lease-1", "later"]


def test_expiry_is_processed_before_every_read(api: Api) -> None:
    api.enqueue(id="e", queue="remote")
    api.claim(queue="remote", lease_seconds=5)
    assert api.state()["counts"]["active"] == 1
    api.clock.advance(6)
    state = api.state()
    assert state["active"] == [] and ids(state["queues"]["remote"]) == ["e"]
    api.claim(queue="remote", lease_seconds=5)
    api.clock.advance(6)
    assert api.advise_context()["remote_queue_depth"] == 1
    api.claim(queue="remote", lease_seconds=5)
    api.clock.advance(6)
    board = api.get("/api/schedule/board")["jobs"]
    assert [(seg["id"], seg["status"]) for seg in board] == [("e", "failed")]


# -- state and board -------------------------------------------------------------------------------------------


def _mixed(api: Api) -> None:
    """Queued a, b (local), r (remote); running x (local, gpu:1), y (remote); finished d (succeeded), f (failed)."""
    api.enqueue(id="x", priority=10)
    api.enqueue(id="d", priority=9)
    api.enqueue(id="f", priority=8)
    api.enqueue(id="y", queue="remote", priority=10)
    api.enqueue(id="a", priority=2)
    api.enqueue(id="b", priority=1)
    api.enqueue(id="r", queue="remote")
    api.clock.advance(1)
    assert api.claim(device_id="gpu:1")["job"]["id"] == "x"
    api.clock.advance(1)
    assert api.claim(queue="remote")["job"]["id"] == "y"
    for job_id in ("d", "f"):
        api.clock.advance(1)
        assert api.claim()["job"]["id"] == job_id
        api.clock.advance(1)
        api.post("complete" if job_id == "d" else "fail", {"job_id": job_id})


def test_state_sections_and_public_view(api: Api) -> None:
    _mixed(api)
    state = api.state()
    assert set(state) == {"queues", "active", "completed", "counts", "feature"}
    assert ids(state["queues"]["local"]) == ["a", "b"]
    assert ids(state["queues"]["remote"]) == ["r"]
    assert ids(state["active"]) == ["x", "y"]
    assert ids(state["completed"]) == ["f", "d"]
    assert state["counts"] == {
        "queues": {"local": 2, "remote": 1},
        "active": 2,
        "completed": 2,
        "scheduled": {"local": 0, "remote": 0},
    }
    items = [*state["queues"]["local"], *state["queues"]["remote"], *state["active"], *state["completed"]]
    for item in items:
        assert list(item) == PUBLIC_KEYS
    view = state["active"][0]
    record = api.job("x")
    assert view == {key: record[key] for key in PUBLIC_KEYS}


def test_state_limit_applies_per_section_and_counts_do_not(api: Api) -> None:
    _mixed(api)
    state = api.state(limit=1)
    assert ids(state["queues"]["local"]) == ["a"]
    assert ids(state["queues"]["remote"]) == ["r"]
    assert ids(state["active"]) == ["x"]
    assert ids(state["completed"]) == ["f"]
    assert state["counts"] == {
        "queues": {"local": 2, "remote": 1},
        "active": 2,
        "completed": 2,
        "scheduled": {"local": 0, "remote": 0},
    }
    assert api.state(limit=1000)["counts"] == state["counts"]
    assert ids(api.get("/api/schedule/state", params={"limit": " 2 "})["queues"]["local"]) == ["a", "b"]


def test_state_default_limit_is_200(memory_api: Api) -> None:
    for n in range(205):
        memory_api.enqueue(id=f"j{n:03d}")
    state = memory_api.state()
    assert len(state["queues"]["local"]) == 200
    assert state["counts"]["queues"]["local"] == 205
    assert ids(state["queues"]["local"])[:2] == ["j000", "j001"]
    board = memory_api.get("/api/schedule/board", params={"limit": 1})
    assert board["jobs"] == []


@pytest.mark.parametrize("route", ["state", "board"])
@pytest.mark.parametrize("limit", ["abc", "0", "-1", "1001", "1.5", "2000000000000000000000"])
def test_bad_limit_is_400(api: Api, route: str, limit: str) -> None:
    answer = api.get(f"/api/schedule/{route}", params={"limit": limit}, status=400)
    assert "limit" in answer["detail"]


@pytest.mark.parametrize("route", ["state", "board"])
def test_limit_bounds_are_accepted(api: Api, route: str) -> None:
    for limit in ("1", "1000"):
        api.get(f"/api/schedule/{route}", params={"limit": limit})


def test_board(api: Api) -> None:
    _mixed(api)
    api.clock.advance(3)
    board = api.get("/api/schedule/board")
    assert set(board) == {"jobs", "generated_at", "feature"}
    assert board["generated_at"] == "2025-10-09T08:53:29Z"
    segments = board["jobs"]
    for segment in segments:
        assert set(segment) == SEGMENT_KEYS
        assert len(segment) == 14
        assert segment["end"] >= segment["start"]
    # Running x, y plus the finished d, f; queued jobs are not on the board. Sorted by (queue, start).
    assert [(s["queue"], s["id"]) for s in segments] == [("local", "x"), ("local", "d"), ("local", "f"),
                                                         ("remote", "y")]  # fmt: skip
    by_id = {s["id"]: s for s in segments}
    x = by_id["x"]
    assert x["device"] == "gpu:1"
    assert x["status"] == "running"
    assert (x["start"], x["end"]) == (START + 1, START + 9)  # running: end is now
    assert x["duration_sec"] == 8.0
    d = by_id["d"]
    assert (d["start"], d["end"], d["duration_sec"]) == (START + 3, START + 4, 1.0)
    assert d["cost_estimate"] == api.job("d")["cost_estimate"]
    assert (d["bytes_tx"], d["bytes_rx"], d["vram_gb"], d["provider_id"]) == (0, 0, None, "local")
    one = api.get("/api/schedule/board", params={"limit": 1})["jobs"]
    assert [s["id"] for s in one] == ["x", "f", "y"]  # every running job, one finished


def test_board_uses_created_ts_and_sticky_device(api: Api) -> None:
    api.enqueue(id="c", sticky_device_id="gpu:7")
    api.clock.advance(2)
    api.post("cancel", {"job_id": "c"})
    (segment,) = api.get("/api/schedule/board")["jobs"]
    assert segment["device"] == "gpu:7"
    assert (segment["start"], segment["end"]) == (START, START + 2)
    assert segment["duration_sec"] == 2.0


def test_get_unknown_job_is_404(api: Api) -> None:
    answer = api.get("/api/schedule/jobs/nope", status=404)
    assert answer["detail"] == "job 'nope' not found"


# -- advisor and security --------------------------------------------------------------------------------------


def test_advise_debug_scheduler_counts(api: Api) -> None:
    fresh = api.get_advise({"debug": True})["debug"]["scheduler"]
    assert fresh == {
        "queues": {"local": 0, "remote": 0},
        "active": 0,
        "completed": 0,
        "scheduled": {"local": 0, "remote": 0},
    }
    for n in range(3):
        api.enqueue(id=f"l{n}")
    api.enqueue(id="r0", queue="remote")
    api.enqueue(id="r1", queue="remote")
    api.claim()
    api.claim()
    api.post("complete", {"job_id": "l1"})
    answer = api.get_advise({"job": {"width": 1024, "height": 1024}, "debug": True, "context": {"has_gpu": True}})
    assert answer["debug"]["scheduler"] == {
        "queues": {"local": 1, "remote": 2},
        "active": 1,
        "completed": 1,
        "scheduled": {"local": 0, "remote": 0},
    }
    assert answer["context"]["local_queue_depth"] == 1
    assert answer["context"]["remote_queue_depth"] == 2


def test_advise_counts_queued_local_jobs_for_the_busy_rules(api: Api) -> None:
    for n in range(5):
        api.enqueue(id=f"l{n}")
    answer = api.get_advise({"job": {"width": 1024, "height": 1024}, "context": {"has_gpu": True}})
    assert answer["context"]["local_queue_depth"] == 5
    assert answer["decision"] == "cpu"
    assert answer["reason"] == "local queue saturated; remote unavailable, fallback to CPU"


def test_token_is_required_on_every_post_and_not_on_gets(make_client: ClientFactory) -> None:
    clock = FakeClock(START)
    client = make_client(jobs=MemoryJobStore(clock=clock), token=TOKEN)
    api = Api(client, clock)
    for route in POST_ROUTES:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            response = client.post(f"/api/schedule/{route}", json={"id": "a", "job_id": "a"}, headers=headers)
            assert response.status_code == 401, (route, response.text)
            assert response.headers["www-authenticate"] == "Bearer"
            assert response.json()["feature"] == FEATURE_OFF
            assert TOKEN not in response.text
        # Authentication comes before the body checks (§0.3).
        assert client.post(f"/api/schedule/{route}", content=b"{bad").status_code == 401
    assert api.get("/api/schedule/state")["counts"]["queues"]["local"] == 0  # nothing was enqueued
    authed = Api(client, clock, AUTH)
    authed.enqueue(id="a")
    assert authed.claim()["job"]["id"] == "a"
    authed.post("heartbeat", {"job_id": "a"})
    authed.post("complete", {"job_id": "a"})
    authed.post("requeue", {"job_id": "a"})
    authed.post("cancel", {"job_id": "a"})
    authed.post("fail", {"job_id": "a"}, status=409)
    api.get("/api/schedule/health")
    api.get("/api/schedule/state")
    api.get("/api/schedule/board")
    assert api.job("a")["status"] == "cancelled"
    api.get("/api/schedule/jobs/zzz", status=404)


def test_bad_bodies(api: Api) -> None:
    for route in POST_ROUTES:
        for raw in (b"{not json", b"[1]", b'"x"', b"3"):
            response = api.client.post(
                f"/api/schedule/{route}", content=raw, headers={"content-type": "application/json"}
            )
            assert response.status_code == 400, (route, raw, response.text)
            assert response.json()["feature"] == FEATURE_OFF
        response = api.client.post(f"/api/schedule/{route}", content=b'{"pad":"' + b"x" * (1024 * 1024) + b'"}')
        assert response.status_code == 413
        assert response.json()["feature"] == FEATURE_OFF
    wrong = api.client.get("/api/schedule/enqueue")
    assert wrong.status_code == 405
    assert wrong.json()["feature"] == FEATURE_OFF
    missing = api.client.get("/api/schedule/nope")
    assert missing.status_code == 404
    assert missing.json()["feature"] == FEATURE_OFF


# -- property: no input gives a 5xx ----------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8) | st.sampled_from(["a", "b", "1"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
KEYS = [
    "id", "job_id", "name", "title", "queue", "target", "priority", "sticky", "sticky_device", "device_id",
    "sticky_device_id", "provider_id", "payload", "meta", "bytes_tx", "bytes_rx", "vram_gb", "worker_id",
    "lease_seconds", "lease_token", "status", "duration_sec", "cost_estimate", "error",
]  # fmt: skip
numbers = st.integers(min_value=-(2**70), max_value=2**70) | st.floats() | st.sampled_from(["1e400", "-0", " 5 "])
objects = st.dictionaries(st.sampled_from(KEYS), json_values | numbers, max_size=7)
bodies = st.one_of(json_values, objects, objects)


@pytest.fixture
def shared_api(make_client: ClientFactory) -> Api:
    """One client for every hypothesis example of a test, with jobs a and b enqueued."""
    clock = FakeClock(START)
    api = Api(make_client(jobs=MemoryJobStore(clock=clock)), clock)
    api.enqueue(id="a")
    api.enqueue(id="b", queue="remote")
    return api


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(route=st.sampled_from(POST_ROUTES), body=bodies, tick=st.sampled_from([0.0, 0.5, 3601.0]))
def test_no_body_produces_a_5xx(shared_api: Api, route: str, body: Any, tick: float) -> None:
    api = shared_api
    api.clock.advance(tick)
    answer = api.post(route, body, status=None)  # the checks of Api: JSON object, feature, detail on errors
    assert answer.get("status_code", 200) < 500, answer


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(limit=st.text(max_size=6), job_id=st.text(min_size=1, max_size=12))
def test_no_query_or_path_produces_a_5xx(shared_api: Api, limit: str, job_id: str) -> None:
    api = shared_api
    text = limit.strip()
    valid = re.fullmatch(r"[+-]?[0-9]+", text, re.ASCII) is not None and 1 <= int(text) <= 1000
    for route in ("state", "board"):
        response = api.client.get(f"/api/schedule/{route}", params={"limit": limit})
        assert response.status_code == (200 if valid else 400), (limit, response.text)
        assert response.json()["feature"] == FEATURE_OFF
    response = api.client.get(f"/api/schedule/jobs/{quote(job_id, safe='')}")
    assert response.status_code < 500, response.text
    assert response.json()["feature"] == FEATURE_OFF


def test_complete_whose_cost_overflows_is_a_400_and_leaves_the_job_running(api: Api) -> None:
    assert api.client.post("/api/providers", json=RUNPOD_DEV_BODY).status_code == 200
    _remote_r(api)
    error = api.post("complete", {"job_id": "r", "duration_sec": 1e308, "vram_gb": 1e308}, status=400)
    assert error["detail"] == "duration_sec: too large: the cost it gives is not a finite number"
    job = api.job("r")
    assert (job["status"], job["cost_estimate"], job["vram_gb"]) == ("running", None, 16.0)
    assert api.post("complete", {"job_id": "r", "duration_sec": 60})["job"]["cost_estimate"] == 0.136


@pytest.mark.parametrize("limit", ["١٠", "1_0", "1.0", "1e1", "0", "1001", ""])
def test_a_limit_is_ascii_digits_from_1_to_1000(api: Api, limit: str) -> None:
    error = api.get(f"/api/schedule/state?limit={limit}", status=400)
    assert error["detail"].startswith("limit:"), error


@pytest.mark.parametrize("job_id", ["a/b", "a\nb", "a\x00b", " a", "-a", "a b", "é", "x" * 129])
def test_a_job_id_that_could_not_be_read_back_is_refused(api: Api, job_id: str) -> None:
    error = api.post("enqueue", {"id": job_id}, status=400)
    assert error["detail"].startswith("id: must match"), error
    assert api.state()["counts"]["queues"]["local"] == 0


@pytest.mark.parametrize("job_id", ["hero-shot", "check-0a1b2c", "j0", "a.b:c_d-e", "x" * 128, 42])
def test_every_accepted_job_id_reads_back(api: Api, job_id: str | int) -> None:
    job = api.post("enqueue", {"id": job_id})["job"]
    assert job["id"] == str(job_id)
    assert api.job(str(job_id))["id"] == str(job_id)


# -- claim long-poll (§14) ---------------------------------------------------------------------------------------


def test_a_waiting_claim_takes_a_job_enqueued_while_it_waits(memory_api: Api) -> None:
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(memory_api.post, "claim", {"wait_seconds": 30, "worker_id": "w"})
        memory_api.enqueue(id="arrives")
        claimed = waiting.result(timeout=30)
    assert claimed["job"]["id"] == "arrives" and claimed["lease"] is not None


def test_a_waiting_claim_takes_a_scheduled_job_when_it_falls_due(memory_api: Api) -> None:
    memory_api.post("enqueue", {"id": "due-soon", "delay_seconds": 60})
    assert memory_api.post("claim", {})["job"] is None
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(memory_api.post, "claim", {"wait_seconds": 30, "worker_id": "w"})
        memory_api.clock.advance(60)  # nothing arrives: the waiting claim must look again by itself
        claimed = waiting.result(timeout=30)
    assert claimed["job"]["id"] == "due-soon"


def test_a_waiting_claim_on_an_empty_queue_answers_null_after_its_wait(memory_api: Api) -> None:
    started = time.monotonic()
    assert memory_api.post("claim", {"wait_seconds": 1})["job"] is None
    assert time.monotonic() - started >= 1.0  # it did wait (a lower bound, never a speed assertion)


@pytest.mark.parametrize("bad", [-1, 31, 1.5, "soon", True])
def test_wait_seconds_must_be_an_integer_from_0_to_30(memory_api: Api, bad: object) -> None:
    answer = memory_api.post("claim", {"wait_seconds": bad}, status=400)
    assert answer["detail"].startswith("wait_seconds")


def test_completion_outputs_are_file_names_kept_in_the_last_run(api: Api) -> None:
    api.post("enqueue", {"id": "o"})
    lease = api.post("claim", {})["lease"]
    for outputs in ("a.png", [1], ["x" * 1025], ["f"] * 1001):
        answer = api.post("complete", {"job_id": "o", "lease_token": lease["token"], "outputs": outputs}, status=400)
        assert answer["detail"].startswith("outputs"), answer
    job = api.post("complete", {"job_id": "o", "lease_token": lease["token"], "outputs": ["a.png", "b.png"]})["job"]
    assert job["runs"][-1]["outputs"] == ["a.png", "b.png"]
    assert api.state()["completed"][0]["runs"][0]["outputs"] == ["a.png", "b.png"]


def test_scheduling_fields_are_checked_and_named(api: Api) -> None:
    """§15 enqueue additions: a bad value is a 400 naming its field, and nothing is stored."""
    cases: list[tuple[dict[str, Any], str]] = [
        ({"run_at": "tomorrow"}, "run_at"),
        ({"run_at": "1700000000"}, "run_at"),  # epoch seconds are a JSON number
        ({"run_at": "2026-13-01T00:00:00Z"}, "run_at"),
        ({"run_at": 1e13}, "run_at"),
        ({"run_at": True}, "run_at"),
        ({"delay_seconds": -1}, "delay_seconds"),
        ({"delay_seconds": "10"}, "delay_seconds"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"max_attempts": 1.5}, "max_attempts"),
        ({"max_attempts": 1001}, "max_attempts"),
        ({"backoff_seconds": "fast"}, "backoff_seconds"),
        ({"backoff_seconds": 2**31}, "backoff_seconds"),
    ]
    for body, field in cases:
        answer = api.post("enqueue", {"id": "s", **body}, status=400)
        assert field in answer["detail"], (body, answer)
    assert api.state()["counts"]["queues"] == {"local": 0, "remote": 0}
    job = api.post("enqueue", {"id": "s", "run_at": "2999-01-01T12:00:00+01:00", "max_attempts": 4})["job"]
    assert (job["run_at"], job["status"]) == ("2999-01-01T11:00:00Z", "queued")
    assert api.state()["counts"]["scheduled"] == {"local": 1, "remote": 0}
    assert api.post("claim", {})["job"] is None
