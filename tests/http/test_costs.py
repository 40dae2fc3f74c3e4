"""POST /api/compute/costs: the worked examples of contract §4.9 and its errors."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from computeadvisor.domain.costs import ADVISORY_NOTE, EMPTY_META_NOTE, FLAG_OFF_NOTE
from computeadvisor.domain.providers import ProviderRecord
from tests.http.conftest import RUNPOD_DEV, ClientFactory
from tests.seed_examples import RUNPOD_DEV as RUNPOD_DEV_BODY
from tests.seed_examples import (
    SEED_COST_BREAKDOWN,
    SEED_COST_HINTS,
    SEED_COST_INPUTS,
    SEED_COST_JOB,
    SEED_COST_PROVIDER,
)

SEED_JOB = SEED_COST_JOB


def estimate(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:  # type: ignore[type-arg]
    response = client.post("/api/compute/costs", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["estimate"]
    return result


@pytest.mark.parametrize("flag", [False, True])
def test_documented_example_with_a_provider_registered_at_runtime(make_client: ClientFactory, flag: bool) -> None:
    client = make_client(flag=flag)
    assert client.post("/api/providers", json=RUNPOD_DEV_BODY).status_code == 200
    response = client.post("/api/compute/costs", json={"job": SEED_JOB, "debug": True})
    data = response.json()
    est = data["estimate"]
    assert est["estimate"] == 0.7076
    assert est["currency"] == "USD"
    assert est["breakdown"] == SEED_COST_BREAKDOWN
    assert est["provider"] == SEED_COST_PROVIDER
    assert est["hints"] == SEED_COST_HINTS
    assert est["notes"] == ([ADVISORY_NOTE] if flag else [ADVISORY_NOTE, FLAG_OFF_NOTE])
    assert est["inputs"] == SEED_COST_INPUTS
    assert data["debug"]["registry"]["total"] == 1
    assert data["debug"]["providers"][0]["id"] == "runpod-dev"
    assert data["feature"] == {"feature": "enable_compute", "enabled": flag}


def test_no_provider(client: TestClient) -> None:  # type: ignore[type-arg]
    job = {k: v for k, v in SEED_JOB.items() if k != "provider_id"}
    est = estimate(client, {"job": job})
    assert est["estimate"] == 0.225
    assert est["breakdown"]["base_rate_per_minute"] == 0.05
    assert est["breakdown"]["transfer_cost"] == 0.0
    assert est["breakdown"]["vram_cost"] == 0.0
    assert est["provider"] == {"id": None, "kind": None, "base": None, "label": None, "queue": "remote"}
    assert est["hints"] == [
        "Provider unspecified (remote) - estimates in USD.",
        "Base: 4.50 min @ 0.050 USD/min ~= 0.23 USD",
        "Transfer: 1.000 GB out / 0.062 GB in ~= 0.00 USD (egress 0.000).",
        "VRAM surcharge: provider does not bill for VRAM usage.",
    ]
    assert est["notes"] == [ADVISORY_NOTE, FLAG_OFF_NOTE]


def test_unregistered_provider(client: TestClient) -> None:  # type: ignore[type-arg]
    est = estimate(client, {"job": SEED_JOB})
    assert est["estimate"] == 0.225
    assert est["hints"][0] == "Provider runpod-dev (remote) - estimates in USD."
    assert "Provider 'runpod-dev' not found in registry; using defaults." in est["notes"]
    assert est["provider"]["label"] == "runpod-dev"


def test_local_default(client: TestClient) -> None:  # type: ignore[type-arg]
    est = estimate(client, {"job": {"duration_sec": 120}})
    assert est["estimate"] == 0.0
    assert est["provider"]["id"] == "local"
    assert est["hints"] == [
        "Provider local (local) - estimates in USD.",
        "Base: provider metadata missing rate; defaulted to zero cost.",
        "Total cost rounded to 0; ensure provider metadata is populated for accurate previews.",
    ]
    assert est["notes"] == [ADVISORY_NOTE, "Provider 'local' not found in registry; using defaults."]


def test_eur_provider(make_client: ClientFactory) -> None:
    eu = ProviderRecord(
        id="eu-pod",
        kind="runpod",
        meta={
            "currency": "eur",
            "cost_per_minute": "0.1",
            "egress_cost_per_gb": 0.5,
            "ingress_cost_per_gb": 0,
            "label": "EU Pod",
        },
    )
    job = {"queue": "remote", "provider_id": "eu-pod", "duration_sec": 600, "bytes_tx": 536870912, "bytes_rx": GIB}
    est = estimate(make_client(providers=[eu]), {"job": job})
    assert (est["estimate"], est["currency"]) == (1.25, "EUR")
    assert est["breakdown"]["ingress_rate_per_gb"] == 0.0
    assert est["hints"][0] == "Provider EU Pod (runpod) - estimates in EUR."


GIB = 1073741824


@pytest.mark.parametrize(
    ("body", "total", "inputs"),
    [
        ({"queue": "remote", "provider_id": "runpod-dev", "eta_minutes": 10}, 1.2, {"duration_sec": 600.0}),
        (
            {
                "job": {"queue": "remote"},
                "payload": {"provider_id": "runpod-dev", "duration_seconds": 60, "upload_bytes": 2 * GIB},
            },
            0.3,
            {"bytes_tx": 2 * GIB},
        ),
        ({"job": {"queue": "remote", "duration_sec": 30, "duration_minutes": 10}}, 0.025, {"duration_sec": 30.0}),
        ({"job": {"queue": "remote"}}, 0.0, {"duration_sec": 0.0}),
    ],
)
def test_aliases_and_precedence(
    make_client: ClientFactory, body: dict[str, Any], total: float, inputs: dict[str, Any]
) -> None:
    est = estimate(make_client(providers=[RUNPOD_DEV]), body)
    assert est["estimate"] == total
    assert inputs.items() <= est["inputs"].items()


def test_no_duration_hint(client: TestClient) -> None:  # type: ignore[type-arg]
    hints = estimate(client, {"job": {"queue": "remote"}})["hints"]
    assert "Base: duration not supplied; treating as zero-minute workload." in hints


def test_default_vram(make_client: ClientFactory) -> None:
    provider = ProviderRecord(
        id="big", kind="runpod", meta={"cost_per_minute": 0.1, "vram_cost_per_gb_minute": 0.002, "default_vram_gb": 24}
    )
    client = make_client(providers=[provider])
    est = estimate(client, {"job": {"queue": "remote", "provider_id": "big", "duration_sec": 600}})
    assert (est["breakdown"]["vram_gb"], est["breakdown"]["vram_cost"], est["estimate"]) == (24.0, 0.48, 1.48)
    est = estimate(client, {"job": {"queue": "remote", "provider_id": "big", "duration_sec": 600, "vram_gb": 0}})
    assert est["estimate"] == 1.0


def test_empty_meta_note(make_client: ClientFactory) -> None:
    est = estimate(make_client(providers=[ProviderRecord(id="bare")]), {"job": {"provider_id": "bare"}})
    assert EMPTY_META_NOTE in est["notes"]


@pytest.mark.parametrize("body", [{}, {"job": {}}, {"debug": True}, None])
def test_missing_job_payload(client: TestClient, body: Any) -> None:  # type: ignore[type-arg]
    response = client.post("/api/compute/costs", json=body) if body is not None else client.post("/api/compute/costs")
    assert response.status_code == 400
    assert response.json()["detail"] == "missing job payload"


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"bytes_tx": -5}, "bytes_tx"),
        ({"vram_gb": "abc"}, "vram_gb"),
        ({"duration_sec": "nan"}, "duration_sec"),
        ({"duration_sec": True}, "duration_sec"),
    ],
)
def test_bad_numbers_name_the_alias(client: TestClient, extra: dict[str, Any], field: str) -> None:  # type: ignore[type-arg]
    body = {"job": {"queue": "remote", "duration_sec": 30, "duration_minutes": 10, **extra}}
    response = client.post("/api/compute/costs", json=body)
    assert response.status_code == 400
    assert field in response.json()["detail"]


@pytest.mark.parametrize(
    ("job", "field"),
    [
        ({"duration_sec": 1e308, "vram_gb": 1e308}, "duration_sec"),
        ({"duration_minutes": 1, "bytes_tx": 2**62, "vram_gb": 1e308}, "vram_gb"),
    ],
)
def test_a_cost_that_overflows_is_a_400_naming_the_field(
    make_client: ClientFactory, job: dict[str, Any], field: str
) -> None:
    client = make_client()
    huge = {"id": "huge", "meta": {"cost_per_minute": 1e300, "vram_cost_per_gb_minute": 1e300}}
    assert client.post("/api/providers", json=RUNPOD_DEV_BODY).status_code == 200
    assert client.post("/api/providers", json=huge).status_code == 200
    provider = "runpod-dev" if field == "duration_sec" else "huge"
    response = client.post("/api/compute/costs", json={"job": {"queue": "remote", "provider_id": provider, **job}})
    assert response.status_code == 400, response.text
    assert response.json()["detail"].startswith(f"{field}: too large")


def test_minutes_that_overflow_in_seconds_are_a_400_naming_the_alias(client: TestClient) -> None:  # type: ignore[type-arg]
    response = client.post("/api/compute/costs", json={"job": {"queue": "remote", "eta_minutes": 1.7e308}})
    assert response.status_code == 400, response.text
    assert response.json()["detail"] == "eta_minutes: must be at most 1e+306 minutes"
