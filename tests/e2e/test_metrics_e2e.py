"""GET /metrics from the service process (§13): valid for promtool, and queue gauges right after a kill -9."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests._required import required_tool
from tests.e2e._harness import CLI_TIMEOUT_S, ServerLauncher

pytestmark = pytest.mark.e2e


def gauges(text: str, name: str) -> dict[str, float]:
    """One family's samples by their ``queue`` label."""
    return {
        sample.labels["queue"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


def test_metrics_pass_promtool_and_gauges_survive_a_restart(launcher: ServerLauncher, state_root: Path) -> None:
    promtool = required_tool("promtool", "Debian package prometheus")
    server = launcher.start(state_root)
    with server.client() as api:
        for n in range(3):
            assert api.post("/api/schedule/enqueue", json={"id": f"j{n}"}).status_code == 200
        assert api.post("/api/schedule/claim", json={"device_id": "cpu"}).json()["job"]["id"] == "j0"
        api.get("/api/providers/no-such-route")
        text = api.get("/metrics").text
    lint = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True,
                          timeout=CLI_TIMEOUT_S, check=False)  # fmt: skip
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert gauges(text, "computeadvisor_queue_depth") == {"local": 2, "remote": 0}
    assert gauges(text, "computeadvisor_jobs_running") == {"local": 1, "remote": 0}
    assert gauges(text, "computeadvisor_job_transitions_total")["local"] > 0

    server.kill_hard()
    server = launcher.start(state_root)
    with server.client() as api:
        text = api.get("/metrics").text
    # Read from the store: the same after the restart; what this process counted starts again from nothing.
    assert gauges(text, "computeadvisor_queue_depth") == {"local": 2, "remote": 0}
    assert gauges(text, "computeadvisor_jobs_running") == {"local": 1, "remote": 0}
    assert gauges(text, "computeadvisor_job_transitions_total") == {}
