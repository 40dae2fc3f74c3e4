"""Bad input everywhere gets a clear 4xx with a detail and the feature object, never a 500 (contract §0)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from tests.http.conftest import ClientFactory
from tests.seed_examples import FEATURE_OFF

POST_ROUTES = ("/api/providers", "/api/compute/advise", "/api/compute/costs")


@pytest.mark.parametrize("route", POST_ROUTES)
@pytest.mark.parametrize(
    ("raw", "detail"),
    [(b"{not json", "invalid JSON"), (b"[1, 2]", "JSON object"), (b'"x"', "JSON object"), (b"3", "JSON object")],
)
def test_bad_bodies_are_400(client: TestClient, route: str, raw: bytes, detail: str) -> None:  # type: ignore[type-arg]
    response = client.post(route, content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 400
    body = response.json()
    assert detail in body["detail"]
    assert body["status_code"] == 400
    assert body["feature"] == FEATURE_OFF


@pytest.mark.parametrize(
    ("route", "status", "detail"),
    [
        ("/api/providers", 400, "missing provider id"),
        ("/api/compute/advise", 200, None),
        ("/api/compute/costs", 400, "missing job payload"),
    ],
)
def test_null_body_is_an_empty_object(
    client: TestClient,  # type: ignore[type-arg]
    route: str,
    status: int,
    detail: str | None,
) -> None:
    for raw in (b"null", b"{}", b""):
        response = client.post(route, content=raw)
        assert response.status_code == status, (raw, response.text)
        assert response.json().get("detail") == detail


@pytest.mark.parametrize("route", POST_ROUTES)
def test_body_over_one_mib_is_413(client: TestClient, route: str) -> None:  # type: ignore[type-arg]
    raw = b'{"id": "big", "pad": "' + b"x" * (1024 * 1024) + b'"}'
    response = client.post(route, content=raw)
    assert response.status_code == 413
    assert response.json()["feature"] == FEATURE_OFF
    assert client.get("/api/providers").json()["providers"] == []


def test_unknown_route_and_method(client: TestClient) -> None:  # type: ignore[type-arg]
    missing = client.get("/api/providers/nope/deeper")
    assert missing.status_code == 404
    assert missing.json()["feature"] == FEATURE_OFF
    wrong = client.put("/api/compute/advise", json={})
    assert wrong.status_code == 405
    assert wrong.json()["feature"] == FEATURE_OFF


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
KEYS = [
    "id", "kind", "base", "base_url", "endpoint", "meta", "debug", "verbose", "job", "context", "allow_remote",
    "prefer_remote", "queue", "target", "provider_id", "duration_sec", "duration_minutes", "eta_sec", "bytes_tx",
    "bytes_rx", "vram_gb", "min_vram_gb", "pixels", "width", "height", "payload", "upload_bytes", "priority",
]  # fmt: skip
known_keys = st.sampled_from(KEYS)
meta_values = st.dictionaries(
    st.sampled_from(["cost_per_minute", "egress_cost_per_gb", "currency", "api_key", "default_vram_gb"]), json_values
)
objects = st.dictionaries(known_keys, json_values | meta_values, max_size=6)
bodies = st.one_of(json_values, objects, st.dictionaries(known_keys, objects, max_size=3))


@pytest.fixture
def shared_client(make_client: ClientFactory) -> TestClient:  # type: ignore[type-arg]
    """One client for every hypothesis example of a test (a function-scoped fixture is set up once per test)."""
    return make_client(providers=())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(route=st.sampled_from(POST_ROUTES), body=bodies)
def test_no_body_produces_a_5xx(shared_client: TestClient, route: str, body: Any) -> None:  # type: ignore[type-arg]
    client = shared_client
    response = client.post(route, json=body)
    assert response.status_code < 500, response.text
    data = response.json()
    assert isinstance(data, dict)
    assert data["feature"] == FEATURE_OFF
    if response.status_code >= 400:
        assert isinstance(data["detail"], str)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(provider_id=st.text(max_size=20), debug=st.text(max_size=5))
def test_no_path_or_query_produces_a_5xx(
    shared_client: TestClient,  # type: ignore[type-arg]
    provider_id: str,
    debug: str,
) -> None:
    client = shared_client
    for response in (
        client.delete(f"/api/providers/{quote(provider_id, safe='')}", params={"debug": debug}),
        client.get("/api/providers", params={"debug": debug}),
    ):
        assert response.status_code < 500, response.text
