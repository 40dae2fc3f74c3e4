"""End to end (issue 3): the GPU policy shared between a running server and the CLI on the same state root.

The server runs as a real ``computeadvisor serve`` subprocess; the CLI runs as a second process on the same
``--root``. Advise requests override ``has_gpu`` so the GPU rules are reached on any host, with a GPU or without.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.seed_examples import DEFAULT_POLICY

from ._harness import RunningServer, ServerLauncher, json_body, poll, run_cli, write_json

pytestmark = pytest.mark.e2e

SETTINGS_FILE = Path("settings") / "config.json"
MANUAL_CPU = {"mode": "manual", "preferred_id": None, "manual_device": "cpu"}
ADVISE_1024: dict[str, Any] = {"job": {"width": 1024, "height": 1024}, "context": {"has_gpu": True}}
LIGHT_QUEUE = "local GPU available and queue is light"
PIN_SUFFIX = "; GPU policy pins CPU"
UNRELATED: dict[str, Any] = {"gui": {"theme": "dark", "recent": ["a.json", "b.json"]}, "language": "fr"}


def _server_policy(http: httpx.Client) -> Any:
    return json_body(http.get("/api/gpu/policy"))["policy"]


def _advise(http: httpx.Client) -> dict[str, Any]:
    return json_body(http.post("/api/compute/advise", json=ADVISE_1024))


def _settings_document(root: Path) -> Any:
    return json.loads((root / SETTINGS_FILE).read_text(encoding="utf-8"))


def _cli_policy(*args: str) -> Any:
    """Run ``computeadvisor gpu policy ARGS --json`` and return the printed policy."""
    result = run_cli("gpu", "policy", *args, "--json")
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    return json.loads(result.stdout)


def test_policy_changed_by_the_cli_is_seen_by_the_server_and_back(launcher: ServerLauncher, state_root: Path) -> None:
    write_json(state_root / SETTINGS_FILE, {**UNRELATED, "compute": {"other_tool": {"keep": True}}})
    server = launcher.start(state_root)
    root = str(state_root)
    with server.client() as http:
        assert _server_policy(http) == DEFAULT_POLICY
        advice = _advise(http)
        assert (advice["decision"], advice["target"], advice["device"]) == ("gpu", "gpu", "gpu:0"), advice
        assert advice["reason"] == LIGHT_QUEUE

        # A second process changes the policy on the same root; the server sees it on its next request.
        assert _cli_policy("set", "--root", root, "--mode", "manual", "--manual-device", "cpu") == MANUAL_CPU
        assert _server_policy(http) == MANUAL_CPU
        assert json_body(http.get("/api/gpu/list"))["policy"] == MANUAL_CPU
        advice = _advise(http)
        assert (advice["decision"], advice["target"], advice["device"]) == ("cpu", "cpu", "cpu"), advice
        assert advice["reason"] == LIGHT_QUEUE + PIN_SUFFIX
        assert advice["reason"].endswith("; GPU policy pins CPU")

        document = _settings_document(state_root)
        assert {k: document[k] for k in UNRELATED} == UNRELATED
        assert document["compute"]["other_tool"] == {"keep": True}
        assert document["compute"]["gpu_policy"] == MANUAL_CPU

        # The server changes it back; the CLI (reading the root directly) sees that.
        saved = json_body(http.put("/api/gpu/policy", json={"mode": " AUTO ", "preferred_id": "CPU"}))
        expected = {"mode": "auto", "preferred_id": "cpu", "manual_device": "cpu"}
        assert saved["ok"] is True
        assert saved["policy"] == expected
        assert _cli_policy("show", "--root", root) == expected
        assert _server_policy(http) == expected
        advice = _advise(http)
        assert (advice["decision"], advice["device"], advice["reason"]) == ("gpu", "gpu:0", LIGHT_QUEUE), advice

    document = _settings_document(state_root)
    assert {k: document[k] for k in UNRELATED} == UNRELATED
    assert document["compute"]["other_tool"] == {"keep": True}
    assert document["compute"]["gpu_policy"] == expected


def test_corrupt_settings_document_is_left_untouched(launcher: ServerLauncher, state_root: Path) -> None:
    garbage = b"\x00\xff{not json at all\x80\x81 compute: gpu_policy\n\xfe"
    path = state_root / SETTINGS_FILE
    path.parent.mkdir(parents=True)
    path.write_bytes(garbage)
    server = launcher.start(state_root)
    with server.client() as http:
        assert _server_policy(http) == DEFAULT_POLICY
        saved = json_body(http.put("/api/gpu/policy", json=MANUAL_CPU))
        assert saved["ok"] is True
        assert saved["policy"] == MANUAL_CPU
        assert _server_policy(http) == MANUAL_CPU
        assert path.read_bytes() == garbage
        advice = _advise(http)
        assert (advice["decision"], advice["device"]) == ("cpu", "cpu"), advice
        assert advice["reason"].endswith(PIN_SUFFIX)
        assert json_body(http.post("/api/gpu/policy", json={"mode": "sticky"}))["policy"]["mode"] == "sticky"
        assert _server_policy(http)["mode"] == "sticky"
    assert path.read_bytes() == garbage
    assert _cli_policy("show", "--root", str(state_root))["mode"] == "sticky"
    assert path.read_bytes() == garbage


def test_gpu_list_and_the_background_sampler(server: RunningServer) -> None:
    with server.client() as http:
        listing = json_body(http.get("/api/gpu/list"))
        devices = listing["devices"]
        assert devices[0]["id"] == "cpu"
        assert devices[0]["type"] == "cpu"
        assert isinstance(devices[0]["name"], str) and devices[0]["name"]
        assert "metrics" not in listing and "raw_devices" not in listing
        assert listing["policy"] == DEFAULT_POLICY
        assert listing["feature"] == {"feature": "enable_compute", "enabled": False}
        assert "metrics" not in json_body(http.get("/api/gpu/list", params={"debug": "false"}))

        first = json_body(http.get("/api/gpu/list", params={"debug": "1"}))
        metrics = first["metrics"]
        assert "raw_devices" in first
        if metrics["source"] == "nvml":  # a GPU host (the device machine): every GPU listed after the CPU
            assert metrics["gpu_error"] is None
            assert metrics["gpus"] and metrics["first_gpu"] == metrics["gpus"][0]
            assert [d["id"] for d in devices[1:]] == [f"gpu:{g['id']}" for g in metrics["gpus"]]
        else:
            assert metrics["source"] == "none"
            assert isinstance(metrics["gpu_error"], str) and metrics["gpu_error"]
            assert metrics["gpus"] == []
            assert metrics["first_gpu"] is None
            assert len(devices) == 1
        assert isinstance(metrics["timestamp"], str) and metrics["timestamp"]

        # The sampler replaces the snapshot every second (the default interval): wait for the next one, bounded.
        second = poll(
            lambda: json_body(http.get("/api/gpu/list", params={"debug": "1"}))["metrics"],
            lambda sample: sample["timestamp"] != metrics["timestamp"],
            timeout_s=10.0,
        )
        assert datetime.fromisoformat(second["timestamp"]) > datetime.fromisoformat(metrics["timestamp"])
