"""The ``Worker`` loop with Python handlers, and the ComfyUI executor against a ComfyUI double (§15)."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from computeadvisor.client import (
    Client,
    Handler,
    JobContext,
    JobFailed,
    Outcome,
    Worker,
    WorkerOptions,
    comfyui_handler,
)

from ._comfyui_double import ComfyUiDouble, workflow
from ._harness import RunningServer
from ._workers import WorkerLauncher

pytestmark = pytest.mark.e2e


@pytest.fixture
def client(server: RunningServer) -> Iterator[Client]:
    with Client(server.base_url) as client:
        yield client


def drain(client: Client, handler: Handler, jobs: int, **options: Any) -> Worker:
    """Run a worker until it has taken ``jobs`` jobs and finished them."""
    worker = Worker(client, handler, WorkerOptions(max_jobs=jobs, wait_seconds=1, **options))
    worker.run()
    return worker


def test_a_python_handler_completes_and_fails_jobs(client: Client) -> None:
    for job_id in ("ok-1", "ok-2", "refused", "buggy"):
        client.enqueue(id=job_id, payload={"frames": 3})
    seen: list[str] = []

    def handler(ctx: JobContext) -> Outcome:
        seen.append(ctx.job.id)
        if ctx.job.id == "refused":
            raise JobFailed("no model for this")
        if ctx.job.id == "buggy":
            raise ValueError("bad frame")
        return Outcome(bytes_rx=ctx.job.payload["frames"] * 1000)

    worker = drain(client, handler, 4, concurrency=2)
    assert sorted(seen) == ["buggy", "ok-1", "ok-2", "refused"]
    assert (worker.report.succeeded, worker.report.failed) == (2, 2)
    assert client.job("ok-1").job.bytes_rx == 3000
    assert client.job("refused").job.error == "no model for this"
    assert client.job("buggy").job.error == "ValueError: bad frame"


def test_a_handler_holding_the_gil_does_not_starve_its_heartbeats(client: Client) -> None:
    client.enqueue(id="gil-bound")

    def spin(ctx: JobContext) -> Outcome:
        end = time.monotonic() + 4
        while time.monotonic() < end:  # pure Python: the heartbeat thread only runs when the GIL switches
            pass
        return Outcome()

    assert sys.getswitchinterval() < 1
    drain(client, spin, 1, lease_seconds=3)
    job = client.job("gil-bound").job
    assert job.status == "succeeded" and job.attempt == 1  # a 3 s lease, 4 s of work, never expired


def test_stop_lets_the_running_job_finish_and_claims_no_more(client: Client) -> None:
    client.enqueue(id="current")
    client.enqueue(id="next")
    started, released = threading.Event(), threading.Event()

    def held(ctx: JobContext) -> Outcome:
        started.set()
        assert released.wait(30)  # the job is still running when the stop comes
        return Outcome()

    worker = Worker(client, held, WorkerOptions(wait_seconds=1))
    runner = threading.Thread(target=worker.run)
    runner.start()
    assert started.wait(30)
    worker.stop()
    released.set()
    runner.join(30)
    assert not runner.is_alive()
    assert client.job("current").job.status == "succeeded"
    assert client.job("next").job.status == "queued"


def test_comfyui_jobs_post_their_workflow_and_report_the_outputs(client: Client) -> None:
    with ComfyUiDouble() as comfy:
        client.enqueue(id="render-1", payload={"workflow": workflow(prefix="hero")})
        client.enqueue(id="bad-ckpt", payload={"workflow": workflow(ckpt="missing.safetensors")})
        client.enqueue(id="oom", payload={"workflow": workflow(seed=13)})
        client.enqueue(id="no-workflow", payload={"width": 512})
        outputs: list[tuple[str, ...]] = []
        handler = comfyui_handler(comfy.url, client_id="test-farm", poll_s=0.05)

        def recording(ctx: JobContext) -> Outcome | None:
            outcome = handler(ctx)
            outputs.append(outcome.outputs if outcome else ())
            return outcome

        worker = drain(client, recording, 4)
    assert (worker.report.succeeded, worker.report.failed) == (1, 3)
    assert outputs == [("hero_00001_.png",)]
    assert [p["client_id"] for p in comfy.prompts] == ["test-farm", "test-farm"]  # the invalid one was refused
    assert comfy.prompts[0]["prompt"] == workflow(prefix="hero")
    assert client.job("render-1").job.status == "succeeded"
    assert client.job("render-1").job.runs[-1].outputs == ("hero_00001_.png",)
    bad = client.job("bad-ckpt").job.error or ""
    assert bad.startswith("ComfyUI refused the workflow: Prompt outputs failed validation")
    assert "node 4 (CheckpointLoaderSimple): Value not in list" in bad
    oom = client.job("oom").job.error
    assert oom == "ComfyUI failed at node 3 (KSampler): torch.OutOfMemoryError: Allocation on device"
    assert "payload.workflow" in (client.job("no-workflow").job.error or "")


def test_a_comfyui_that_disappears_mid_job_fails_the_job(client: Client) -> None:
    comfy = ComfyUiDouble(polls_to_finish=10_000, vanish_after_polls=3).__enter__()
    client.enqueue(id="abandoned", payload={"workflow": workflow()})
    drain(client, comfyui_handler(comfy.url, poll_s=0.05, unreachable_s=1.0), 1)
    assert len(comfy.prompts) == 1  # it was accepted, then the server went away
    error = client.job("abandoned").job.error or ""
    assert client.job("abandoned").job.status == "failed"
    assert error.startswith(f"ComfyUI at {comfy.url} stopped answering while running prompt ")


def test_the_worker_command_runs_comfyui_jobs(server: RunningServer, client: Client, farm: WorkerLauncher) -> None:
    with ComfyUiDouble() as comfy:
        client.enqueue(id="cli-render", payload={"workflow": workflow(prefix="cli")})
        worker = farm.start(server.base_url, "--executor", "comfyui", "--comfyui-url", comfy.url, "--max-jobs", "1")
        assert worker.wait() == 0, worker.log_text()
    assert client.job("cli-render").job.status == "succeeded"
    assert "outputs: cli_00001_.png" in worker.log_text()
    assert comfy.prompts[0]["client_id"].startswith("computeadvisor-")


def test_the_worker_command_refuses_a_comfyui_executor_without_its_url(
    server: RunningServer, farm: WorkerLauncher
) -> None:
    process = farm.start(server.base_url, "--executor", "comfyui")
    assert process.wait() == 2
    assert "--executor comfyui needs --comfyui-url" in process.log_text()
