"""GET /metrics (contract §13): the families, their labels, and what moves them."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

from computeadvisor.adapters.memory_jobs import MemoryJobStore
from computeadvisor.domain.hardware import GpuInfo
from computeadvisor.domain.providers import ProviderRecord
from tests.contract._job_support import FakeClock
from tests.http.conftest import RTX_4090, ClientFactory
from tests.http.test_provider_runtime import SwitchableProbe

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
FAMILIES = {
    "computeadvisor_http_requests": "counter",
    "computeadvisor_http_request_duration_seconds": "histogram",
    "computeadvisor_queue_depth": "gauge",
    "computeadvisor_jobs_running": "gauge",
    "computeadvisor_job_transitions": "counter",
    "computeadvisor_job_duration_seconds": "histogram",
    "computeadvisor_lease_expiries": "counter",
    "computeadvisor_provider_up": "gauge",
    "computeadvisor_gpu_utilization_ratio": "gauge",
    "computeadvisor_gpu_memory_used_bytes": "gauge",
    "computeadvisor_gpu_memory_total_bytes": "gauge",
    "computeadvisor_gpu_temperature_celsius": "gauge",
    "computeadvisor_gpu_power_watts": "gauge",
}


def scrape(client: TestClient[Litestar]) -> tuple[str, Samples]:
    """The exposition text and its samples keyed by (name, labels)."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[sample.name, frozenset(sample.labels.items())] = sample.value
    return response.text, samples


def value(samples: Samples, metric: str, /, **labels: str) -> float | None:
    return samples.get((metric, frozenset(labels.items())))


def post(client: TestClient[Litestar], route: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"/api/schedule/{route}", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_every_family_has_its_type_and_no_created_series(make_client: ClientFactory) -> None:
    client = make_client(gpus=[RTX_4090])
    client.get("/api/gpu/list")
    text, _ = scrape(client)
    families = {family.name: family.type for family in text_string_to_metric_families(text)}
    assert {name: families.get(name) for name in FAMILIES} == FAMILIES
    assert "_created" not in text


def test_job_transitions_durations_and_queue_gauges(make_client: ClientFactory) -> None:
    client = make_client()
    for job_id in ("a", "b", "c", "d"):
        post(client, "enqueue", {"id": job_id, "name": job_id})
    post(client, "enqueue", {"id": "a", "name": "a"})  # the same job again: no transition
    post(client, "enqueue", {"id": "r", "name": "r", "queue": "remote"})
    token_a = post(client, "claim", {"device_id": "gpu:0"})["lease"]["token"]
    token_b = post(client, "claim", {"device_id": "cpu"})["lease"]["token"]
    post(client, "claim", {})
    post(client, "complete", {"job_id": "a", "lease_token": token_a, "duration_sec": 12.5})
    post(client, "fail", {"job_id": "b", "lease_token": token_b, "error": "oom"})
    post(client, "cancel", {"job_id": "d"})
    post(client, "requeue", {"job_id": "r"})  # already queued: unchanged, no transition
    _, samples = scrape(client)
    transitions = "computeadvisor_job_transitions_total"
    assert value(samples, transitions, queue="local", to="queued") == 4
    assert value(samples, transitions, queue="remote", to="queued") == 1
    assert value(samples, transitions, queue="local", to="running") == 3
    assert value(samples, transitions, queue="local", to="succeeded") == 1
    assert value(samples, transitions, queue="local", to="failed") == 1
    assert value(samples, transitions, queue="local", to="cancelled") == 1
    # Queue gauges come from the store: c is running, r is queued on remote.
    assert value(samples, "computeadvisor_queue_depth", queue="local") == 0
    assert value(samples, "computeadvisor_queue_depth", queue="remote") == 1
    assert value(samples, "computeadvisor_jobs_running", queue="local") == 1
    assert value(samples, "computeadvisor_jobs_running", queue="remote") == 0
    # The succeeded job is observed at its place, with its reported duration.
    seconds = "computeadvisor_job_duration_seconds"
    assert value(samples, f"{seconds}_count", queue="local", place="gpu:0") == 1
    assert value(samples, f"{seconds}_sum", queue="local", place="gpu:0") == 12.5
    assert value(samples, f"{seconds}_bucket", queue="local", place="gpu:0", le="15.0") == 1
    assert value(samples, f"{seconds}_bucket", queue="local", place="gpu:0", le="5.0") == 0


def test_lease_expiries_by_outcome(make_client: ClientFactory) -> None:
    clock = FakeClock(1_760_000_000.0)
    client = make_client(jobs=MemoryJobStore(clock=clock))
    post(client, "enqueue", {"id": "lease", "name": "lease"})
    for _ in range(3):  # the default attempt cap is 3: two requeues, then a failure
        assert post(client, "claim", {"lease_seconds": 1})["job"]["id"] == "lease"
        clock.advance(2)
        scrape(client)  # a scrape processes expired leases first, like every scheduler read
    _, samples = scrape(client)
    assert value(samples, "computeadvisor_lease_expiries_total", queue="local", outcome="requeued") == 2
    assert value(samples, "computeadvisor_lease_expiries_total", queue="local", outcome="failed") == 1
    assert value(samples, "computeadvisor_job_transitions_total", queue="local", to="queued") == 3
    assert value(samples, "computeadvisor_jobs_running", queue="local") == 0


def test_requests_are_labelled_by_route_template_never_by_raw_path(make_client: ClientFactory) -> None:
    client = make_client(token="s3cret-token")
    headers = {"Authorization": "Bearer s3cret-token"}
    client.delete("/api/providers/private-provider-name", headers=headers)
    client.get("/no/such/path-abc")
    client.put("/api/gpu/list")
    client.get("/api/gpu/list")
    text, samples = scrape(client)
    requests = "computeadvisor_http_requests_total"
    assert value(samples, requests, route="/api/providers/{provider_id}", method="DELETE", status="404") == 1
    assert value(samples, requests, route="(unmatched)", method="GET", status="404") == 1
    assert value(samples, requests, route="(unmatched)", method="PUT", status="405") == 1
    assert value(samples, requests, route="/api/gpu/list", method="GET", status="200") == 1
    count = value(samples, "computeadvisor_http_request_duration_seconds_count", route="/api/gpu/list", method="GET")
    assert count == 1
    for secret in ("private-provider-name", "path-abc", "s3cret-token"):
        assert secret not in text


def test_provider_up_follows_the_latest_health_result(make_client: ClientFactory) -> None:
    probe = SwitchableProbe()
    providers = [ProviderRecord(id="rp", kind="runpod"), ProviderRecord(id="never", kind="runpod")]
    client = make_client(providers=providers, health=probe)
    client.get("/api/providers/health?id=rp")
    _, samples = scrape(client)
    assert value(samples, "computeadvisor_provider_up", provider="rp") == 1
    assert value(samples, "computeadvisor_provider_up", provider="never") is None  # never checked: absent
    probe.down.add("rp")
    client.get("/api/providers/health?id=rp")
    assert value(scrape(client)[1], "computeadvisor_provider_up", provider="rp") == 0


def test_gpu_gauges_are_in_base_units_and_skip_missing_readings(make_client: ClientFactory) -> None:
    hot = GpuInfo(id=1, name="RTX A6000", uuid="GPU-abc", util=73, mem_used=2048, mem_total=49140, temp_c=81,
                  power_w=212.5)  # fmt: skip
    client = make_client(gpus=[RTX_4090, hot])
    _, samples = scrape(client)
    a6000 = {"gpu": "gpu:1", "uuid": "GPU-abc", "name": "RTX A6000"}
    assert value(samples, "computeadvisor_gpu_utilization_ratio", **a6000) == 0.73
    assert value(samples, "computeadvisor_gpu_memory_used_bytes", **a6000) == 2048 * 1024 * 1024
    assert value(samples, "computeadvisor_gpu_memory_total_bytes", **a6000) == 49140 * 1024 * 1024
    assert value(samples, "computeadvisor_gpu_temperature_celsius", **a6000) == 81
    assert value(samples, "computeadvisor_gpu_power_watts", **a6000) == 212.5
    rtx = {"gpu": "gpu:0", "uuid": "", "name": RTX_4090.name}
    assert value(samples, "computeadvisor_gpu_memory_used_bytes", **rtx) == 1024 * 1024 * 1024
    assert value(samples, "computeadvisor_gpu_utilization_ratio", **rtx) is None  # the driver gave no reading


def test_metrics_need_no_token(make_client: ClientFactory) -> None:
    client = make_client(token="t0k")
    assert client.get("/metrics").status_code == 200
