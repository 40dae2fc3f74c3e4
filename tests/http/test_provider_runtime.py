"""GET /api/providers/health|quota|templates (contract §2.8, §2.9) and health memory in the advisor (§3.2)."""

from __future__ import annotations

from litestar.testing import TestClient

from computeadvisor.domain.health import ProbeResult, echo_result
from computeadvisor.domain.providers import ProviderRecord
from computeadvisor.ports.health_probe import HealthProbe
from tests.http.conftest import ClientFactory
from tests.seed_examples import FEATURE_OFF

ECHO = {"id": "echo", "kind": "remote", "base": "stub://echo"}


class SwitchableProbe(HealthProbe):
    """A probe whose answer per provider id the test sets; echo answers for the rest."""

    def __init__(self) -> None:
        self.down: set[str] = set()

    async def probe(self, provider: ProviderRecord) -> ProbeResult:
        if provider.id in self.down:
            return ProbeResult(ok=False, error="connection refused", latency_ms=1)
        return echo_result()


def test_echo_health_quota_and_templates(client: TestClient) -> None:  # type: ignore[type-arg]
    client.post("/api/providers", json=ECHO)
    assert client.get("/api/providers/health?id=echo").json() == {
        "ok": True,
        "status": {"ok": True, "echo": True, "latency_ms": 0, "provider_id": "echo", "provider_name": None},
        "feature": FEATURE_OFF,
    }
    for route in ("quota", "templates"):
        assert client.get(f"/api/providers/{route}?id=echo").json() == {
            "ok": False,
            "error": "unsupported",
            "provider_id": "echo",
            "feature": FEATURE_OFF,
        }


def test_missing_and_unknown_ids(client: TestClient) -> None:  # type: ignore[type-arg]
    unknown = client.get("/api/providers/health?id=zzz")
    assert (unknown.status_code, unknown.json()["detail"]) == (404, "provider not found")
    for route in ("quota", "templates"):
        missing = client.get(f"/api/providers/{route}")
        assert (missing.status_code, missing.json()["detail"]) == (400, "missing provider id")
        assert missing.json()["feature"] == FEATURE_OFF
        assert client.get(f"/api/providers/{route}?id=zzz").status_code == 404


def test_all_providers_in_registry_order(client: TestClient) -> None:  # type: ignore[type-arg]
    assert client.get("/api/providers/health").json() == {"ok": False, "results": [], "feature": FEATURE_OFF}
    for body in ({"id": "b", "base": "memory://b"}, ECHO, {"id": "nobase"}):
        client.post("/api/providers", json=body)
    data = client.get("/api/providers/health").json()
    assert [r["provider_id"] for r in data["results"]] == ["b", "echo", "nobase"]
    assert data["results"][2] == {
        "ok": False,
        "error": "missing base_url",
        "provider_id": "nobase",
        "provider_name": None,
    }
    assert data["ok"] is True


def test_failed_health_removes_a_provider_from_remote_available(make_client: ClientFactory) -> None:
    probe = SwitchableProbe()
    client = make_client(flag=True, providers=[ProviderRecord(id="rp", kind="runpod")], health=probe)
    big = {"job": {"width": 4096, "height": 4096}, "allow_remote": True, "context": {"has_gpu": True}}
    assert client.post("/api/compute/advise", json=big).json()["decision"] == "remote"  # never checked: counts
    probe.down.add("rp")
    assert client.get("/api/providers/health?id=rp").json()["ok"] is False
    after = client.post("/api/compute/advise", json=big).json()
    assert (after["decision"], after["context"]["remote_available"]) == ("gpu", False)
    client.post("/api/providers", json={"id": "rp", "kind": "runpod"})  # an upsert forgets the last result
    assert client.post("/api/compute/advise", json=big).json()["decision"] == "remote"


def test_runtime_routes_need_the_token(make_client: ClientFactory) -> None:
    client = make_client(token="t0k", providers=[ProviderRecord(id="echo", base="stub://echo")])
    for route in ("health", "quota", "templates"):
        assert client.get(f"/api/providers/{route}?id=echo").status_code == 401
        authed = client.get(f"/api/providers/{route}?id=echo", headers={"Authorization": "Bearer t0k"})
        assert authed.status_code == 200
