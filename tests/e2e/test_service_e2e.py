"""End to end: ``computeadvisor serve`` as a real subprocess, a real state root, real files, real signals."""

from __future__ import annotations

import json
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.seed_examples import (
    FEATURE_OFF,
    FEATURE_ON,
    RUNPOD_DEV,
    SEED_COST_BREAKDOWN,
    SEED_COST_HINTS,
    SEED_COST_INPUTS,
    SEED_COST_JOB,
    SEED_COST_PROVIDER,
)

from ._harness import (
    REGISTRY_FILE,
    RunningServer,
    ServerLauncher,
    json_body,
    read_registry,
    registry_ids,
    write_json,
)

pytestmark = pytest.mark.e2e

SEED_COST_BODY: dict[str, Any] = {"job": SEED_COST_JOB, "debug": True}
SEED_ADVISE_BODY: dict[str, Any] = {
    "job": {"width": 2048, "height": 1152, "priority": 3},
    "allow_remote": True,
    "debug": True,
}
ADVISORY_NOTE = "Advisory estimate only; no billing occurs through ComfyVN."
FLAG_OFF_NOTE = "Remote execution disabled by feature flag; treat estimate as informational."
THRESHOLDS = {
    "tiny_pixels": 262144,
    "large_pixels": 16777216,
    "queue_remote_soft": 3,
    "queue_cpu_saturation": 5,
    "vram_slack_gb": 0.5,
    "remote_queue_saturation": 8,
}


def _feature(http: httpx.Client) -> Any:
    return json_body(http.get("/api/providers"))["feature"]


def _listed_ids(http: httpx.Client) -> list[str]:
    return [str(p["id"]) for p in json_body(http.get("/api/providers"))["providers"]]


def _copies_of(root: Path, content: bytes) -> list[Path]:
    """Files in config/, other than the registry itself, holding exactly ``content``: where a corrupt file went."""
    registry = root / REGISTRY_FILE
    return sorted(p for p in (root / "config").iterdir() if p != registry and p.is_file() and p.read_bytes() == content)


# -- 1. The seed's user flow ----------------------------------------------------------------------------------


def test_seed_user_flow_register_price_advise_delete(server: RunningServer) -> None:
    root = server.root
    with server.client() as http:
        listing = json_body(http.get("/api/providers"))
        assert listing == {"providers": [], "health": {}, "feature": FEATURE_OFF}

        saved = json_body(http.post("/api/providers", json=RUNPOD_DEV))
        assert saved == {"ok": True, "provider": RUNPOD_DEV, "feature": FEATURE_OFF}

        # On disk: valid JSON, exactly that record, indent 2, mode 0600.
        path = root / REGISTRY_FILE
        text = path.read_bytes().decode("utf-8")
        stored = json.loads(text)
        assert stored == {"providers": [RUNPOD_DEV]}
        assert text.rstrip("\n") == json.dumps(stored, indent=2, ensure_ascii=False)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600

        listing = json_body(http.get("/api/providers", params={"debug": "1"}))
        assert listing["providers"] == [RUNPOD_DEV]
        assert listing["stats"] == {
            "total": 1,
            "by_kind": {"runpod": 1},
            "storage_path": "config/compute_providers.json",
            "persisted": True,
        }
        assert listing["feature"] == FEATURE_OFF

        # The seed's cost example (contract §4.9 A, flag off).
        body = json_body(http.post("/api/compute/costs", json=SEED_COST_BODY))
        assert body["feature"] == FEATURE_OFF
        estimate = body["estimate"]
        assert estimate["estimate"] == 0.7076
        assert estimate["currency"] == "USD"
        assert estimate["breakdown"] == SEED_COST_BREAKDOWN
        assert all(isinstance(v, float) for v in estimate["breakdown"].values())
        assert estimate["provider"] == SEED_COST_PROVIDER
        assert estimate["hints"] == SEED_COST_HINTS
        assert estimate["notes"] == [ADVISORY_NOTE, FLAG_OFF_NOTE]
        assert estimate["inputs"] == SEED_COST_INPUTS
        assert body["debug"]["providers"] == [RUNPOD_DEV]
        assert body["debug"]["registry"]["total"] == 1

        # The seed's advise example on a host the server sees as GPU-less (contract §3.9, second row).
        body = json_body(http.post("/api/compute/advise", json=SEED_ADVISE_BODY))
        assert body["feature"] == FEATURE_OFF
        debug = body["debug"]
        if debug["metrics"]["gpus"]:
            # A GPU host: rule 8 (2048x1152 is neither tiny nor large; nothing queued).
            assert (body["decision"], body["target"]) == ("gpu", "gpu")
            assert body["device"].startswith("gpu:")
            assert body["reason"] == "local GPU available and queue is light"
            assert body["context"]["has_gpu"] is True
        else:
            assert (body["decision"], body["target"], body["device"]) == ("cpu", "cpu", "cpu")
            assert body["reason"] == "no GPU detected on this host"
            assert body["context"] == {
                "has_gpu": False,
                "local_queue_depth": 0,
                "remote_available": False,
                "remote_queue_depth": 0,
                "local_vram_gb": 0.0,
            }
        assert list(body["context"]) == [
            "has_gpu",
            "local_queue_depth",
            "remote_available",
            "remote_queue_depth",
            "local_vram_gb",
        ]
        assert body["remote_allowed"] is False
        assert set(debug) >= {"advisor", "metrics", "registry", "scheduler", "allow_remote", "policy"}
        assert debug["advisor"]["thresholds"] == THRESHOLDS
        assert debug["advisor"]["job"] == {
            "priority": 3,
            "sticky": False,
            "preferred_device": None,
            "pixels": 2359296,
            "vram_requested_gb": None,
            "payload_keys": ["height", "priority", "width"],
        }
        assert debug["scheduler"] == {
            "queues": {"local": 0, "remote": 0},
            "active": 0,
            "completed": 0,
            "scheduled": {"local": 0, "remote": 0},
        }
        assert debug["allow_remote"] is False
        assert debug["registry"]["total"] == 1

        # Delete: gone from the listing and from the file; an unknown id is a 404 that still carries the flag.
        assert json_body(http.delete("/api/providers/runpod-dev")) == {"ok": True, "feature": FEATURE_OFF}
        assert read_registry(root) == {"providers": []}
        assert json_body(http.get("/api/providers")) == {"providers": [], "health": {}, "feature": FEATURE_OFF}
        missing = json_body(http.delete("/api/providers/runpod-dev"), status=404)
        assert missing["detail"] == "provider not found"
        assert missing["feature"] == FEATURE_OFF


# -- 2. The flag is read live ---------------------------------------------------------------------------------


def test_feature_flag_is_read_on_every_request(server: RunningServer) -> None:
    root = server.root
    with server.client() as http:
        assert _feature(http) == FEATURE_OFF

        write_json(root / "comfyvn.json", {"features": {"enable_compute": True}})
        assert _feature(http) == FEATURE_ON
        advise = json_body(http.post("/api/compute/advise", json={}))
        assert advise["feature"] == FEATURE_ON
        cost = json_body(http.post("/api/compute/costs", json={"job": {"queue": "remote", "duration_minutes": 1}}))
        assert cost["feature"] == FEATURE_ON
        assert cost["estimate"]["notes"] == [ADVISORY_NOTE]  # flag on: no flag-off note
        error = json_body(http.post("/api/providers", json={}), status=400)
        assert error["detail"] == "missing provider id"
        assert error["feature"] == FEATURE_ON

        write_json(root / "config" / "comfyvn.json", {"features": {"enable_compute": False}})
        assert _feature(http) == FEATURE_OFF
        cost = json_body(http.post("/api/compute/costs", json={"job": {"queue": "remote", "duration_minutes": 1}}))
        assert cost["estimate"]["notes"] == [ADVISORY_NOTE, FLAG_OFF_NOTE]

        (root / "config" / "comfyvn.json").unlink()
        assert _feature(http) == FEATURE_ON


# -- 3. Seeding at start --------------------------------------------------------------------------------------


def test_seeded_provider_is_added_and_a_deleted_seed_stays_deleted(launcher: ServerLauncher, state_root: Path) -> None:
    seed = {"id": "seeded", "kind": "runpod", "meta": {"cost_per_minute": 0.2}}
    expected = {"id": "seeded", "kind": "runpod", "base": "", "meta": {"cost_per_minute": 0.2}}
    write_json(state_root / "config" / "comfyvn.json", {"features": {"enable_compute": True}, "providers": [seed]})

    first = launcher.start(state_root)
    with first.client() as http:
        assert json_body(http.get("/api/providers")) == {"providers": [expected], "health": {}, "feature": FEATURE_ON}
        assert read_registry(state_root)["providers"] == [expected]

        assert json_body(http.delete("/api/providers/seeded")) == {"ok": True, "feature": FEATURE_ON}
        on_disk = read_registry(state_root)
        assert on_disk["providers"] == []
        assert on_disk["deleted_seeds"] == ["seeded"]
    first.stop()

    second = launcher.start(state_root)
    with second.client() as http:
        assert json_body(http.get("/api/providers")) == {"providers": [], "health": {}, "feature": FEATURE_ON}
        assert read_registry(state_root)["deleted_seeds"] == ["seeded"]

        reposted = json_body(http.post("/api/providers", json=seed))
        assert reposted["provider"] == expected
        assert _listed_ids(http) == ["seeded"]
        on_disk = read_registry(state_root)
        assert on_disk["providers"] == [expected]
        assert "seeded" not in on_disk.get("deleted_seeds", [])


# -- Over the wire: body limit and error bodies through the real server ---------------------------------------


def _chunks(data: bytes) -> Iterator[bytes]:
    """Stream a body in pieces (chunked transfer encoding, no Content-Length)."""
    yield data[: len(data) // 2]
    yield data[len(data) // 2 :]


def test_body_limit_and_error_bodies_over_http(server: RunningServer) -> None:
    def body_of(size: int, field: bytes) -> bytes:
        prefix, suffix = b'{"id":"big","' + field + b'":{"pad":"', b'"}}'
        return prefix + b"a" * (size - len(prefix) - len(suffix)) + suffix

    exactly_1mib, too_big = body_of(1024 * 1024, b"payload"), body_of(1024 * 1024 + 1, b"meta")
    assert len(exactly_1mib) == 1024 * 1024
    with server.client() as http:
        for content in (too_big, _chunks(too_big)):
            error = json_body(http.post("/api/providers", content=content), status=413)
            assert error["status_code"] == 413
            assert error["feature"] == FEATURE_OFF
        assert _listed_ids(http) == []
        # A body of exactly the limit is read; a provider's meta has its own, smaller limit (64 KiB).
        assert json_body(http.post("/api/schedule/enqueue", content=exactly_1mib))["job"]["id"] == "big"
        error = json_body(http.post("/api/providers", content=body_of(1024 * 1024, b"meta")), status=400)
        assert error["detail"] == "meta: must be at most 64 KiB as JSON"
        assert _listed_ids(http) == []

        error = json_body(http.post("/api/compute/costs", content=b"{not json"), status=400)
        assert (error["status_code"], error["feature"]) == (400, FEATURE_OFF)
        error = json_body(http.post("/api/compute/advise", content=b"[1, 2]"), status=400)
        assert "object" in error["detail"]
        assert error["feature"] == FEATURE_OFF
        error = json_body(http.get("/api/compute/advise"), status=405)
        assert error["feature"] == FEATURE_OFF


# -- 4. Corrupt registry file at start ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "garbage",
    [
        pytest.param(b"\x00\xff{{ not json at all \xfe", id="not-utf8-json"),
        pytest.param(b'[{"id": "a"}]', id="top-level-array"),
        pytest.param(b'{"providers": "oops"}', id="providers-not-a-list"),
    ],
)
def test_corrupt_registry_is_moved_aside_and_the_server_starts_empty(
    launcher: ServerLauncher, state_root: Path, garbage: bytes
) -> None:
    registry = state_root / REGISTRY_FILE
    registry.parent.mkdir(parents=True)
    registry.write_bytes(garbage)

    server = launcher.start(state_root)
    with server.client() as http:
        assert json_body(http.get("/api/providers")) == {"providers": [], "health": {}, "feature": FEATURE_OFF}

        asides = _copies_of(state_root, garbage)
        assert len(asides) == 1, sorted(p.name for p in registry.parent.iterdir())
        aside = asides[0]
        log = server.log_text()
        assert aside.name in log, log
        assert "compute_providers.json" in log.replace(aside.name, "")

        saved = json_body(http.post("/api/providers", json={"id": "fresh", "kind": "runpod"}))
        assert saved["provider"] == {"id": "fresh", "kind": "runpod", "base": "", "meta": {}}
        assert _listed_ids(http) == ["fresh"]
        assert registry_ids(state_root) == ["fresh"]
        assert _copies_of(state_root, garbage) == [aside]  # never overwritten or deleted


def test_existing_registry_entries_are_loaded_leniently(launcher: ServerLauncher, state_root: Path) -> None:
    legacy = {"id": "a b", "kind": "runpod", "base": "ftp://x", "meta": {"cost_per_minute": "abc"}}
    write_json(state_root / REGISTRY_FILE, {"providers": [legacy, {"kind": "no-id"}, {"id": ""}]})

    server = launcher.start(state_root)
    with server.client() as http:
        assert json_body(http.get("/api/providers"))["providers"] == [legacy]  # not treated as corrupt

        # A stored rate that does not parse counts as missing (§4.3): the remote default 0.05/min applies.
        body = {"job": {"queue": "remote", "provider_id": "a b", "duration_sec": 60}}
        assert json_body(http.post("/api/compute/costs", json=body))["estimate"]["estimate"] == 0.05

        json_body(http.post("/api/providers", json={"id": "new"}))
        assert _listed_ids(http) == ["a b", "new"]
    assert registry_ids(state_root) == ["a b", "new"]


# -- 5. Kill -9 in the middle of a write burst -----------------------------------------------------------------


class _Burst:
    """Threads posting distinct provider ids; each thread records the ids that got a 2xx answer."""

    def __init__(self, base_urls: list[str], threads: int, per_thread: int) -> None:
        self.base_urls = base_urls
        self.per_thread = per_thread
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked: list[str] = []
        self.attempted: list[str] = []
        self.bad_statuses: list[tuple[str, int, str]] = []
        self.transport_errors = 0
        self.threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(threads)]

    def _run(self, n: int) -> None:
        clients = [httpx.Client(base_url=url, timeout=10.0, trust_env=False) for url in self.base_urls]
        try:
            for i in range(self.per_thread):
                if self.stop.is_set():
                    return
                provider_id = f"burst-{n}-{i}"
                http = clients[(n + i) % len(clients)]
                with self.lock:
                    self.attempted.append(provider_id)
                try:
                    response = http.post("/api/providers", json={"id": provider_id, "kind": f"k{n}", "meta": {"i": i}})
                except httpx.TransportError:
                    with self.lock:
                        self.transport_errors += 1
                    time.sleep(0.01)
                    continue
                with self.lock:
                    if 200 <= response.status_code < 300:
                        self.acked.append(provider_id)
                    else:
                        self.bad_statuses.append((provider_id, response.status_code, response.text))
        finally:
            for http in clients:
                http.close()

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def acked_count(self) -> int:
        with self.lock:
            return len(self.acked)

    def running(self) -> bool:
        return any(thread.is_alive() for thread in self.threads)

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        assert not self.running(), "burst threads did not stop"


def test_sigkill_during_a_write_burst_loses_no_acknowledged_provider(
    launcher: ServerLauncher, state_root: Path
) -> None:
    server = launcher.start(state_root)
    burst = _Burst([server.base_url], threads=4, per_thread=50)
    burst.start()
    deadline = time.monotonic() + 15.0
    while burst.acked_count() < 50 and burst.running() and time.monotonic() < deadline:
        time.sleep(0.002)
    assert burst.acked_count() >= 50, (burst.acked_count(), burst.bad_statuses, server.log_text())
    server.kill_hard()
    burst.stop.set()
    burst.join(timeout=15.0)

    acked = set(burst.acked)
    assert burst.bad_statuses == []
    assert len(acked) < 200, "the kill came after the whole burst; nothing was interrupted"

    # The file survived the kill: valid JSON holding every acknowledged provider, nothing we never sent.
    stored = registry_ids(state_root)
    assert len(stored) == len(set(stored))
    assert acked <= set(stored), sorted(acked - set(stored))
    assert set(stored) <= set(burst.attempted)

    restarted = launcher.start(state_root)
    with restarted.client() as http:
        listed = _listed_ids(http)
    assert acked <= set(listed), sorted(acked - set(listed))
    assert listed == stored  # the file after the kill was loaded as is, not moved aside as corrupt


# -- 6. Two processes on one root -----------------------------------------------------------------------------


def test_two_servers_on_one_root_lose_no_writes(launcher: ServerLauncher, state_root: Path) -> None:
    first = launcher.start(state_root)
    second = launcher.start(state_root)
    burst = _Burst([first.base_url, second.base_url], threads=2, per_thread=50)
    burst.start()
    burst.join(timeout=30.0)

    assert burst.bad_statuses == []
    assert burst.transport_errors == 0
    expected = {f"burst-{n}-{i}" for n in range(2) for i in range(50)}
    assert set(burst.acked) == expected

    stored = registry_ids(state_root)
    assert len(stored) == 100
    assert set(stored) == expected
    for server in (first, second):
        with server.client() as http:
            assert _listed_ids(http) == stored

    # A delete through one server is seen by the other on its next request.
    with first.client() as http:
        assert json_body(http.delete("/api/providers/burst-0-0"))["ok"] is True
    with second.client() as http:
        assert "burst-0-0" not in _listed_ids(http)
        assert len(_listed_ids(http)) == 99
        json_body(http.delete("/api/providers/burst-1-0"))
    with first.client() as http:
        assert len(_listed_ids(http)) == 98
    assert len(registry_ids(state_root)) == 98
