"""Per-request cost of the hot routes with the ASGI app called directly: no sockets, no server, one request at a time.

    .venv/bin/python bench/inprocess.py [--rounds 7] [--requests 3000]

Serves, side by side in one process: the bare Litestar app of bench/bare_app.py, and computeadvisor twice on
fresh state roots, once with the file signatures the service uses (inotify where the platform has it) and once
with one ``stat`` per file. Rounds are interleaved, so noise on a shared machine spreads over every variant; the
report is the median µs per request of each. Much less noisy than wrk for comparing two ways of doing one thing,
but the absolute numbers leave out uvicorn, httptools and the network (see docs/performance.md).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from contextlib import AsyncExitStack
from typing import Any, cast

from litestar import Litestar

from bare_app import app as bare_app
from computeadvisor.adapters.file_signatures import STAT_SIGNATURES, FileSignatures, watched_signatures
from computeadvisor.app.asgi import create_app
from computeadvisor.app.bootstrap import build_adapters
from computeadvisor.config import load_config

PROVIDER = (
    b'{"id":"runpod-dev","kind":"runpod","base":"https://api.runpod.io/v2","meta":{"cost_per_minute":0.12,'
    b'"egress_cost_per_gb":0.09,"vram_cost_per_gb_minute":0.001,"pricing_url":"https://runpod.io/pricing"}}'
)
ADVISE = b'{"job":{"width":2048,"height":1152,"priority":3},"allow_remote":true}'
COSTS = (
    b'{"job":{"queue":"remote","provider_id":"runpod-dev","duration_minutes":4.5,"bytes_tx":1073741824,'
    b'"bytes_rx":67108864,"vram_gb":16}}'
)


async def call(app: Litestar, method: str, path: str, body: bytes) -> int:
    """One request straight into the ASGI app; returns the status."""
    messages: list[dict[str, Any]] = []
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if delivered:
            await asyncio.Event().wait()  # a disconnect never comes: the response is complete first
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    headers = [(b"host", b"bench"), (b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8001),
        "state": {},
    }
    await app(cast(Any, scope), cast(Any, receive), cast(Any, send))
    return int(messages[0]["status"])


async def per_request_us(app: Litestar, method: str, path: str, body: bytes, count: int) -> float:
    """Mean µs per request over ``count`` requests (each must answer 200)."""
    started = time.perf_counter()
    for _ in range(count):
        status = await call(app, method, path, body)
        if status != 200:
            raise SystemExit(f"{method} {path} answered {status}")
    return (time.perf_counter() - started) / count * 1e6


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=3000, help="requests per scenario and round")
    args = parser.parse_args()

    variants: dict[str, FileSignatures] = {"service": watched_signatures(), "stat": STAT_SIGNATURES}
    scenarios: list[tuple[str, Litestar, str, str, bytes]] = [("bare", bare_app, "POST", "/bare", ADVISE)]
    async with AsyncExitStack() as stack:
        for name, signatures in variants.items():
            config = load_config({"root": tempfile.mkdtemp(prefix=f"bench-{name}-")})
            app = create_app(config, adapters=build_adapters(config, signatures))
            await stack.enter_async_context(app.lifespan())
            await per_request_us(app, "POST", "/api/providers", PROVIDER, 1)
            scenarios += [
                (f"{name} advise", app, "POST", "/api/compute/advise", ADVISE),
                (f"{name} costs", app, "POST", "/api/compute/costs", COSTS),
            ]
        for _, app, method, path, body in scenarios:  # warm-up
            await per_request_us(app, method, path, body, args.requests // 3)
        results: dict[str, list[float]] = {name: [] for name, *_ in scenarios}
        for _ in range(args.rounds):
            for name, app, method, path, body in scenarios:
                results[name].append(await per_request_us(app, method, path, body, args.requests))
    print(f"{'scenario':16} {'µs/request (median)':>20} {'min':>8} {'max':>8}")
    for name, values in results.items():
        print(f"{name:16} {statistics.median(values):20.1f} {min(values):8.1f} {max(values):8.1f}")


if __name__ == "__main__":
    import uvloop

    uvloop.run(main())
