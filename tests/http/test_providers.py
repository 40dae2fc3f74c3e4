"""GET/POST/DELETE /api/providers (contract §2.2-§2.4, §2.6, §2.9)."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from tests.seed_examples import FEATURE_OFF


def test_empty_registry(client: TestClient) -> None:  # type: ignore[type-arg]
    assert client.get("/api/providers").json() == {"providers": [], "health": {}, "feature": FEATURE_OFF}
    assert client.get("/api/providers?debug=true").json()["stats"] == {
        "total": 0,
        "by_kind": {},
        "storage_path": "config/compute_providers.json",
        "persisted": False,
    }
    assert "stats" not in client.get("/api/providers?debug=false").json()
    assert "stats" in client.get("/api/providers?debug=YES").json()


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({}, 400, "missing provider id"),
        ({"id": None}, 400, "missing provider id"),
        ({"id": 0}, 400, "missing provider id"),
        ({"id": False}, 400, "missing provider id"),
        ({"id": "   "}, 400, "provider id missing"),
        ({"id": "a b"}, 400, "id"),
        ({"id": ["x"]}, 400, "id"),
        ({"id": True}, 400, "id"),
        ({"id": "rp", "meta": "oops"}, 400, "meta"),
        ({"id": "rp", "kind": 5}, 400, "kind"),
        ({"id": "rp", "base": "ftp://x"}, 400, "base"),
        ({"id": "rp", "base_url": "http://"}, 400, "base_url"),
        ({"id": "rp", "endpoint": 7}, 400, "endpoint"),
        ({"id": "rp", "meta": {"cost_per_minute": -1}}, 400, "meta.cost_per_minute"),
        ({"id": "rp", "meta": {"egress_cost_per_gb": "abc"}}, 400, "meta.egress_cost_per_gb"),
        ({"id": "rp", "meta": {"default_vram_gb": "inf"}}, 400, "meta.default_vram_gb"),
        ({"id": "rp", "meta": {"vram_cost_per_gb_minute": True}}, 400, "meta.vram_cost_per_gb_minute"),
    ],
)
def test_validation(client: TestClient, body: dict[str, Any], status: int, detail: str) -> None:  # type: ignore[type-arg]
    response = client.post("/api/providers", json=body)
    assert response.status_code == status
    assert detail in response.json()["detail"]
    assert response.json()["feature"] == FEATURE_OFF
    assert client.get("/api/providers").json()["providers"] == []


def test_trimming_replacement_and_stats(client: TestClient) -> None:  # type: ignore[type-arg]
    response = client.post("/api/providers", json={"id": "rp", "base_url": " https://x/ ", "name": "N"})
    assert response.json() == {
        "ok": True,
        "provider": {"id": "rp", "kind": "custom", "base": "https://x/", "meta": {}},
        "feature": FEATURE_OFF,
    }
    response = client.post(
        "/api/providers", json={"id": "rp", "kind": "runpod", "endpoint": "https://y", "debug": True}
    )
    data = response.json()
    assert data["provider"] == {"id": "rp", "kind": "runpod", "base": "https://y", "meta": {}}
    assert data["stats"]["by_kind"] == {"runpod": 1}
    assert data["stats"]["total"] == 1
    assert data["stats"]["persisted"] is True


def test_integer_id_and_insertion_order(client: TestClient) -> None:  # type: ignore[type-arg]
    for provider_id in ("b", 42, "a"):
        assert client.post("/api/providers", json={"id": provider_id}).status_code == 200
    client.post("/api/providers", json={"id": "b", "kind": "Vast"})
    listed = client.get("/api/providers?debug=1").json()
    assert [p["id"] for p in listed["providers"]] == ["b", "42", "a"]
    assert listed["providers"][0]["kind"] == "Vast"
    assert listed["stats"]["by_kind"] == {"vast": 1, "custom": 2}


def test_secrets_are_masked_and_kept_on_round_trip(client: TestClient) -> None:  # type: ignore[type-arg]
    meta = {"api_key": "abc", "cost_per_minute": 0.1, "author": "me", "nested": {"auth_header": "h", "x": 1}}
    response = client.post("/api/providers", json={"id": "rp2", "meta": meta})
    shown = response.json()["provider"]["meta"]
    assert shown == {"api_key": "***", "cost_per_minute": 0.1, "author": "me", "nested": {"auth_header": "***", "x": 1}}
    # Post back what we read: the secrets survive; change the rate only.
    client.post("/api/providers", json={"id": "rp2", "meta": {**shown, "cost_per_minute": 0.2}})
    costs = client.post("/api/compute/costs", json={"job": {"provider_id": "rp2", "duration_sec": 60}, "debug": True})
    assert costs.json()["estimate"]["estimate"] == 0.2
    assert costs.json()["debug"]["providers"][0]["meta"]["api_key"] == "***"
    assert "abc" not in costs.text


def test_delete(client: TestClient) -> None:  # type: ignore[type-arg]
    response = client.delete("/api/providers/nope")
    assert (response.status_code, response.json()["detail"]) == (404, "provider not found")
    assert client.delete("/api/providers/nope?debug=1").status_code == 404
    client.post("/api/providers", json={"id": "rp"})
    data = client.delete("/api/providers/rp?debug=1").json()
    assert data == {"ok": True, "feature": FEATURE_OFF, "stats": data["stats"]}
    assert data["stats"]["total"] == 0
    assert client.delete("/api/providers/rp").status_code == 404


def test_runtime_registration_is_priced_at_once(client: TestClient) -> None:  # type: ignore[type-arg]
    body = {"job": {"provider_id": "fresh", "duration_sec": 60}}
    assert client.post("/api/compute/costs", json=body).json()["estimate"]["estimate"] == 0.0
    client.post("/api/providers", json={"id": "fresh", "meta": {"cost_per_minute": 1}})
    assert client.post("/api/compute/costs", json=body).json()["estimate"]["estimate"] == 1.0


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("seconds_per_unit", -1),
        ("startup_s", "abc"),
        ("vram_gb", "inf"),
        ("bandwidth_mbps", 0),
        ("bandwidth_mbps", "-5"),
        ("concurrency", 0),
        ("concurrency", 1.5),
        ("concurrency", "2"),
    ],
)
def test_planner_facts_in_meta_are_validated_like_rates(client: TestClient, key: str, value: Any) -> None:  # type: ignore[type-arg]
    response = client.post("/api/providers", json={"id": "rp", "meta": {key: value}})
    assert response.status_code == 400, response.text
    assert response.json()["detail"].startswith(f"meta.{key}:")
    assert client.get("/api/providers").json()["providers"] == []


def test_planner_facts_are_stored_as_given(client: TestClient) -> None:  # type: ignore[type-arg]
    meta = {"seconds_per_unit": "0.2", "startup_s": 20, "vram_gb": 80, "bandwidth_mbps": 1000, "concurrency": 4}
    assert client.post("/api/providers", json={"id": "rp", "meta": meta}).json()["provider"]["meta"] == meta
