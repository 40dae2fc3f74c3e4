"""``computeadvisor worker`` against the real service with real commands (§15, issue 15)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from computeadvisor.client import Client
from computeadvisor.domain.jobs import JobStatus

from ._harness import RunningServer, ServerLauncher, free_port, poll
from ._workers import WorkerLauncher, python_command, wait_for_file

pytestmark = pytest.mark.e2e

# Each job appends "<id> <CUDA_VISIBLE_DEVICES> <id read from stdin>" to a log and writes a result file.
RECORDING_JOB = """
import json, os, sys
job = json.load(sys.stdin)
with open(os.environ["RUN_LOG"], "a") as log:
    log.write(f"{os.environ['COMPUTEADVISOR_JOB_ID']} {os.environ.get('CUDA_VISIBLE_DEVICES', '-')} {job['id']}\\n")
with open(os.environ["COMPUTEADVISOR_RESULT"], "w") as result:
    json.dump({"bytes_tx": 100, "bytes_rx": 7, "vram_gb": 2.5, "outputs": [job["id"] + ".png"]}, result)
"""


def job_of(server: RunningServer, job_id: str) -> dict[str, object]:
    with server.client() as http:
        job = http.get(f"/api/schedule/jobs/{job_id}").json()["job"]
    assert isinstance(job, dict)
    return job


def test_every_job_runs_once_with_its_record_environment_and_result(
    server: RunningServer, farm: WorkerLauncher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_log = tmp_path / "runs.log"
    monkeypatch.setenv("RUN_LOG", str(run_log))
    ids = [f"frame-{n}" for n in range(6)]
    with Client(server.base_url) as client:
        for job_id in ids:
            client.enqueue(id=job_id, payload={"width": 512, "height": 512})
    worker = farm.start(server.base_url, "--device-id", "gpu:1", "--concurrency", "2", "--max-jobs", "6",
                        "--worker-id", "farm-1", command=python_command(RECORDING_JOB))  # fmt: skip
    assert worker.wait() == 0, worker.log_text()
    lines = sorted(run_log.read_text().splitlines())
    assert lines == sorted(f"{job_id} 1 {job_id}" for job_id in ids)  # once each; stdin held the job's own record
    for job_id in ids:
        job = job_of(server, job_id)
        assert job["status"] == "succeeded" and job["attempt"] == 1
        assert (job["bytes_tx"], job["bytes_rx"], job["vram_gb"]) == (100, 7, 2.5)
        assert isinstance(job["duration_sec"], float) and job["duration_sec"] > 0
        assert [run["worker_id"] for run in job["runs"]] == ["farm-1"]  # type: ignore[attr-defined]
        assert job["runs"][0]["outputs"] == [f"{job_id}.png"]  # type: ignore[index]
    assert "6 succeeded, 0 failed" in worker.log_text()
    assert "outputs: frame-0.png" in worker.log_text()


def test_a_failing_command_fails_its_job_with_the_status_and_the_end_of_stderr(
    server: RunningServer, farm: WorkerLauncher
) -> None:
    with Client(server.base_url) as client:
        client.enqueue(id="broken")
    noisy = "import sys; sys.stderr.write('x' * 5000 + 'THE END'); sys.exit(3)"
    worker = farm.start(server.base_url, "--max-jobs", "1", command=python_command(noisy))
    assert worker.wait() == 0, worker.log_text()
    job = job_of(server, "broken")
    error = job["error"]
    assert job["status"] == "failed" and isinstance(error, str)
    assert error.startswith("command exited with status 3\n") and error.endswith("THE END")
    assert len(error.encode()) <= 2048 + len("command exited with status 3\n")


def test_a_worker_killed_mid_job_has_its_job_run_again_after_the_lease(
    server: RunningServer, farm: WorkerLauncher, tmp_path: Path
) -> None:
    started = tmp_path / "started"
    with Client(server.base_url) as client:
        client.enqueue(id="orphan")
    slow = f"import os, time; open({str(started)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    first = farm.start(server.base_url, "--lease-seconds", "3", "--worker-id", "doomed", command=python_command(slow))
    command_pid = int(wait_for_file(started))
    first.signal(signal.SIGKILL)
    first.wait()
    os.kill(command_pid, signal.SIGKILL)  # it was in its own session: the worker's death did not take it along
    second = farm.start(server.base_url, "--max-jobs", "1", "--worker-id", "rescuer", command=python_command("pass"))
    assert second.wait() == 0, second.log_text()
    job = job_of(server, "orphan")
    assert job["status"] == "succeeded" and job["attempt"] == 2
    assert [run["worker_id"] for run in job["runs"]] == ["doomed", "rescuer"]  # type: ignore[attr-defined]


def test_sigterm_within_the_grace_lets_the_job_complete(
    server: RunningServer, farm: WorkerLauncher, tmp_path: Path
) -> None:
    started, go = tmp_path / "started", tmp_path / "go"
    with Client(server.base_url) as client:
        client.enqueue(id="finishing")
        client.enqueue(id="never-claimed")
    # The command runs until the test lets it finish, which it does only once the worker has taken the SIGTERM.
    held = (
        f"import os, time\nopen({str(started)!r}, 'w').write('1')\nend = time.monotonic() + 60\n"
        f"while not os.path.exists({str(go)!r}) and time.monotonic() < end: time.sleep(0.01)"
    )
    worker = farm.start(server.base_url, "--grace", "30", command=python_command(held))
    wait_for_file(started)
    worker.signal(signal.SIGTERM)
    assert "SIGTERM: stopping" in poll(worker.log_text, lambda text: "SIGTERM: stopping" in text, timeout_s=30)
    go.write_text("1")
    assert worker.wait() == 0, worker.log_text()
    assert job_of(server, "finishing")["status"] == "succeeded"
    assert job_of(server, "never-claimed")["status"] == "queued"  # no claims after the signal


def test_sigterm_past_the_grace_stops_the_command_and_requeues_its_job(
    server: RunningServer, farm: WorkerLauncher, tmp_path: Path
) -> None:
    started = tmp_path / "started"
    with Client(server.base_url) as client:
        client.enqueue(id="stubborn")
    stubborn = (
        f"import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); open({str(started)!r}, 'w').write('1');"
        " time.sleep(120)"
    )
    worker = farm.start(server.base_url, "--grace", "1", "--kill-after", "1", command=python_command(stubborn))
    wait_for_file(started)
    worker.signal(signal.SIGTERM)
    assert worker.wait() == 0, worker.log_text()
    job = job_of(server, "stubborn")
    assert job["status"] == "queued" and job["attempt"] == 1
    assert "1 requeued" in worker.log_text()


def test_heartbeats_go_out_while_commands_burn_every_core(server: RunningServer, farm: WorkerLauncher) -> None:
    with Client(server.base_url) as client:
        for n in range(2):
            client.enqueue(id=f"busy-{n}")
    burn = "import time\nend = time.monotonic() + 5\nwhile time.monotonic() < end: pass"
    worker = farm.start(server.base_url, "--lease-seconds", "3", "--concurrency", "2", "--max-jobs", "2",
                        command=python_command(burn))  # fmt: skip
    assert worker.wait() == 0, worker.log_text()
    for n in range(2):
        job = job_of(server, f"busy-{n}")
        assert job["status"] == "succeeded" and job["attempt"] == 1, job  # the 3 s lease never ran out in 5 s


def test_a_lost_lease_stops_the_command_and_never_completes(
    server: RunningServer, farm: WorkerLauncher, tmp_path: Path
) -> None:
    started, stopped = tmp_path / "started", tmp_path / "stopped"
    with Client(server.base_url) as client:
        client.enqueue(id="taken-away")
        wait = (
            "import signal, sys, time\n"
            f"signal.signal(signal.SIGTERM, lambda *a: (open({str(stopped)!r}, 'w').write('TERM'), sys.exit(0)))\n"
            f"open({str(started)!r}, 'w').write('1')\n"
            "time.sleep(60)"
        )
        worker = farm.start(server.base_url, "--lease-seconds", "3", "--max-jobs", "1", command=python_command(wait))
        wait_for_file(started)
        client.cancel("taken-away")  # the next heartbeat answers 409
        assert wait_for_file(stopped) == "TERM"
    assert worker.wait() == 0, worker.log_text()
    assert job_of(server, "taken-away")["status"] == "cancelled"  # exit 0 of the stopped command completed nothing
    assert "1 lost their lease" in worker.log_text()


def test_a_worker_waits_for_a_server_that_is_not_there_yet(launcher: ServerLauncher, farm: WorkerLauncher,
                                                           tmp_path: Path) -> None:  # fmt: skip
    port = free_port()
    worker = farm.start(f"http://127.0.0.1:{port}", "--max-jobs", "1", command=python_command("pass"))
    assert "claim failed" in poll(worker.log_text, lambda text: "claim failed" in text, timeout_s=30)
    server = launcher.start(tmp_path / "late", port=port)
    with Client(server.base_url) as client:
        client.enqueue(id="patient")
    assert worker.wait() == 0, worker.log_text()
    assert job_of(server, "patient")["status"] == JobStatus.SUCCEEDED
