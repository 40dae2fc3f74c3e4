"""How fast ``computeadvisor worker`` drains a queue (issue 15), next to the raw HTTP claim/complete cycle.

    .venv/bin/python bench/worker.py [--jobs 300] [--rounds 3] [--workers 1 2 4] [--out FILE]

One ``computeadvisor serve`` on a fresh state root. For each N in ``--workers``, round after round (interleaved, so
noise on a shared machine spreads over every figure):

* **raw**: ``--jobs`` jobs are enqueued, then N threads, each with its own httpx client, claim and complete until
  the queue is empty — the floor a worker's own work sits on (no process per job, no heartbeats);
* **worker**: N ``computeadvisor worker -- true`` processes are started and left idle (long-polling), their CPU time
  is read, ``--jobs`` jobs are enqueued with a ``run_at`` a moment ahead, and once all are done the time from the
  first claim to the last completion is read from the jobs' records. Each job spawns ``true``. The workers' own
  CPU (user + system, not their children's) over the drain, divided by the jobs, is the worker's CPU per job.

Reports jobs/s per mode and N (median over the rounds), the worker/raw ratio, and the worker CPU per job.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psutil  # type: ignore[import-untyped]  # no stubs; the module is used as Any

from util import serving

DUE_AHEAD_S = 2.0
POLL_S = 0.02


def enqueue(api: httpx.Client, prefix: str, jobs: int, run_at: float | None = None) -> None:
    for n in range(jobs):
        body: dict[str, Any] = {"id": f"{prefix}-{n}"}
        if run_at is not None:
            body["run_at"] = run_at
        api.post("/api/schedule/enqueue", json=body).raise_for_status()


def completed(api: httpx.Client) -> int:
    return int(api.get("/api/schedule/state", params={"limit": 1}).json()["counts"]["completed"])


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def drain_seconds(api: httpx.Client, prefix: str, jobs: int) -> float:
    """From the first claim to the last completion of the jobs named ``<prefix>-*`` (all among the newest)."""
    finished = api.get("/api/schedule/state", params={"limit": jobs}).json()["completed"]
    batch = [job for job in finished if job["id"].startswith(f"{prefix}-")]
    assert len(batch) == jobs, f"{len(batch)} of {jobs} jobs found"
    return max(_epoch(j["completed_at"]) for j in batch) - min(_epoch(j["started_at"]) for j in batch)


def raw_round(base: str, api: httpx.Client, prefix: str, jobs: int, clients: int) -> float:
    """Jobs/s of ``clients`` threads claiming and completing ``jobs`` queued jobs."""
    enqueue(api, prefix, jobs)

    def drain() -> None:
        with httpx.Client(base_url=base, timeout=30) as own:
            while True:
                answer = own.post("/api/schedule/claim", json={"worker_id": "raw", "device_id": "cpu"}).json()
                if answer["job"] is None:
                    return
                body = {"job_id": answer["job"]["id"], "lease_token": answer["lease"]["token"], "duration_sec": 0.01}
                own.post("/api/schedule/complete", json=body).raise_for_status()

    threads = [threading.Thread(target=drain) for _ in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return jobs / (time.monotonic() - started)


def worker_round(base: str, api: httpx.Client, prefix: str, jobs: int, count: int) -> tuple[float, float]:
    """(jobs/s, worker CPU ms per job) of ``count`` worker processes draining ``jobs`` jobs that fall due together."""
    command = [sys.executable, "-m", "computeadvisor", "worker", "--base", base, "--device-id", "cpu", "--", "true"]
    workers = [subprocess.Popen(command, stderr=subprocess.DEVNULL) for _ in range(count)]
    try:
        time.sleep(DUE_AHEAD_S)  # imports done, each worker idle in a long-poll claim
        before = sum(sum(psutil.Process(w.pid).cpu_times()[:2]) for w in workers)
        done = completed(api)
        due = time.time() + DUE_AHEAD_S
        enqueue(api, prefix, jobs, run_at=due)
        while completed(api) < done + jobs:
            time.sleep(POLL_S)
        after = sum(sum(psutil.Process(w.pid).cpu_times()[:2]) for w in workers)
        seconds = drain_seconds(api, prefix, jobs)
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait(timeout=60)
    return jobs / seconds, (after - before) / jobs * 1000


def run(jobs: int, rounds: int, counts: list[int]) -> dict[str, Any]:
    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as root, serving(root) as base, httpx.Client(base_url=base, timeout=30) as api:
        for r in range(rounds):
            for n in counts:
                results.setdefault(f"raw-{n}", []).append(raw_round(base, api, f"raw{r}-{n}", jobs, n))
                rate, cpu = worker_round(base, api, f"worker{r}-{n}", jobs, n)
                results.setdefault(f"worker-{n}", []).append(rate)
                results.setdefault(f"cpu-{n}", []).append(cpu)
                print(f"round {r + 1}: N={n} raw {results[f'raw-{n}'][-1]:.1f}/s, worker {rate:.1f}/s, "
                      f"{cpu:.2f} ms CPU/job", file=sys.stderr, flush=True)  # fmt: skip
    table = {}
    for n in counts:
        raw, worker = statistics.median(results[f"raw-{n}"]), statistics.median(results[f"worker-{n}"])
        table[str(n)] = {
            "raw_jobs_per_s": round(raw, 1),
            "worker_jobs_per_s": round(worker, 1),
            "worker_vs_raw": round(worker / raw, 2),
            "worker_cpu_ms_per_job": round(statistics.median(results[f"cpu-{n}"]), 2),
        }
    return {"jobs": jobs, "rounds": rounds, "by_workers": table, "samples": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    report = run(args.jobs, args.rounds, args.workers)
    text = json.dumps(report["by_workers"], indent=2)
    print(text)
    if args.out:
        args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
