"""Parse wrk runs from bench/wrk.lua and aggregate them into a markdown table.

    python bench/report.py check FILE         # one wrk output: fail on a missing result, non-2xx or socket errors
    python bench/report.py summarize DIR      # DIR/r<round>-<scenario>.txt + DIR/scenarios.tsv -> summary.{md,json}

Per scenario it reports the MEDIAN across rounds of requests/s, p50 and p99 (and the worst round's p99), and the
ratio of the median requests/s to the baseline's (the bare POST for POST routes, the bare GET for GET routes).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

MARKER = "BENCH_JSON "
RUN_FILE = re.compile(r"^r(?P<round>\d+)-(?P<scenario>[A-Za-z0-9_.-]+)\.txt$")
TARGET_P99_MS = 10.0
PACKAGES = ("litestar", "uvicorn", "uvloop", "httptools", "msgspec")


@dataclass(frozen=True)
class WrkRun:
    """What wrk.lua's done() printed for one run."""

    requests: int
    duration_us: int
    rps: float
    p50_us: float
    p90_us: float
    p99_us: float
    p999_us: float
    lat_max_us: float
    non2xx: int
    first_bad_status: int
    socket_errors: int


@dataclass(frozen=True)
class Scenario:
    name: str
    method: str
    path: str
    baseline: str
    target: float | None
    """The least share of the baseline's requests/s the scenario must reach (None: no target)."""


@dataclass(frozen=True)
class Row:
    scenario: str
    method: str
    path: str
    rounds: int
    rps_median: float
    rps_min: float
    rps_max: float
    p50_ms_median: float
    p99_ms_median: float
    p99_ms_worst: float
    baseline: str
    ratio: float | None
    target: float | None
    meets_target: bool | None


def parse_run(text: str) -> WrkRun:
    """The BENCH_JSON line of one wrk output; ValueError when there is none."""
    lines = [line for line in text.splitlines() if line.startswith(MARKER)]
    if not lines:
        raise ValueError("no BENCH_JSON line (did wrk run bench/wrk.lua to the end?)")
    data: dict[str, Any] = json.loads(lines[-1][len(MARKER) :])
    return WrkRun(
        requests=int(data["requests"]),
        duration_us=int(data["duration_us"]),
        rps=float(data["rps"]),
        p50_us=float(data["p50_us"]),
        p90_us=float(data["p90_us"]),
        p99_us=float(data["p99_us"]),
        p999_us=float(data["p999_us"]),
        lat_max_us=float(data["lat_max_us"]),
        non2xx=int(data["non2xx"]),
        first_bad_status=int(data["first_bad_status"]),
        socket_errors=sum(int(data[f"err_{kind}"]) for kind in ("connect", "read", "write", "timeout")),
    )


def problems(run: WrkRun) -> list[str]:
    """Why a run cannot be trusted; empty when it can."""
    found: list[str] = []
    if run.requests == 0:
        found.append("no requests completed")
    if run.non2xx:
        found.append(f"{run.non2xx} non-2xx responses (first: {run.first_bad_status})")
    if run.socket_errors:
        found.append(f"{run.socket_errors} socket errors")
    return found


def check(path: Path) -> int:
    try:
        run = parse_run(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError) as exc:
        print(f"bench: FAILED {path}: {exc}", file=sys.stderr)
        return 1
    bad = problems(run)
    if bad:
        print(f"bench: FAILED {path}: {'; '.join(bad)}", file=sys.stderr)
        return 1
    print(f"{run.rps:10.1f} req/s   p50 {run.p50_us / 1000:6.2f} ms   p99 {run.p99_us / 1000:6.2f} ms")
    return 0


def load_scenarios(directory: Path) -> list[Scenario]:
    scenarios: list[Scenario] = []
    for line in (directory / "scenarios.tsv").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        name, method, path, baseline, target = line.split("\t")
        scenarios.append(Scenario(name, method, path, baseline, float(target) if float(target) > 0 else None))
    return scenarios


def load_runs(directory: Path) -> dict[str, list[WrkRun]]:
    runs: dict[str, list[tuple[int, WrkRun]]] = {}
    for path in directory.iterdir():
        match = RUN_FILE.match(path.name)
        if match is None:
            continue
        run = parse_run(path.read_text(encoding="utf-8"))
        bad = problems(run)
        if bad:
            raise ValueError(f"{path}: {'; '.join(bad)}")
        runs.setdefault(match["scenario"], []).append((int(match["round"]), run))
    return {name: [run for _, run in sorted(items)] for name, items in runs.items()}


def build_rows(scenarios: list[Scenario], runs: dict[str, list[WrkRun]]) -> list[Row]:
    medians = {name: statistics.median(r.rps for r in items) for name, items in runs.items() if items}
    rows: list[Row] = []
    for sc in scenarios:
        items = runs.get(sc.name, [])
        if not items:
            raise ValueError(f"no runs for scenario {sc.name}")
        rps = medians[sc.name]
        p99_median = statistics.median(r.p99_us for r in items) / 1000
        base = medians.get(sc.baseline)
        ratio = rps / base if base and sc.baseline != sc.name else None
        meets = None
        if sc.target is not None:
            meets = ratio is not None and ratio >= sc.target and p99_median < TARGET_P99_MS
        rows.append(
            Row(
                scenario=sc.name,
                method=sc.method,
                path=sc.path,
                rounds=len(items),
                rps_median=rps,
                rps_min=min(r.rps for r in items),
                rps_max=max(r.rps for r in items),
                p50_ms_median=statistics.median(r.p50_us for r in items) / 1000,
                p99_ms_median=p99_median,
                p99_ms_worst=max(r.p99_us for r in items) / 1000,
                baseline=sc.baseline,
                ratio=ratio,
                target=sc.target,
                meets_target=meets,
            )
        )
    return rows


def environment(directory: Path) -> dict[str, str]:
    """The facts about the machine and the software that a reader needs to compare numbers."""
    env: dict[str, str] = {
        "cpus (nproc)": str(len(os.sched_getaffinity(0))),
        "cpu model": _cpu_model(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    for name in PACKAGES:
        try:
            env[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            env[name] = "missing"
    for name in ("commit", "wrk", "settings", "loadavg-before", "loadavg-after"):
        path = directory / f"{name}.txt"
        if path.exists():
            env[name] = path.read_text(encoding="utf-8").strip()
    return env


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def markdown(rows: list[Row]) -> str:
    lines = [
        "| scenario | request | rounds | req/s (median) | req/s (min–max) | p50 ms | p99 ms | p99 ms (worst) "
        "| vs bare | target |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        ratio = "baseline" if row.ratio is None else f"{row.ratio:.0%} of {row.baseline}"
        target = "—" if row.meets_target is None else ("met" if row.meets_target else "**missed**")
        if row.target is not None:
            target += f" (≥ {row.target:.0%})"
        lines.append(
            f"| {row.scenario} | `{row.method} {row.path}` | {row.rounds} | {row.rps_median:,.0f} "
            f"| {row.rps_min:,.0f}–{row.rps_max:,.0f} | {row.p50_ms_median:.2f} | {row.p99_ms_median:.2f} "
            f"| {row.p99_ms_worst:.2f} | {ratio} | {target} |"
        )
    return "\n".join(lines)


def summarize(directory: Path) -> int:
    try:
        rows = build_rows(load_scenarios(directory), load_runs(directory))
    except (OSError, ValueError, KeyError) as exc:
        print(f"bench: FAILED to summarize {directory}: {exc}", file=sys.stderr)
        return 1
    env = environment(directory)
    text = "\n".join(
        [
            "## Results",
            "",
            markdown(rows),
            "",
            "Targets (rows marked): requests/s at least the share shown of the bare POST, and median p99 < "
            f"{TARGET_P99_MS:g} ms. Medians across rounds; latencies from wrk's HdrHistogram.",
            "",
            "## Environment",
            "",
            *(f"- {key}: {value}" for key, value in env.items()),
            "",
        ]
    )
    (directory / "summary.md").write_text(text, encoding="utf-8")
    summary = {"rows": [asdict(row) for row in rows], "environment": env}
    (directory / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(text)
    missed = [row.scenario for row in rows if row.meets_target is False]
    if missed:
        print(f"bench: below target: {', '.join(missed)}")
        if os.environ.get("BENCH_STRICT") == "1":
            return 3
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/report.py")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("check").add_argument("file", type=Path)
    sub.add_parser("summarize").add_argument("directory", type=Path)
    args = parser.parse_args(argv)
    if args.cmd == "check":
        return check(args.file)
    return summarize(args.directory)


if __name__ == "__main__":
    sys.exit(main())
