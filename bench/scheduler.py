"""Scheduler benchmark: enqueue, claim, complete and full cycles at 16 connections, latencies at 0/100k/1M jobs.

    python bench/scheduler.py --out DIR                          # what ``bash bench/run.sh scheduler`` runs
    python bench/scheduler.py --sizes 0 100000 --rounds 2 --duration 3 --out /tmp/s

For every size the state root is prefilled with that many jobs (``bench/jobstore_bulk.py``'s ``bulk_load``: the
adapter's own row mapping; mostly queued, up to 1,000 running, up to 10,000 finished), then ``computeadvisor
serve`` starts on it, exactly as bench/run.sh serves it. The bare Litestar app (``bench/bare_app.py``) runs next to
it as the baseline, driven by the same client (bench/sched_client.py). Each round runs, interleaved:

* ``bare-post``: POST /bare (the baseline) at ``connections`` connections;
* ``enqueue``, ``claim``, ``complete``: one kind of request at ``connections`` connections; claim takes the jobs
  the enqueue phase just made (their priority is above every prefilled job), complete finishes the claimed ones.
  A phase stops early when its jobs run out; requests/s is over the time it ran;
* ``cycle``: every connection does enqueue -> claim -> complete (with the lease token) in a loop; cycles/s;
* ``state``: GET /api/schedule/state (default limit 200), one request at a time (latency without queueing);
* ``claim-seq``: one claim at a time (enqueue and complete around it untimed).

Reported: medians across rounds, and the server's VmRSS/VmHWM (/proc/<pid>/status) after the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import uvloop

import sched_client as sc
from computeadvisor.adapters.sqlite_jobs import SqliteJobStore
from jobstore_bulk import bulk_load
from util import free_ports, wait

HOST = "127.0.0.1"
BARE_BODY = {"job": {"width": 2048, "height": 1152, "priority": 3}, "allow_remote": True}
TARGET_CYCLES = 800.0
TARGET_CLAIM_P95_MS = 10.0
TARGET_STATE_P50_MS = 20.0
TARGET_RSS_MB = 150.0
SCENARIOS = ("bare-post", "enqueue", "claim", "complete", "cycle", "state", "claim-seq")
SEQUENTIAL = ("state", "claim-seq")  # one request at a time: latency without queueing; no rate reported
UNITS = {"cycle": "cycles/s"}


@dataclass(frozen=True)
class Row:
    size: int
    scenario: str
    rounds: int
    rate_median: float
    rate_min: float
    rate_max: float
    requests: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    vs_bare: float | None


@dataclass(frozen=True)
class Memory:
    size: int
    rss_mb: float
    hwm_mb: float
    db_mb: float
    prefill_s: float


def proc_status_mb(pid: int, key: str) -> float:
    """A ``kB`` line of /proc/<pid>/status in MiB (VmRSS: resident now, VmHWM: peak)."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) / 1024
    raise KeyError(key)


def prefill(root: Path, rows: int) -> float:
    """Create the scheduler database under ``root`` and bulk-load ``rows`` jobs; seconds it took."""
    start = time.perf_counter()

    async def create() -> Path:
        store = SqliteJobStore(root)
        await store.open()
        await store.close()
        return store.path

    path = asyncio.run(create())
    if rows:
        bulk_load(path, rows)
    return time.perf_counter() - start


def start_service(root: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [str(Path(sys.executable).parent / "computeadvisor"), "serve", "--root", str(root), "--port", str(port),
               "--log-level", "warning"]  # fmt: skip
    with log.open("ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    wait([(f"http://{HOST}:{port}/api/providers", process.pid)], timeout=120)
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def one_round(svc: sc.Pool, bare: sc.Pool, seconds: float, samples: int) -> list[sc.Phase]:
    phases = [await sc.bare_phase(bare, seconds, BARE_BODY)]
    phases.append(await sc.enqueue_phase(svc, seconds))
    phases.append(await sc.claim_phase(svc, seconds))
    phases.append(await sc.complete_phase(svc, seconds))
    await sc.finish_running(svc)
    phases.append(await sc.cycle_phase(svc, seconds))
    phases.append(await sc.sequential_gets(svc, "state", "/api/schedule/state", samples))
    phases.append(await sc.sequential_claims(svc, samples))
    return phases


async def measure(port: int, bare_port: int, args: argparse.Namespace, label: str) -> list[list[sc.Phase]]:
    async with sc.Pool(HOST, port, args.connections) as svc, sc.Pool(HOST, bare_port, args.connections) as bare:
        await one_round(svc, bare, args.warmup, max(10, args.samples // 10))
        rounds = []
        for number in range(1, args.rounds + 1):
            phases = await one_round(svc, bare, args.duration, args.samples)
            rounds.append(phases)
            text = "  ".join(f"{p.name} {p.rate:,.0f}" for p in phases)
            print(f"bench: {label} round {number}: {text}", file=sys.stderr, flush=True)
        return rounds


def rows_for(size: int, rounds: list[list[sc.Phase]]) -> list[Row]:
    by_name: dict[str, list[sc.Phase]] = {}
    for phases in rounds:
        for phase in phases:
            by_name.setdefault(phase.name, []).append(phase)
    bare = statistics.median(p.request_rate for p in by_name["bare-post"])
    rows = []
    for name in SCENARIOS:
        items = by_name[name]
        rate = statistics.median(p.rate for p in items)
        request_rate = statistics.median(p.request_rate for p in items)
        rows.append(
            Row(
                size=size,
                scenario=name,
                rounds=len(items),
                rate_median=rate,
                rate_min=min(p.rate for p in items),
                rate_max=max(p.rate for p in items),
                requests=sum(p.requests for p in items),
                p50_ms=statistics.median(p.pct(0.50) for p in items),
                p95_ms=statistics.median(p.pct(0.95) for p in items),
                p99_ms=statistics.median(p.pct(0.99) for p in items),
                vs_bare=request_rate / bare if name not in (*SEQUENTIAL, "bare-post") else None,
            )
        )
    return rows


def markdown(rows: list[Row], memory: list[Memory], connections: int) -> str:
    lines = [
        "| jobs stored | scenario | connections | rate (median) | rate (min–max) | p50 ms | p95 ms | p99 ms "
        "| req/s vs bare |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        unit = UNITS.get(r.scenario, "req/s")
        ratio = "baseline" if r.scenario == "bare-post" else ("—" if r.vs_bare is None else f"{r.vs_bare:.0%}")
        if r.scenario in SEQUENTIAL:
            conns, rate, spread = "1", "—", "—"
        else:
            conns, rate = str(connections), f"{r.rate_median:,.0f} {unit}"
            spread = f"{r.rate_min:,.0f}–{r.rate_max:,.0f}"
        lines.append(
            f"| {r.size:,} | {r.scenario} | {conns} | {rate} | {spread} | {r.p50_ms:.2f} | {r.p95_ms:.2f} "
            f"| {r.p99_ms:.2f} | {ratio} |"
        )
    lines += ["", "| jobs stored | prefill s | database MiB | server VmRSS MiB | server VmHWM MiB |",
              "| ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    lines += [f"| {m.size:,} | {m.prefill_s:.1f} | {m.db_mb:.0f} | {m.rss_mb:.1f} | {m.hwm_mb:.1f} |" for m in memory]
    return "\n".join(lines)


def targets(rows: list[Row], memory: list[Memory]) -> list[str]:
    """One line per target, at the largest size measured."""
    largest = max(m.size for m in memory)
    pick = {(r.size, r.scenario): r for r in rows}
    cycles = min(r.rate_median for r in rows if r.scenario == "cycle")
    claim = pick[(largest, "claim-seq")].p95_ms
    state = pick[(largest, "state")].p50_ms
    rss = next(m.rss_mb for m in memory if m.size == largest)
    checks = [
        (f"full cycles/s >= {TARGET_CYCLES:g} at every size (lowest {cycles:,.0f})", cycles >= TARGET_CYCLES),
        (f"claim p95 < {TARGET_CLAIM_P95_MS:g} ms at {largest:,} jobs ({claim:.2f} ms)", claim < TARGET_CLAIM_P95_MS),
        (f"state p50 < {TARGET_STATE_P50_MS:g} ms at {largest:,} jobs ({state:.2f} ms)", state < TARGET_STATE_P50_MS),
        (f"server RSS < {TARGET_RSS_MB:g} MB at {largest:,} jobs ({rss:.1f} MiB)", rss < TARGET_RSS_MB),
    ]
    return [f"- {'met' if ok else '**missed**'}: {text}" for text, ok in checks]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[0, 100_000, 1_000_000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per concurrent phase")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds per phase in the warm-up round")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--samples", type=int, default=300, help="requests per sequential latency phase")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    svc_port, bare_port = free_ports(2)
    bare_cmd = [sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--host", HOST, "--port", str(bare_port),
                "--workers", "1", "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--lifespan", "on",
                "--log-level", "warning"]  # fmt: skip
    with (args.out / "bare.log").open("ab") as log:
        bare_app = subprocess.Popen(bare_cmd, stdout=log, stderr=subprocess.STDOUT)
    rows: list[Row] = []
    memory: list[Memory] = []
    try:
        wait([(f"http://{HOST}:{bare_port}/bare", bare_app.pid)], timeout=30)
        for size in args.sizes:
            root = Path(tempfile.mkdtemp(prefix=f"sched-bench-{size}-"))
            try:
                print(f"bench: scheduler with {size:,} stored jobs (prefilling {root})", file=sys.stderr, flush=True)
                prefill_s = prefill(root, size)
                service = start_service(root, svc_port, args.out / f"service-{size}.log")
                try:
                    rounds = uvloop.run(measure(svc_port, bare_port, args, f"{size:,} jobs"))
                    rss, hwm = proc_status_mb(service.pid, "VmRSS"), proc_status_mb(service.pid, "VmHWM")
                finally:
                    stop(service)
                db_mb = sum(p.stat().st_size for p in (root / "data").iterdir()) / 2**20
                memory.append(Memory(size=size, rss_mb=rss, hwm_mb=hwm, db_mb=db_mb, prefill_s=prefill_s))
                rows += rows_for(size, rounds)
            finally:
                shutil.rmtree(root, ignore_errors=True)
    finally:
        stop(bare_app)

    settings = (f"{args.connections} connections, {args.rounds} rounds × {args.duration:g} s per concurrent phase "
                f"(warm-up {args.warmup:g} s), {args.samples} samples per sequential phase")  # fmt: skip
    text = "\n".join(["## Scheduler", "", markdown(rows, memory, args.connections), "", *targets(rows, memory),
                      "", f"Settings: {settings}. Load average at the end: {_loadavg()}.", ""])  # fmt: skip
    (args.out / "scheduler.md").write_text(text, encoding="utf-8")
    data = {"rows": [asdict(r) for r in rows], "memory": [asdict(m) for m in memory], "settings": settings}
    (args.out / "scheduler.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(text)
    return 3 if os.environ.get("BENCH_STRICT") == "1" and "**missed**" in text else 0


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text(encoding="utf-8").split()[:3])
    except OSError:
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
