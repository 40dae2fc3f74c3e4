"""A full disk under the state root: writes answer 507 naming what could not be saved, reads keep working,
nothing acknowledged is lost, and writes work again by themselves once space returns.

The state root is a small tmpfs mounted by the test (root only); where mounting is not permitted the test skips.
"""

from __future__ import annotations

import contextlib
import errno
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ._harness import ServerLauncher, json_body

pytestmark = pytest.mark.e2e

TMPFS_SIZE = "6m"


@pytest.fixture
def small_root(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "small-root"
    root.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0700", "tmpfs", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield root
    finally:
        subprocess.run(["umount", "-l", str(root)], check=False)


def fill(path: Path) -> None:
    """Write ``path`` until the filesystem has no byte left (ENOSPC at every chunk size down to one byte)."""
    with path.open("wb", buffering=0) as handle:
        for chunk in (1 << 20, 1 << 16, 4096, 512, 1):
            block = b"\0" * chunk
            with contextlib.suppress(OSError):
                while True:
                    handle.write(block)


def assert_disk_full(response: httpx.Response, what: str) -> None:
    assert response.status_code == 507, (what, response.status_code, response.text)
    body = response.json()
    assert body["status_code"] == 507
    assert f"{what} could not be saved: the disk is full" in body["detail"], body
    assert body["feature"]["feature"] == "enable_compute"


def test_a_full_disk_is_507_reads_go_on_and_writes_recover(launcher: ServerLauncher, small_root: Path) -> None:
    server = launcher.start(small_root)
    with server.client() as http:
        json_body(http.post("/api/providers", json={"id": "kept", "meta": {"cost_per_minute": 0.1}}))
        json_body(http.post("/api/schedule/enqueue", json={"id": "first"}))
        filler = small_root / "filler"
        fill(filler)
        with pytest.raises(OSError) as full:
            (small_root / "probe").write_bytes(b"x" * 4096)
        assert full.value.errno == errno.ENOSPC

        # SQLite may still reuse free pages of its WAL for a few commits: enqueue until the disk refuses.
        acknowledged = ["first"]
        refused = None
        for n in range(500):
            response = http.post("/api/schedule/enqueue", json={"id": f"job-{n}", "payload": {"pad": "x" * 8000}})
            if response.status_code != 200:
                refused = response
                break
            acknowledged.append(f"job-{n}")
        assert refused is not None, "the scheduler never ran out of space"
        assert_disk_full(refused, "scheduler store")
        assert_disk_full(http.post("/api/schedule/claim", json={}), "scheduler store")
        assert_disk_full(http.post("/api/providers", json={"id": "new", "kind": "runpod"}), "provider registry")
        assert_disk_full(http.put("/api/gpu/policy", json={"mode": "manual", "manual_device": "cpu"}), "GPU policy")

        # Reads keep answering, from what is stored.
        state = json_body(http.get("/api/schedule/state", params={"limit": 1000}))
        assert [job["id"] for job in state["queues"]["local"]] == acknowledged
        assert [p["id"] for p in json_body(http.get("/api/providers"))["providers"]] == ["kept"]
        assert json_body(http.get("/api/gpu/policy"))["policy"]["mode"] == "auto"
        advice = json_body(http.post("/api/compute/advise", json={"job": {"width": 1024, "height": 1024}}))
        assert advice["context"]["local_queue_depth"] == len(acknowledged)

        filler.unlink()  # space returns: no restart, no operator action
        json_body(http.post("/api/schedule/enqueue", json={"id": "after"}))
        assert json_body(http.post("/api/providers", json={"id": "new"}))["ok"] is True
        assert json_body(http.put("/api/gpu/policy", json={"mode": "manual", "manual_device": "cpu"}))["ok"] is True
        claimed = json_body(http.post("/api/schedule/claim", json={}))
        assert claimed["job"]["id"] == "first"

    server.kill_hard()
    restarted = launcher.start(small_root)
    with restarted.client() as http:
        state = json_body(http.get("/api/schedule/state", params={"limit": 1000}))
        queued = [job["id"] for job in state["queues"]["local"]]
        assert queued == [*acknowledged[1:], "after"]
        assert [job["id"] for job in state["active"]] == ["first"]
        assert [p["id"] for p in json_body(http.get("/api/providers"))["providers"]] == ["kept", "new"]
        assert json_body(http.get("/api/gpu/policy"))["policy"]["mode"] == "manual"
