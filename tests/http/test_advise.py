"""POST /api/compute/advise: the worked examples of contract §3.9 and its errors."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from computeadvisor.domain.policy import GpuPolicy
from computeadvisor.domain.providers import ProviderRecord
from tests.http.conftest import RTX_4090, ClientFactory

RP = ProviderRecord(id="rp", kind="runpod")
LOCAL_ONLY = ProviderRecord(id="mine", kind="local")
BIG = {"width": 4096, "height": 4096}
MID = {"width": 1024, "height": 1024}
GPU = {"has_gpu": True}

# (body, flag, providers, decision, reason)
EXAMPLES: list[tuple[dict[str, Any], bool, tuple[ProviderRecord, ...], str, str]] = [
    ({}, False, (), "cpu", "no GPU detected on this host"),
    ({"job": {"width": 2048, "height": 1152, "priority": 3}, "allow_remote": True}, False, (), "cpu",
     "no GPU detected on this host"),
    ({"job": {"width": 2048, "height": 1152, "priority": 3}, "allow_remote": True, "context": GPU}, False, (), "gpu",
     "local GPU available and queue is light"),
    ({"job": {"width": 512, "height": 512}, "context": GPU}, False, (), "cpu", "job is tiny; CPU is sufficient"),
    ({"job": {"width": 513, "height": 512}, "context": GPU}, False, (), "gpu",
     "local GPU available and queue is light"),
    ({"job": {"pixels": 100, "width": 8000, "height": 8000}, "context": GPU}, False, (), "cpu",
     "job is tiny; CPU is sufficient"),
    ({"job": BIG, "context": GPU}, False, (), "gpu", "large job but remote providers unavailable"),
    ({"job": BIG, "context": {"has_gpu": True, "remote_available": True}, "allow_remote": True}, False, (), "gpu",
     "large render; remote GPU suggested; compute feature disabled"),
    ({"job": BIG, "allow_remote": True, "context": GPU}, True, (RP,), "remote", "large render; remote GPU suggested"),
    ({"job": BIG, "context": GPU}, True, (RP,), "gpu", "large render; remote GPU suggested; remote offload disabled"),
    ({"job": BIG, "prefer_remote": True, "context": GPU}, True, (RP,), "remote", "large render; remote GPU suggested"),
    ({"job": BIG, "allow_remote": "false", "context": GPU}, True, (RP,), "gpu",
     "large render; remote GPU suggested; remote offload disabled"),
    ({"job": BIG, "allow_remote": True, "context": GPU}, True, (LOCAL_ONLY,), "gpu",
     "large job but remote providers unavailable"),
    ({"job": {"vram_gb": 9, **MID}, "context": {"has_gpu": True, "local_vram_gb": 8}}, False, (), "cpu",
     "job requires more VRAM than local GPU provides"),
    ({"job": {"vram_gb": 8.5, **MID}, "context": {"has_gpu": True, "local_vram_gb": 8}}, False, (), "gpu",
     "local GPU available and queue is light"),
    ({"job": {"vram_gb": 9, **MID}, "context": {"has_gpu": True, "local_vram_gb": 0}}, False, (), "gpu",
     "local GPU available and queue is light"),
    ({"job": {"min_vram_gb": 24, **MID}, "allow_remote": True, "context": {"has_gpu": True, "local_vram_gb": 8}},
     True, (RP,), "remote", "job requires more VRAM than local GPU provides"),
    ({"job": {"min_vram_gb": 24, **MID}, "context": {"has_gpu": True, "local_vram_gb": 8}}, True, (RP,), "cpu",
     "job requires more VRAM than local GPU provides; remote offload disabled"),
    ({"job": MID, "allow_remote": True, "context": {"has_gpu": True, "local_queue_depth": 3}}, True, (RP,), "remote",
     "local GPU queue is busy"),
    ({"job": MID, "context": {"has_gpu": True, "local_queue_depth": 5}}, False, (), "cpu",
     "local queue saturated; remote unavailable, fallback to CPU"),
    ({"job": MID, "context": {"has_gpu": True, "local_queue_depth": 4}}, False, (), "gpu",
     "local GPU available and queue is light"),
    ({"job": MID, "context": {"has_gpu": True, "local_queue_depth": 2, "remote_queue_depth": 8}}, False, (), "gpu",
     "remote queue saturated; favor local GPU"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "flag", "providers", "decision", "reason"), EXAMPLES)
def test_worked_examples(
    make_client: ClientFactory,
    body: dict[str, Any],
    flag: bool,
    providers: tuple[ProviderRecord, ...],
    decision: str,
    reason: str,
) -> None:
    response = make_client(flag=flag, providers=providers).post("/api/compute/advise", json=body)
    assert response.status_code == 200, response.text
    data = response.json()
    assert (data["decision"], data["target"], data["reason"]) == (decision, decision, reason)
    assert data["feature"] == {"feature": "enable_compute", "enabled": flag}
    if decision == "remote":
        assert data["device"] == "remote:rp"
        assert data["remote_allowed"] is True
        assert data["context"]["remote_available"] is True


def test_empty_body_on_gpu_less_host(client: TestClient) -> None:  # type: ignore[type-arg]
    data = client.post("/api/compute/advise", content=b"").json()
    assert data["context"] == {
        "has_gpu": False,
        "local_queue_depth": 0,
        "remote_available": False,
        "remote_queue_depth": 0,
        "local_vram_gb": 0.0,
    }
    assert data["remote_allowed"] is False
    assert data["device"] == "cpu"
    assert "debug" not in data


def test_override_wins_in_context_but_flag_blocks_remote(client: TestClient) -> None:  # type: ignore[type-arg]
    body = {"job": BIG, "context": {"has_gpu": True, "remote_available": True}, "allow_remote": True}
    data = client.post("/api/compute/advise", json=body).json()
    assert data["context"]["remote_available"] is True
    assert data["remote_allowed"] is False


def test_debug_job_echo(client: TestClient) -> None:  # type: ignore[type-arg]
    body = {"job": {"pixels": "abc", "width": 600, "height": 600}, "debug": True, "context": GPU}
    assert client.post("/api/compute/advise", json=body).json()["debug"]["advisor"]["job"]["pixels"] == 360000
    body = {"job": {"width": 2048, "height": 1152, "priority": 3}, "allow_remote": True, "debug": True}
    debug = client.post("/api/compute/advise", json=body).json()["debug"]
    assert debug["advisor"]["job"] == {
        "priority": 3,
        "sticky": False,
        "preferred_device": None,
        "pixels": 2359296,
        "vram_requested_gb": None,
        "payload_keys": ["height", "priority", "width"],
    }
    assert debug["advisor"]["thresholds"] == {
        "tiny_pixels": 262144,
        "large_pixels": 16777216,
        "queue_remote_soft": 3,
        "queue_cpu_saturation": 5,
        "vram_slack_gb": 0.5,
        "remote_queue_saturation": 8,
    }
    assert debug["advisor"]["decision"] == {"choice": "cpu", "reason": "no GPU detected on this host"}
    assert debug["scheduler"] == {
        "queues": {"local": 0, "remote": 0},
        "active": 0,
        "completed": 0,
        "scheduled": {"local": 0, "remote": 0},
    }
    assert debug["allow_remote"] is False
    assert debug["policy"] == {"mode": "auto", "preferred_id": None, "manual_device": "cpu"}
    assert debug["registry"]["storage_path"] == "config/compute_providers.json"
    assert debug["metrics"]["gpus"] == []


@pytest.mark.parametrize(
    ("body", "has_debug"),
    [
        ({"debug": True}, True),
        ({"verbose": "yes"}, True),
        ({"debug": "0"}, False),
        ({"debug": "0", "verbose": "yes"}, False),
    ],
)
def test_debug_truthiness(client: TestClient, body: dict[str, Any], has_debug: bool) -> None:  # type: ignore[type-arg]
    assert ("debug" in client.post("/api/compute/advise", json=body).json()) is has_debug


@pytest.mark.parametrize(
    ("context", "field"),
    [
        ({"local_queue_depth": "abc"}, "context.local_queue_depth"),
        ({"has_gpu": "false"}, "context.has_gpu"),
        ({"remote_queue_depth": -1}, "context.remote_queue_depth"),
        ({"local_vram_gb": "8"}, "context.local_vram_gb"),
        ({"feature_enabled": 1}, "context.feature_enabled"),
        ("oops", "context"),
    ],
)
def test_override_type_errors(client: TestClient, context: Any, field: str) -> None:  # type: ignore[type-arg]
    response = client.post("/api/compute/advise", json={"job": MID, "context": context})
    assert response.status_code == 400
    assert field in response.json()["detail"]
    assert response.json()["feature"]["enabled"] is False


def test_gpu_selection_and_cpu_pin(make_client: ClientFactory) -> None:
    host = make_client(gpus=[RTX_4090])
    data = host.post("/api/compute/advise", json={"job": MID}).json()
    assert (data["decision"], data["device"], data["context"]["local_vram_gb"]) == ("gpu", "gpu:0", 23.99)
    pinned = make_client(gpus=[RTX_4090], policy=GpuPolicy(mode="manual", manual_device="cpu"))
    data = pinned.post("/api/compute/advise", json={"job": MID}).json()
    assert (data["decision"], data["device"]) == ("cpu", "cpu")
    assert data["reason"] == "local GPU available and queue is light; GPU policy pins CPU"


def test_remote_device_prefers_the_jobs_provider(make_client: ClientFactory) -> None:
    client = make_client(flag=True, providers=[RP, ProviderRecord(id="other", kind="vast")])
    body = {"job": {**BIG, "provider_id": "other"}, "allow_remote": True, "context": GPU}
    assert client.post("/api/compute/advise", json=body).json()["device"] == "remote:other"
