"""Bearer token (§7): mutating routes always, debug requests only when debug is on; 401 before 413 and 400."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from tests.http.conftest import ClientFactory

TOKEN = "s3cret-token"
GOOD = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def secured(make_client: ClientFactory) -> TestClient:  # type: ignore[type-arg]
    return make_client(token=TOKEN)


def assert_401(response: Any) -> None:
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "authentication required" in response.json()["detail"]
    assert response.json()["feature"] == {"feature": "enable_compute", "enabled": False}
    assert TOKEN not in response.text


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}])
def test_mutations_need_the_token(secured: TestClient, headers: dict[str, str]) -> None:  # type: ignore[type-arg]
    assert_401(secured.post("/api/providers", json={"id": "rp"}, headers=headers))
    assert_401(secured.delete("/api/providers/rp", headers=headers))
    assert secured.get("/api/providers", headers=GOOD).json()["providers"] == []


def test_token_is_checked_before_size_and_json(secured: TestClient) -> None:  # type: ignore[type-arg]
    assert_401(secured.post("/api/providers", content=b"x" * (2 * 1024 * 1024)))
    assert_401(secured.post("/api/providers", content=b"{bad"))


def test_right_token_works(secured: TestClient) -> None:  # type: ignore[type-arg]
    assert secured.post("/api/providers", json={"id": "rp"}, headers=GOOD).status_code == 200
    assert secured.delete("/api/providers/rp", headers=GOOD).status_code == 200


def test_debug_needs_the_token_only_when_on(secured: TestClient) -> None:  # type: ignore[type-arg]
    assert secured.get("/api/providers").status_code == 200
    assert secured.get("/api/providers?debug=0").status_code == 200
    assert_401(secured.get("/api/providers?debug=1"))
    assert secured.get("/api/providers?debug=1", headers=GOOD).status_code == 200
    assert secured.post("/api/compute/advise", json={}).status_code == 200
    assert_401(secured.post("/api/compute/advise", json={"debug": True}))
    assert_401(secured.post("/api/compute/costs", json={"job": {"duration_sec": 1}, "verbose": "yes"}))
    assert secured.post("/api/compute/costs", json={"job": {"duration_sec": 1}, "debug": True}, headers=GOOD).json()[
        "debug"
    ]


def test_debug_spelled_with_percent_escapes_still_needs_the_token(secured: TestClient) -> None:  # type: ignore[type-arg]
    # The server decodes ``%64ebug`` to ``debug``: the check must look at the decoded names, not the raw bytes.
    assert_401(secured.get("/api/gpu/list?%64ebug=1"))
    assert_401(secured.get("/api/providers?x=1&%64%65%62%75%67=on"))
    assert "metrics" in secured.get("/api/gpu/list?%64ebug=1", headers=GOOD).json()


def test_a_repeated_debug_parameter_needs_the_token_if_any_value_is_on(secured: TestClient) -> None:  # type: ignore[type-arg]
    assert_401(secured.get("/api/gpu/list?debug=0&debug=1"))
    assert_401(secured.get("/api/providers?debug=&debug=yes"))
    assert secured.get("/api/gpu/list?debug=0&debug=false").status_code == 200


def test_json_errors_come_before_the_debug_token(secured: TestClient) -> None:  # type: ignore[type-arg]
    assert secured.post("/api/compute/advise", content=b"{bad").status_code == 400


def test_no_token_configured_means_open(client: TestClient) -> None:  # type: ignore[type-arg]
    assert client.post("/api/providers", json={"id": "rp"}).status_code == 200
    assert client.get("/api/providers?debug=1").status_code == 200
