"""``computeadvisor queue watch``: the live terminal view, against a real server (§11 stream, issue 13)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from pathlib import Path

import pytest

from computeadvisor.client.sse import SseMessage, parse_sse
from tests.e2e._harness import CLI_TIMEOUT_S, ServerLauncher, clean_env

pytestmark = pytest.mark.e2e


def test_parse_sse_reads_ids_types_multiline_data_and_skips_comments() -> None:
    lines = [
        ": keep-alive", "",
        "id: 7", "event: job", 'data: {"a":', "data: 1}", "",
        "event: reset", 'data: {"oldest": 3}', "",
        "id: x", "data: plain", "",
        "event: empty", "",
    ]  # fmt: skip
    assert list(parse_sse(lines)) == [
        SseMessage(event="job", data='{"a":\n1}', id=7),
        SseMessage(event="reset", data='{"oldest": 3}', id=None),
        SseMessage(event="message", data="plain", id=None),
    ]


def test_watch_shows_job_events_as_they_happen(launcher: ServerLauncher, tmp_path: Path) -> None:
    server = launcher.start(tmp_path / "root")
    command = [sys.executable, "-m", "computeadvisor", "queue", "watch", "--base", server.base_url, "--max-events", "2"]
    watcher = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env())
    deadline = time.monotonic() + CLI_TIMEOUT_S
    enqueued = 0
    with server.client() as api:
        # The watcher hears events from the moment its stream opened: keep making them until it has heard two.
        while watcher.poll() is None and time.monotonic() < deadline:
            assert api.post("/api/schedule/enqueue", json={"id": f"watched-{enqueued}"}).status_code == 200
            enqueued += 1
            with contextlib.suppress(subprocess.TimeoutExpired):
                watcher.wait(timeout=0.1)  # its exit is the condition polled for
    out, err = watcher.communicate(timeout=CLI_TIMEOUT_S)
    assert watcher.returncode == 0, err
    assert "new → queued" in out
    heard = [n for n in range(enqueued) if f"watched-{n}: new → queued" in out]
    assert len(heard) == 2 and heard[1] == heard[0] + 1  # two consecutive events, none skipped
    assert "Queued" in out and f"watched-{heard[0]}" in out


def test_watch_says_so_when_the_server_is_away() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "computeadvisor", "queue", "watch", "--base", "http://127.0.0.1:9", "--max-events", "1"],
        capture_output=True, text=True, timeout=CLI_TIMEOUT_S, env=clean_env(), check=False,
    )  # fmt: skip
    assert done.returncode == 3 and "cannot reach" in done.stderr
