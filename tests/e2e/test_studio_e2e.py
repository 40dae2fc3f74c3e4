"""The ComfyVN Studio's own call sequence against the real service (issue 16, §16), with the registry file read
from disk after every step; an import killed with SIGKILL leaves every entry or none."""

from __future__ import annotations

import contextlib
import json
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from ._harness import (
    CLI_TIMEOUT_S,
    HOST,
    REGISTRY_FILE,
    RunningServer,
    ServerLauncher,
    clean_env,
    poll,
    read_registry,
    registry_ids,
)

pytestmark = pytest.mark.e2e
TOKEN = "studio-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class _Seen(BaseHTTPRequestHandler):
    server: _Provider

    def do_GET(self) -> None:
        self.server.seen.append((self.path, dict(self.headers)))
        body = b'{"status": "ok"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


class _Provider(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__((HOST, 0), _Seen)
        self.seen: list[tuple[str, dict[str, str]]] = []


@pytest.fixture
def lan_node() -> Iterator[_Provider]:
    """A LAN render node that records what a health probe sends it."""
    provider = _Provider()
    thread = threading.Thread(target=provider.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield provider
    provider.shutdown()
    provider.server_close()


def stored(root: Path, provider_id: str) -> dict[str, Any]:
    entry = next(p for p in read_registry(root)["providers"] if p["id"] == provider_id)
    assert isinstance(entry, dict)
    return entry


def answer(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body, dict) and "feature" in body
    return body


def test_the_studio_call_sequence(launcher: ServerLauncher, tmp_path: Path, lan_node: _Provider) -> None:
    root = tmp_path / "studio"
    server = launcher.start(root, args=("--token", TOKEN))
    with httpx.Client(base_url=server.base_url, headers=AUTH, timeout=10, trust_env=False) as api:
        listed = answer(api.get("/api/providers/list"))
        assert listed["providers"] == [] and len(listed["templates"]) == 12
        made = answer(api.post("/api/providers/create", json={"template_id": "runpod",
                                                              "config": {"api_key": "rp-secret"}}))  # fmt: skip
        assert made["provider"]["config"] == {"api_key": "***"}
        on_disk = stored(root, "runpod")
        assert on_disk["meta"]["config"] == {"api_key": "rp-secret"} and on_disk["meta"]["priority"] == 10
        assert stat.S_IMODE((root / REGISTRY_FILE).stat().st_mode) == 0o600
        lan = answer(api.post("/api/providers/register", json={"name": "LAN node", "base_url": lan_node_base(lan_node),
                                                               "config": {"api_token": "lan-secret"}}))  # fmt: skip
        assert lan["provider"]["id"] == "lan-node"
        answer(api.post("/api/providers/activate", json={"id": "runpod", "active": False}))
        assert stored(root, "runpod")["meta"]["active"] is False
        ordered = answer(api.post("/api/providers/order", json={"order": ["lan-node", "runpod"]}))
        assert [p["id"] for p in ordered["providers"]] == ["lan-node", "runpod"]
        assert [stored(root, i)["meta"]["priority"] for i in ("lan-node", "runpod")] == [0, 1]
        probed = answer(api.post("/api/providers/health"))  # every active provider: the LAN node only
        assert [s["provider_id"] for s in probed["results"]] == ["lan-node"] and probed["results"][0]["ok"]
        assert [path for path, _ in lan_node.seen] == ["/health"]
        assert not any(k.lower() == "authorization" or "lan-secret" in v for k, v in lan_node.seen[0][1].items())
        plain = answer(api.get("/api/providers/export"))["export"]
        assert all("api_key" not in p["config"] and "api_token" not in p["config"] for p in plain["providers"])
        full = answer(api.get("/api/providers/export?include_secrets=1"))["export"]  # loopback peer, with token
        assert {p["id"]: p["config"] for p in full["providers"]} == {
            "runpod": {"api_key": "rp-secret"}, "lan-node": {"api_token": "lan-secret"}
        }  # fmt: skip
        assert httpx.get(f"{server.base_url}/api/providers/export?include_secrets=1").status_code == 401
        v1 = answer(api.get("/api/providers"))["providers"]
        assert all(set(p) == {"id", "kind", "base", "meta"} for p in v1)
    fresh = launcher.start(tmp_path / "fresh", args=("--token", TOKEN))
    with httpx.Client(base_url=fresh.base_url, headers=AUTH, timeout=10, trust_env=False) as api:
        answer(api.post("/api/providers/create", json={"template_id": "vast"}))
        imported = answer(api.post("/api/providers/import", json={"providers": full["providers"], "replace": True}))
        assert imported["imported"] == ["runpod", "lan-node"] and imported["skipped"] == []
        assert registry_ids(tmp_path / "fresh") == ["runpod", "lan-node"]
        assert stored(tmp_path / "fresh", "runpod")["meta"]["config"] == {"api_key": "rp-secret"}
        assert stored(tmp_path / "fresh", "runpod")["meta"]["active"] is False
    check = subprocess.run(
        [sys.executable, "-m", "computeadvisor", "check", "--base", server.base_url, "--token", TOKEN],
        capture_output=True, text=True, timeout=CLI_TIMEOUT_S, env=clean_env(), check=False,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr


def lan_node_base(node: _Provider) -> str:
    return f"http://{HOST}:{node.server_address[1]}"


def _import_body(entries: list[dict[str, Any]]) -> bytes:
    return json.dumps({"providers": entries}).encode()


def _half_sent(server: RunningServer, body: bytes) -> socket.socket:
    """An import whose body is only half sent: the server cannot have written anything of it."""
    sock = socket.create_connection((HOST, server.port), timeout=10)
    head = (f"POST /api/providers/import HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()  # fmt: skip
    sock.sendall(head + body[: len(body) // 2])
    return sock


@pytest.mark.parametrize("moment", ["body half sent", "registry being written", "answered"])
def test_an_import_killed_mid_way_leaves_every_entry_or_none(
    launcher: ServerLauncher, tmp_path: Path, moment: str
) -> None:
    root = tmp_path / "killed"
    server = launcher.start(root)
    entries = [{"id": f"node-{n}", "base_url": f"http://10.0.{n // 250}.{n % 250 + 1}:8001",
                "config": {"api_key": f"k{n}"}} for n in range(400)]  # fmt: skip
    every: list[str] = ["before", *(str(e["id"]) for e in entries)]
    with httpx.Client(base_url=server.base_url, timeout=10, trust_env=False) as api:
        answer(api.post("/api/providers/register", json={"id": "before", "base_url": "stub://b"}))
        if moment == "body half sent":
            with _half_sent(server, _import_body(entries)):
                server.kill_hard()
            expected = [["before"]]
        elif moment == "answered":
            answer(api.post("/api/providers/import", json={"providers": entries}))
            server.kill_hard()
            expected = [every]  # a 2xx write survives kill -9
        else:
            answered = threading.Event()

            def send() -> None:
                with contextlib.suppress(httpx.HTTPError):  # the server may die under it
                    api.post("/api/providers/import", json={"providers": entries})
                answered.set()

            sender = threading.Thread(target=send)
            sender.start()
            temp = root / REGISTRY_FILE.parent
            # Kill as soon as the new registry's temp file is there (or, if the write was quicker, once answered).
            poll(lambda: answered.is_set() or any(temp.glob(".compute_providers.json.*.tmp")), bool, timeout_s=30,
                 interval_s=0)  # fmt: skip
            server.kill_hard()
            sender.join(timeout=30)
            expected = [["before"], every]
    restarted = launcher.start(root)
    ids = registry_ids(root)
    assert ids in expected, len(ids)
    print(f"killed ({moment}): {len(ids) - 1} of {len(entries)} entries stored")
    with httpx.Client(base_url=restarted.base_url, timeout=10, trust_env=False) as api:
        assert len(answer(api.get("/api/providers/list"))["providers"]) == len(ids)
