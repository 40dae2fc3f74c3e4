"""How well the planner predicts, on a workload whose true speeds the service never sees (contract §10.8).

    .venv/bin/python bench/planner_accuracy.py [--train 20] [--held-out 200] [--seeds 5] [--out FILE]

Starts the real service (``serve`` below: the app of ``computeadvisor serve`` on a fresh state root, uvicorn on
127.0.0.1, real SQLite and registry files) with one simulated GPU, ``gpu:0``, in place of NVML, so that every kind
of place is a candidate on any machine. Hidden true speeds, seconds per work unit: cpu 9, gpu:0 0.35, remote:fast
0.2 after a 20 s start (its declared ``startup_s``), remote:cheap 0.6. Each run takes the true time times log-normal
noise (σ = 0.25); job sizes are log-uniform over 2-200 work units (two orders of magnitude).

1. Training: ``--train`` jobs per place go through enqueue (size in ``payload``), claim (``device_id`` locally, the
   provider's queue remotely) and complete (the simulated ``duration_sec``): the service learns from these alone.
2. Held out: ``--held-out`` new jobs are planned (``objective: fastest``, remote allowed) and advised (§3). Reported:
   the median absolute error of each place's ``run_s.p50`` against the true median run time; the share of simulated
   run times at or under the predicted ``run_s.p90``; and the regret of each recommendation, its true median ETA over
   the best place's, minus 1, for the planner and for the advisor's decision mapped to its device.

Each of ``--seeds`` runs starts a fresh service on a new workload; the report gives each run and the medians.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

TRUE_SECONDS_PER_UNIT = {"cpu": 9.0, "gpu:0": 0.35, "remote:fast": 0.2, "remote:cheap": 0.6}
STARTUP_S = {"remote:fast": 20.0}
SIGMA = 0.25
PROVIDERS = [
    {"id": "fast", "kind": "runpod", "base": "https://fast.example", "meta": {"cost_per_minute": 0.1, "startup_s": 20}},
    {"id": "cheap", "kind": "custom", "base": "https://cheap.example", "meta": {"cost_per_minute": 0.01}},
]


def serve(root: str, port: int) -> None:
    """The service on ``root`` with one simulated GPU (24 GiB), as ``computeadvisor serve`` builds it otherwise."""
    import msgspec
    import uvicorn

    from computeadvisor.adapters.memory import StaticMetrics
    from computeadvisor.app.asgi import create_app
    from computeadvisor.app.bootstrap import build_adapters
    from computeadvisor.config import load_config
    from computeadvisor.domain.hardware import GpuInfo, SystemSample

    config = load_config({"root": root, "port": port})
    gpu = GpuInfo(id=0, name="simulated GPU", mem_total=24576, mem_used=0, mem_free=24576)
    sample = SystemSample(ok=True, gpus=[gpu], first_gpu=gpu, source="nvml", cpu_name="simulated CPU")
    adapters = msgspec.structs.replace(build_adapters(config), metrics=StaticMetrics(sample))
    uvicorn.run(create_app(config, adapters), host="127.0.0.1", port=port, log_level="warning", lifespan="on")


def true_eta(place: str, units: float) -> float:
    return STARTUP_S.get(place, 0.0) + TRUE_SECONDS_PER_UNIT[place] * units


def simulated_run(place: str, units: float, rng: random.Random) -> float:
    return TRUE_SECONDS_PER_UNIT[place] * units * rng.lognormvariate(0.0, SIGMA)


def job_fields(units: float) -> dict[str, float]:
    """A 20-step square image of ``units`` work units, so that the advisor (which reads pixels) sees it too."""
    side = math.sqrt(units / 20 * 1_048_576)
    return {"width": side, "height": side, "steps": 20}


def train(api: httpx.Client, place: str, jobs: int, rng: random.Random) -> None:
    remote = place.startswith("remote:")
    queue = "remote" if remote else "local"
    for _ in range(jobs):
        units = math.exp(rng.uniform(math.log(2), math.log(200)))
        body: dict[str, Any] = {"queue": queue, "payload": {"work_units": units}}
        if remote:
            body["provider_id"] = place.removeprefix("remote:")
        api.post("/api/schedule/enqueue", json=body).raise_for_status()
        claim = {"queue": queue, "worker_id": "bench"} | ({} if remote else {"device_id": place})
        claimed = api.post("/api/schedule/claim", json=claim).json()
        done = {"job_id": claimed["job"]["id"], "lease_token": claimed["lease"]["token"],
                "duration_sec": simulated_run(place, units, rng)}  # fmt: skip
        api.post("/api/schedule/complete", json=done).raise_for_status()


def evaluate(api: httpx.Client, jobs: int, rng: random.Random) -> dict[str, Any]:
    errors: dict[str, list[float]] = {place: [] for place in TRUE_SECONDS_PER_UNIT}
    covered: dict[str, list[bool]] = {place: [] for place in TRUE_SECONDS_PER_UNIT}
    regret: dict[str, list[float]] = {"planner": [], "advisor": []}
    for _ in range(jobs):
        units = math.exp(rng.uniform(math.log(2), math.log(200)))
        fields = job_fields(units)
        answer = api.post("/api/compute/plan", json={"job": fields, "allow_remote": True}).json()
        for candidate in answer["candidates"]:
            place = candidate["device"]
            truth = TRUE_SECONDS_PER_UNIT[place] * units
            errors[place].append(abs(candidate["run_s"]["p50"] - truth) / truth * 100)
            covered[place].append(simulated_run(place, units, rng) <= candidate["run_s"]["p90"])
        best = min(true_eta(place, units) for place in TRUE_SECONDS_PER_UNIT)
        regret["planner"].append(true_eta(answer["recommendation"], units) / best - 1)
        advice = api.post("/api/compute/advise", json={"job": fields, "allow_remote": True}).json()
        regret["advisor"].append(true_eta(advice["device"], units) / best - 1)
    every_error = [e for place in errors.values() for e in place]
    every_cover = [c for place in covered.values() for c in place]
    return {
        "run_p50_median_abs_error_pct": round(statistics.median(every_error), 2),
        "run_p50_median_abs_error_pct_by_place": {p: round(statistics.median(e), 2) for p, e in errors.items()},
        "p90_coverage": round(sum(every_cover) / len(every_cover), 4),
        "p90_coverage_by_place": {p: round(sum(c) / len(c), 4) for p, c in covered.items()},
        "regret_mean": {who: round(statistics.mean(r), 4) for who, r in regret.items()},
        "regret_median": {who: round(statistics.median(r), 4) for who, r in regret.items()},
    }


def run(train_jobs: int, held_out: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as root:
        (Path(root) / "comfyvn.json").write_text('{"features": {"enable_compute": true}}', encoding="utf-8")
        port = _free_port()
        server = subprocess.Popen([sys.executable, __file__, "serve", root, str(port)])
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as api:
                _wait(api, server)
                for provider in PROVIDERS:
                    api.post("/api/providers", json=provider).raise_for_status()
                for place in TRUE_SECONDS_PER_UNIT:
                    train(api, place, train_jobs, rng)
                model = api.get("/api/compute/model").json()
                result = evaluate(api, held_out, rng)
        finally:
            server.terminate()
            server.wait(timeout=10)
    result["model_own_record"] = {e["place"]: e["accuracy"] for e in model["places"] if e["model"] is None}
    result["settings"] = {"train_per_place": train_jobs, "held_out": held_out, "seed": seed, "sigma": SIGMA}
    return result


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(api: httpx.Client, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("bench: the service exited before answering")
        try:
            if api.get("/api/schedule/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit("bench: the service did not answer within 30 s")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(prog="bench/planner_accuracy.py")
    parser.add_argument("--train", type=int, default=20, help="finished jobs per place before judging")
    parser.add_argument("--held-out", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=5, help="independent runs (fresh service, new workload) ")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    runs = [run(args.train, args.held_out, seed) for seed in range(1, args.seeds + 1)]
    result = {
        "median_over_runs": {
            "run_p50_median_abs_error_pct": statistics.median(r["run_p50_median_abs_error_pct"] for r in runs),
            "p90_coverage": statistics.median(r["p90_coverage"] for r in runs),
            "regret_mean_planner": statistics.median(r["regret_mean"]["planner"] for r in runs),
            "regret_mean_advisor": statistics.median(r["regret_mean"]["advisor"] for r in runs),
        },
        "runs": runs,
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
