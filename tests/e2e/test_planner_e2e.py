"""The planner on the real service (§10): taught through enqueue/claim/complete, it plans from what it learned,
remembers it across a kill -9, and the CLI prints the ranked table."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e._harness import ServerLauncher, run_cli

pytestmark = pytest.mark.e2e
CPU_SECONDS_PER_UNIT = 3.0  # the hidden true speed: four times faster than the default 12 s/unit


def teach(api: httpx.Client, jobs: int, rng: random.Random) -> None:
    for n in range(jobs):
        units = rng.choice([5, 10, 20, 40])
        enqueued = api.post("/api/schedule/enqueue", json={"id": f"learn-{n}", "payload": {"work_units": units}})
        assert enqueued.status_code == 200, enqueued.text
        claimed = api.post("/api/schedule/claim", json={"device_id": "cpu", "worker_id": "e2e"}).json()
        seconds = units * CPU_SECONDS_PER_UNIT * rng.uniform(0.95, 1.05)
        body = {"job_id": claimed["job"]["id"], "lease_token": claimed["lease"]["token"], "duration_sec": seconds}
        assert api.post("/api/schedule/complete", json=body).status_code == 200


def cpu_of(answer: dict[str, Any]) -> dict[str, Any]:
    candidate: dict[str, Any] = next(c for c in answer["candidates"] if c["device"] == "cpu")
    return candidate


def test_the_service_learns_plans_and_remembers(launcher: ServerLauncher, state_root: Path) -> None:
    server = launcher.start(state_root)
    plan_body = {"job": {"work_units": 10}}
    with server.client() as api:
        before = cpu_of(api.post("/api/compute/plan", json=plan_body).json())
        assert before["basis"]["source"] == "default" and before["run_s"]["p50"] == 120.0
        teach(api, 20, random.Random(7))
        after = cpu_of(api.post("/api/compute/plan", json=plan_body).json())
        assert after["basis"]["source"] == "history" and after["basis"]["samples"] == 20
        assert after["run_s"]["p50"] == pytest.approx(30.0, rel=0.06)  # 10 units at about 3 s each
        model = api.get("/api/compute/model").json()
        (entry,) = model["places"]
        assert entry["place"] == "cpu" and entry["samples"] == 20
        assert entry["accuracy"]["predictions"] == 15  # judged once it had min_samples (5)
        assert entry["accuracy"]["median_abs_error_pct"] < 6 and entry["accuracy"]["p90_coverage"] >= 0.5

    server.kill_hard()  # what a completion taught is durable
    restarted = launcher.start(state_root)
    with restarted.client() as api:
        assert api.get("/api/compute/model").json()["places"] == model["places"]

    table = run_cli("plan", "--base", restarted.base_url, "--width", "2048", "--height", "1152", "--steps", "30")
    assert table.returncode == 0, table.stderr
    assert "Plan (fastest): 67.5 work units" in table.stdout
    assert "history, 20 samples" in table.stdout and "reason:" in table.stdout
    answer = json.loads(run_cli("plan", "--base", restarted.base_url, "--json", "--budget", "0").stdout)
    assert cpu_of(answer)["feasible"] is True  # local places cost nothing
