"""What a Prometheus scrape of ``/metrics`` costs (issue 13, contract §13), next to the cheapest route.

    .venv/bin/python bench/metrics_scrape.py [--jobs 10000] [--providers 20] [--scrapes 300] [--out FILE]

Seeds a fresh state root with ``--jobs`` finished jobs (bench/seed_history.py), starts ``computeadvisor serve`` on
it, saves ``--providers`` providers and checks their health once (so every one has a ``provider_up`` series), sends
300 mixed requests so the request families have label sets, then times ``--scrapes`` sequential ``GET /metrics``
interleaved with as many ``GET /api/schedule/health`` (the baseline: same server, same connection, same moment).
Reports the median and p99 of each, their ratio, and the exposition's size and series count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from seed_history import seed
from util import serving


def summary(values: list[float]) -> dict[str, float]:
    """Median and p99 in milliseconds."""
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {"p50": round(statistics.median(ordered) * 1000, 3), "p99": round(p99 * 1000, 3)}


def run(jobs: int, providers: int, scrapes: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as root:
        asyncio.run(seed(Path(root), jobs, ["cpu", "gpu:0"]))
        with serving(root) as base, httpx.Client(base_url=base, timeout=30) as api:
            for n in range(providers):
                body = {
                    "id": f"rp{n}",
                    "kind": "runpod",
                    "base": f"stub://rp{n}",
                    "meta": {"cost_per_minute": 0.02},
                }
                api.post("/api/providers", json=body).raise_for_status()
            api.get("/api/providers/health").raise_for_status()
            for n in range(100):  # label sets for the request families, as a running service has
                api.get("/api/gpu/list")
                api.get(f"/api/schedule/jobs/missing-{n}")
                api.post("/api/compute/plan", json={"job": {"width": 1024, "height": 1024}})
            timings: dict[str, list[float]] = {"metrics": [], "baseline": []}
            text = ""
            for _ in range(scrapes):
                for name, path in (("metrics", "/metrics"), ("baseline", "/api/schedule/health")):
                    started = time.perf_counter()
                    response = api.get(path)
                    timings[name].append(time.perf_counter() - started)
                    response.raise_for_status()
                    if name == "metrics":
                        text = response.text
    series = [line for line in text.splitlines() if line and not line.startswith("#")]
    metrics, baseline = summary(timings["metrics"]), summary(timings["baseline"])
    return {
        "metrics_ms": metrics,
        "baseline_ms": baseline,
        "ratio_p50": round(metrics["p50"] / baseline["p50"], 2),
        "exposition": {"bytes": len(text.encode()), "series": len(series)},
        "settings": {"finished_jobs": jobs, "providers": providers, "scrapes": scrapes},
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench/metrics_scrape.py")
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--providers", type=int, default=20)
    parser.add_argument("--scrapes", type=int, default=300)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    result = run(args.jobs, args.providers, args.scrapes)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
