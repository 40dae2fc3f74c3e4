"""POST /api/compute/plan and GET /api/compute/model (§10) over the in-memory adapters."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from computeadvisor.adapters.memory import MemoryJobStore
from computeadvisor.domain.policy import GpuPolicy
from computeadvisor.domain.providers import ProviderRecord
from tests.http.conftest import RTX_4090, ClientFactory

RP = ProviderRecord(id="rp", kind="runpod", meta={"cost_per_minute": 0.06, "seconds_per_unit": 0.1, "startup_s": 30})
CANDIDATE_KEYS = ["device", "target", "label", "feasible", "blockers", "wait_s", "transfer_s", "run_s", "eta_s",
                  "cost", "basis", "rank"]  # fmt: skip


def plan(client: TestClient, body: Any, **kwargs: Any) -> dict[str, Any]:  # type: ignore[type-arg]
    response = client.post("/api/compute/plan", json=body, **kwargs)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def teach(client: TestClient, jobs: int, seconds: float, device: str = "gpu:0", **enqueue: Any) -> None:  # type: ignore[type-arg]
    for _ in range(jobs):
        client.post("/api/schedule/enqueue", json={"payload": {"work_units": 10}, **enqueue})
        claimed = client.post("/api/schedule/claim", json={"device_id": device, **enqueue}).json()
        job_id = claimed["job"]["id"]
        done = client.post("/api/schedule/complete", json={"job_id": job_id, "duration_sec": seconds})
        assert done.status_code == 200


def test_a_fresh_service_plans_from_default_rates(make_client: ClientFactory) -> None:
    client = make_client(gpus=[RTX_4090], providers=[RP], flag=True)
    answer = plan(client, {"job": {"width": 2048, "height": 1152, "steps": 30}})
    assert list(answer) == ["recommendation", "reason", "objective", "job", "candidates", "feature"]
    assert answer["job"] == {"work_units": 67.5, "pixels": 2048 * 1152, "steps": 30, "batch": 1, "frames": 1,
                             "vram_gb": None, "priority": 0}  # fmt: skip
    assert answer["feature"] == {"feature": "enable_compute", "enabled": True}
    assert [c["device"] for c in answer["candidates"]] == ["gpu:0", "cpu", "remote:rp"]
    assert all(list(c) == CANDIDATE_KEYS for c in answer["candidates"])
    gpu = answer["candidates"][0]
    assert gpu["basis"] == {"source": "default", "model": None, "samples": 0,
                            "seconds_per_unit": {"p50": 0.4, "p90": pytest.approx(0.6)}}  # fmt: skip
    assert gpu["run_s"] == {"p50": 27.0, "p90": 40.5} and gpu["eta_s"] == gpu["run_s"]
    assert answer["candidates"][2]["blockers"] == ["remote offload disabled"]
    assert answer["recommendation"] == "gpu:0"
    assert answer["reason"] == "gpu:0 finishes in ~27 s at 0.00 USD; next best cpu ~13.5 min at 0.00 USD"


def test_teaching_through_the_scheduler_changes_the_next_plan(make_client: ClientFactory) -> None:
    client = make_client(gpus=[RTX_4090])
    teach(client, 5, seconds=20.0)  # 2 s per unit on gpu:0, five times slower than the default
    gpu = plan(client, {"job": {"work_units": 10}})["candidates"]
    assert gpu[0]["device"] == "gpu:0"
    assert gpu[0]["basis"]["source"] == "history" and gpu[0]["basis"]["samples"] == 5
    assert gpu[0]["run_s"]["p50"] == 20.0
    model = client.get("/api/compute/model").json()
    assert model["min_samples"] == 5 and model["defaults"] == {"cpu": 12.0, "gpu": 0.4, "remote": 0.4}
    (entry,) = model["places"]
    assert entry["place"] == "gpu:0" and entry["model"] is None and entry["samples"] == 5
    assert entry["accuracy"] == {"predictions": 0, "median_abs_error_pct": None, "p90_coverage": None}
    teach(client, 1, seconds=30.0)  # judged: predicted 20 s, took 30
    entry = client.get("/api/compute/model").json()["places"][0]
    assert entry["accuracy"] == {"predictions": 1, "median_abs_error_pct": 33.33, "p90_coverage": 0.0}


def test_queued_work_ahead_makes_a_place_wait(make_client: ClientFactory) -> None:
    client = make_client(gpus=[RTX_4090])
    client.post("/api/schedule/enqueue", json={"device_id": "gpu:0", "priority": 5, "payload": {"work_units": 50}})
    client.post("/api/schedule/enqueue", json={"priority": -5, "payload": {"work_units": 1000}})  # lower: not ahead
    gpu = next(c for c in plan(client, {})["candidates"] if c["device"] == "gpu:0")
    assert gpu["wait_s"] == 20.0  # 50 units at 0.4 s
    urgent = next(c for c in plan(client, {"job": {"priority": 9}})["candidates"] if c["device"] == "gpu:0")
    assert urgent["wait_s"] == 0.0


def test_remote_places_need_the_flag_and_offload(make_client: ClientFactory) -> None:
    off = make_client(providers=[RP], flag=False)
    remote = plan(off, {"allow_remote": True})["candidates"][-1]
    assert remote["device"] == "remote:rp" and remote["blockers"] == ["compute feature disabled"]
    on = make_client(providers=[RP], flag=True)
    answer = plan(on, {"allow_remote": "yes", "objective": "fastest"})
    assert answer["recommendation"] == "remote:rp"  # 30 s start + 2 s run beats 240 s on the CPU
    assert answer["candidates"][0]["cost"] == {"estimate": 0.002, "currency": "USD"}
    assert answer["candidates"][0]["basis"]["source"] == "declared"


def test_the_gpu_policy_and_vram_block_places(make_client: ClientFactory) -> None:
    client = make_client(gpus=[RTX_4090], policy=GpuPolicy(mode="manual", manual_device="cpu"))
    answer = plan(client, {"job": {"vram_gb": 30}})
    gpu = next(c for c in answer["candidates"] if c["device"] == "gpu:0")
    assert gpu["blockers"] == ["not enough VRAM (needs 30.0 GiB, has 24.0 GiB)", "GPU policy pins CPU"]
    assert answer["recommendation"] == "cpu" and answer["job"]["vram_gb"] == 30


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"job": "big"}, "job"),
        ({"job": {"steps": 0}}, "job.steps"),
        ({"objective": "soonest"}, "objective"),
        ({"deadline_s": -1}, "deadline_s"),
        ({"job": {"bytes_tx": "lots"}}, "job.bytes_tx"),
        ({"job": {"model": ["sdxl"]}}, "job.model"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(client: TestClient, body: Any, field: str) -> None:  # type: ignore[type-arg]
    response = client.post("/api/compute/plan", json=body)
    assert response.status_code == 400
    assert response.json()["detail"].startswith(f"{field}:")
    assert response.json()["feature"] == {"feature": "enable_compute", "enabled": False}


def test_debug_adds_the_model_and_the_derived_inputs(make_client: ClientFactory) -> None:
    client = make_client(gpus=[RTX_4090], jobs=MemoryJobStore())
    teach(client, 1, seconds=5.0)
    debug = plan(client, {"debug": True})["debug"]
    assert debug["model"]["places"][0]["place"] == "gpu:0"
    assert debug["allow_remote"] is False and debug["policy"]["mode"] == "auto"
    assert debug["workload"] == {"queued": [], "running": []} and debug["now"].endswith("Z")
    assert "debug" not in plan(client, {"debug": "false"})


def test_debug_needs_the_token(make_client: ClientFactory) -> None:
    secured = make_client(token="t0ken")
    assert secured.post("/api/compute/plan", json={"debug": 1}).status_code == 401
    assert secured.post("/api/compute/plan", json={}).status_code == 200
    assert secured.get("/api/compute/model").status_code == 200
