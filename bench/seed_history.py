"""Fill a state root's scheduler with finished jobs, so that the plan benchmark plans against a real history.

    python bench/seed_history.py ROOT --jobs 10000 [--places cpu,gpu:0,remote:rp1,...]

Each job is enqueued with a size in its payload (and a model for half of them), claimed on one of the places and
completed with a duration, through the SQLite store itself (group-committed, 64 at a time). The running service
sees them through its file watch, as it would see another replica's writes.
"""

from __future__ import annotations

import argparse
import asyncio
import random
from pathlib import Path
from typing import Any

from computeadvisor.adapters.sqlite_jobs import SqliteJobStore
from computeadvisor.domain.job_requests import parse_claim, parse_complete
from computeadvisor.domain.job_spec import parse_enqueue
from computeadvisor.domain.jobs import PriceBook

MODELS = ("sdxl", "flux-dev", None, None)


async def one_job(store: SqliteJobStore, n: int, place: str, rng: random.Random) -> None:
    units = rng.uniform(2, 200)
    remote = place.startswith("remote:")
    payload: dict[str, Any] = {"work_units": units}
    model = rng.choice(MODELS)
    if model:
        payload["model"] = model
    body: dict[str, Any] = {"id": f"seed-{n}", "queue": "remote" if remote else "local", "payload": payload}
    if remote:
        body["provider_id"] = place.removeprefix("remote:")
    await store.enqueue(parse_enqueue(body))
    claimed = await store.claim(parse_claim({"queue": body["queue"], "device_id": None if remote else place}))
    if claimed is None:
        raise SystemExit("seed: a claim found nothing to take")
    taken = float(claimed.job.payload["work_units"])  # another coroutine's job, maybe: time the one taken
    seconds = taken * rng.lognormvariate(0, 0.25) * (9.0 if place == "cpu" else 0.4)
    request = parse_complete({"job_id": claimed.job.id, "lease_token": claimed.lease.token, "duration_sec": seconds})
    await store.complete(request, PriceBook())


async def seed(root: Path, jobs: int, places: list[str]) -> None:
    rng = random.Random(10)
    store = SqliteJobStore(root)
    await store.open()
    try:
        for start in range(0, jobs, 64):
            # One place per batch: claims take the oldest queued job of the queue, which is this batch's own.
            place = places[(start // 64) % len(places)]
            await asyncio.gather(*(one_job(store, n, place, rng) for n in range(start, min(start + 64, jobs))))
        counts = await store.counts()
        print(f"seeded {counts.completed} finished jobs over {len(places)} places")
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench/seed_history.py")
    parser.add_argument("root", type=Path)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--places", default="cpu,gpu:0")
    args = parser.parse_args()
    asyncio.run(seed(args.root, args.jobs, args.places.split(",")))


if __name__ == "__main__":
    main()
