"""GET /api/gpu/list and GET/PUT/POST /api/gpu/policy (contract §1)."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from computeadvisor.domain.hardware import GpuInfo
from computeadvisor.domain.policy import GpuPolicy
from tests.http.conftest import RTX_4090, ClientFactory
from tests.seed_examples import DEFAULT_POLICY, FEATURE_OFF

SMALL = GpuInfo(id=1, name="small", mem_total=8192, mem_used=0, mem_free=8192)


def test_gpu_less_host(client: TestClient) -> None:  # type: ignore[type-arg]
    data = client.get("/api/gpu/list").json()
    assert data == {
        "devices": [{"type": "cpu", "id": "cpu", "name": "CPU", "load": None}],
        "policy": DEFAULT_POLICY,
        "feature": FEATURE_OFF,
    }
    debug = client.get("/api/gpu/list?debug=1").json()
    assert debug["metrics"]["gpus"] == [] and debug["metrics"]["first_gpu"] is None
    assert debug["raw_devices"] == []
    assert set(client.get("/api/gpu/list?debug=false").json()) == {"devices", "policy", "feature"}


def test_one_card(make_client: ClientFactory) -> None:
    card = GpuInfo(
        id=0,
        name="NVIDIA GeForce RTX 4090",
        uuid="GPU-1",
        util=37,
        mem_total=24564,
        mem_used=1024,
        mem_free=23540,
        temp_c=45,
        power_w=71.2,
    )
    devices = make_client(gpus=[card]).get("/api/gpu/list").json()["devices"]
    assert devices[1] == {
        "type": "gpu",
        "id": "gpu:0",
        "name": "NVIDIA GeForce RTX 4090",
        "uuid": "GPU-1",
        "load": 37,
        "util": 37,
        "mem_total": 24564,
        "mem_used": 1024,
        "mem_free": 23540,
        "mem_total_mb": 24564,
        "mem_used_mb": 1024,
        "temp_c": 45,
        "power_w": 71.2,
    }


def test_policy_read_and_write(make_client: ClientFactory) -> None:
    client = make_client(gpus=[RTX_4090])
    assert client.get("/api/gpu/policy").json() == {
        "policy": DEFAULT_POLICY,
        "modes": ["auto", "manual", "sticky"],
        "feature": FEATURE_OFF,
    }
    saved = client.put("/api/gpu/policy", json={"mode": "MANUAL ", "manual_device": "cuda:0"}).json()
    assert saved == {
        "ok": True,
        "policy": {"mode": "manual", "preferred_id": None, "manual_device": "gpu:0"},
        "modes": ["auto", "manual", "sticky"],
        "feature": FEATURE_OFF,
    }
    assert client.post("/api/gpu/policy", json={"mode": "auto"}).json()["policy"]["manual_device"] == "gpu:0"
    assert client.get("/api/gpu/list").json()["policy"]["mode"] == "auto"


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({}, "mode is required"),
        ({"mode": 3}, "mode is required"),
        ({"mode": "fast"}, "mode must be one of: auto, manual, sticky"),
        ({"mode": "manual", "manual_device": "gpu:3"}, "manual_device"),
        ({"mode": "auto", "preferred_id": "tpu:0"}, "preferred_id"),
        ({"mode": "auto", "preferred_id": 5}, "preferred_id"),
    ],
)
def test_policy_errors_leave_it_unchanged(make_client: ClientFactory, body: dict[str, Any], detail: str) -> None:
    client = make_client(gpus=[RTX_4090], policy=GpuPolicy(mode="sticky", preferred_id="gpu:0"))
    before = client.get("/api/gpu/policy").json()
    response = client.put("/api/gpu/policy", json=body)
    assert response.status_code == 400
    assert detail in response.json()["detail"]
    assert client.get("/api/gpu/policy").json() == before


def test_sticky_mode_records_and_keeps_the_first_choice(make_client: ClientFactory) -> None:
    client = make_client(gpus=[SMALL, RTX_4090], policy=GpuPolicy(mode="sticky"))
    mid = {"job": {"width": 1024, "height": 1024}, "context": {}}
    assert client.post("/api/compute/advise", json=mid).json()["device"] == "gpu:0"  # most free memory
    assert client.get("/api/gpu/policy").json()["policy"]["sticky_device"] == "gpu:0"


def test_manual_pin_on_cpu_keeps_advice_off_the_gpu(make_client: ClientFactory) -> None:
    client = make_client(gpus=[RTX_4090])
    client.put("/api/gpu/policy", json={"mode": "manual", "manual_device": "cpu"})
    data = client.post("/api/compute/advise", json={"job": {"width": 1024, "height": 1024}, "debug": True}).json()
    assert data["decision"] == "cpu"
    assert data["reason"].endswith("; GPU policy pins CPU")
    assert data["debug"]["policy"] == {"mode": "manual", "preferred_id": None, "manual_device": "cpu"}
