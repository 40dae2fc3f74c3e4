"""Hostile bodies and poisoned stored values: a clear 400, never a 500, and nothing stored is lost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from computeadvisor.adapters.json_registry import JsonFileRegistry
from computeadvisor.adapters.memory import MemoryRegistry
from computeadvisor.domain.providers import META_MAX_DEPTH, UNSHOWABLE_META, ProviderRecord
from computeadvisor.domain.values import MAX_BODY_DEPTH
from tests.http.conftest import ClientFactory

POST_ROUTES = [
    "/api/providers",
    "/api/gpu/policy",
    "/api/compute/advise",
    "/api/compute/costs",
    "/api/schedule/enqueue",
    "/api/schedule/claim",
    "/api/schedule/complete",
]


def nested(depth: int, leaf: Any = 1) -> Any:
    """``leaf`` inside ``depth`` levels of objects (built without recursion)."""
    value = leaf
    for _ in range(depth):
        value = {"a": value}
    return value


def raw_nested_arrays(depth: int) -> bytes:
    return b'{"job": ' + b"[" * depth + b"]" * depth + b"}"


def raw_nested_objects(depth: int) -> bytes:
    return b'{"payload": ' + b'{"a": ' * depth + b"1" + b"}" * depth + b"}"


@pytest.mark.parametrize("route", POST_ROUTES)
@pytest.mark.parametrize("depth", [MAX_BODY_DEPTH + 1, 1_000, 100_000])
def test_a_body_nested_too_deeply_is_a_400_saying_so(
    client: TestClient,  # type: ignore[type-arg]
    route: str,
    depth: int,
) -> None:
    for raw in (raw_nested_arrays(depth), raw_nested_objects(depth)):
        response = client.post(route, content=raw, headers={"content-type": "application/json"})
        assert response.status_code == 400, (route, depth, response.text[:200])
        assert response.json()["detail"] == (
            f"invalid JSON body: arrays and objects nest deeper than {MAX_BODY_DEPTH} levels"
        )


def test_a_body_at_the_depth_limit_is_accepted(client: TestClient) -> None:  # type: ignore[type-arg]
    # The body object is level 1, so a payload nested MAX_BODY_DEPTH - 1 levels is exactly at the limit.
    body = {"id": "deep", "payload": nested(MAX_BODY_DEPTH - 1)}
    response = client.post("/api/schedule/enqueue", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["job"]["payload"] == body["payload"]


@pytest.mark.parametrize(
    ("meta", "problem"),
    [
        (nested(META_MAX_DEPTH + 1), f"must not nest deeper than {META_MAX_DEPTH} levels"),
        (nested(MAX_BODY_DEPTH - 2), f"must not nest deeper than {META_MAX_DEPTH} levels"),
        ({"notes": "x" * (64 * 1024)}, "must be at most 64 KiB as JSON"),
    ],
)
def test_a_meta_too_deep_or_too_large_is_refused_before_anything_is_written(
    make_client: ClientFactory, tmp_path: Path, meta: Any, problem: str
) -> None:
    registry = JsonFileRegistry(tmp_path)
    client = make_client(registry=registry)
    assert client.post("/api/providers", json={"id": "keep", "meta": {"cost_per_minute": 0.1}}).status_code == 200
    before = registry.path.read_bytes()
    response = client.post("/api/providers", json={"id": "poison", "meta": meta})
    assert response.status_code == 400, response.text
    assert response.json()["detail"] == f"meta: {problem}"
    assert registry.path.read_bytes() == before
    assert [p["id"] for p in client.get("/api/providers").json()["providers"]] == ["keep"]


def test_a_meta_at_the_depth_limit_is_stored_and_shown(client: TestClient) -> None:  # type: ignore[type-arg]
    meta = nested(META_MAX_DEPTH - 1, {"api_key": "s3cret"})
    assert client.post("/api/providers", json={"id": "deep", "meta": meta}).status_code == 200
    shown = client.get("/api/providers").json()["providers"][0]["meta"]
    assert shown == nested(META_MAX_DEPTH - 1, {"api_key": "***"})


def test_a_stored_record_too_deep_to_show_is_reported_not_a_500(make_client: ClientFactory) -> None:
    # What an older version could store: the rest of the registry stays readable, the record says what is wrong.
    poisoned = ProviderRecord(id="old", kind="runpod", meta=nested(500))
    client = make_client(registry=MemoryRegistry([poisoned, ProviderRecord(id="fine", meta={"token": "t"})]))
    for _ in range(2):
        response = client.get("/api/providers", params={"debug": "1"})
        assert response.status_code == 200, response.text[:300]
        providers = response.json()["providers"]
        assert providers[0] == {"id": "old", "kind": "runpod", "base": "", "meta": {"error": UNSHOWABLE_META}}
        assert providers[1]["meta"] == {"token": "***"}
    costs = client.post("/api/compute/costs", json={"job": {"provider_id": "old"}, "debug": True})
    assert costs.status_code == 200, costs.text[:300]
    assert client.delete("/api/providers/old").status_code == 200


def test_a_registry_file_nested_past_the_decoder_is_moved_aside_not_a_500(tmp_path: Path) -> None:
    import asyncio

    registry = JsonFileRegistry(tmp_path)
    registry.path.parent.mkdir(parents=True)
    poison = b'{"providers": [{"id": "x", "meta": ' + b"[" * 5000 + b"]" * 5000 + b"}]}"
    registry.path.write_bytes(poison)

    async def scenario() -> list[ProviderRecord]:
        await registry.open()
        return await registry.records()

    assert asyncio.run(scenario()) == []
    aside = [p for p in registry.path.parent.iterdir() if p.name.startswith("compute_providers.json.")]
    assert [p.read_bytes() for p in aside] == [poison]
