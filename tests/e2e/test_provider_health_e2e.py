"""End to end (issue 5): provider health probes against a real HTTP server, and how they steer the advisor.

The "provider" is a tiny ``http.server`` in a thread on 127.0.0.1 whose ``GET /health`` can be switched from 200 to
503. The compute flag is on (``comfyvn.json``), so the advisor may answer ``remote``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ._harness import HOST, RunningServer, ServerLauncher, json_body, write_json

pytestmark = pytest.mark.e2e

ADVISE_REAL: dict[str, Any] = {
    "job": {"width": 4096, "height": 4096, "provider_id": "real"},
    "allow_remote": True,
    "context": {"has_gpu": True},
}


class _HealthHandler(BaseHTTPRequestHandler):
    server: _FakeProvider

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        status = self.server.status
        body = json.dumps({"status": "ok" if status < 500 else "down"}).encode()
        self.send_response(status if self.path == "/health" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: no access log on stderr."""


class _FakeProvider(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__((HOST, 0), _HealthHandler)
        self.status = 200
        self.requests: list[str] = []

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}"


@pytest.fixture
def fake_provider() -> Iterator[_FakeProvider]:
    provider = _FakeProvider()
    thread = threading.Thread(target=provider.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        provider.shutdown()
        provider.server_close()
        thread.join(timeout=5)


@pytest.fixture
def flag_on_server(launcher: ServerLauncher, state_root: Path) -> RunningServer:
    write_json(state_root / "comfyvn.json", {"features": {"enable_compute": True}})
    return launcher.start(state_root)


def test_health_probes_decide_whether_remote_is_available(
    flag_on_server: RunningServer, fake_provider: _FakeProvider
) -> None:
    with flag_on_server.client() as http:
        stub = {"id": "stubby", "kind": "remote", "base": "stub://x"}
        real = {"id": "real", "kind": "runpod", "base": fake_provider.base}
        for record in (stub, real):
            assert json_body(http.post("/api/providers", json=record))["provider"] == {**record, "meta": {}}

        health = json_body(http.get("/api/providers/health"))
        assert health["ok"] is True
        assert health["feature"] == {"feature": "enable_compute", "enabled": True}
        stub_status, real_status = health["results"]
        assert stub_status["provider_id"] == "stubby"
        assert stub_status["ok"] is True
        assert stub_status["echo"] is True
        assert stub_status["provider_name"] is None
        assert real_status["provider_id"] == "real"
        assert real_status["ok"] is True
        assert real_status["status_code"] == 200
        assert real_status["payload"] == {"status": "ok"}
        assert isinstance(real_status["latency_ms"], int)
        assert fake_provider.requests == ["/health"]

        assert json_body(http.delete("/api/providers/stubby"))["ok"] is True
        advice = json_body(http.post("/api/compute/advise", json=ADVISE_REAL))
        assert (advice["decision"], advice["target"], advice["device"]) == ("remote", "remote", "remote:real"), advice
        assert advice["reason"] == "large render; remote GPU suggested"
        assert advice["context"]["remote_available"] is True
        assert advice["remote_allowed"] is True

        fake_provider.status = 503
        one = json_body(http.get("/api/providers/health", params={"id": "real"}))
        assert one["ok"] is False
        assert one["status"]["ok"] is False
        assert one["status"]["status_code"] == 503
        assert one["status"]["provider_id"] == "real"
        assert fake_provider.requests == ["/health", "/health"]

        advice = json_body(http.post("/api/compute/advise", json=ADVISE_REAL))
        assert advice["context"]["remote_available"] is False
        assert advice["remote_allowed"] is False
        assert (advice["decision"], advice["target"]) == ("gpu", "gpu"), advice
        assert advice["reason"] == "large job but remote providers unavailable"

        # A healthy probe makes the provider count again.
        fake_provider.status = 200
        assert json_body(http.get("/api/providers/health", params={"id": "real"}))["ok"] is True
        advice = json_body(http.post("/api/compute/advise", json=ADVISE_REAL))
        assert (advice["decision"], advice["device"]) == ("remote", "remote:real"), advice


def test_health_probe_never_connects_to_the_metadata_address(flag_on_server: RunningServer) -> None:
    with flag_on_server.client() as http:
        record = {"id": "metadata", "kind": "runpod", "base": "http://169.254.169.254"}
        json_body(http.post("/api/providers", json=record))
        large = {**ADVISE_REAL, "job": {"width": 4096, "height": 4096}}
        never_checked = json_body(http.post("/api/compute/advise", json=large))
        assert never_checked["context"]["remote_available"] is True  # a provider never checked counts
        assert never_checked["device"] == "remote:metadata"
        health = json_body(http.get("/api/providers/health", params={"id": "metadata"}))
        assert health["ok"] is False
        status = health["status"]
        assert status["ok"] is False
        assert status["provider_id"] == "metadata"
        assert "blocked" in status["error"].lower(), status
        assert "status_code" not in status or status["status_code"] is None

        # The failed probe is remembered: the provider no longer counts toward remote_available.
        advice = json_body(http.post("/api/compute/advise", json=large))
        assert advice["context"]["remote_available"] is False
        assert advice["decision"] == "gpu"
