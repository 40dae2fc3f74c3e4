"""Probe many providers at once with bounded concurrency, results in registry order (§2.8 health without id)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from computeadvisor.domain.health import ProbeResult
from computeadvisor.domain.providers import ProviderRecord
from computeadvisor.ports.health_probe import HealthProbe

FANOUT_LIMIT = 8
"""Default number of probes in flight at once (an implementation constant, §9)."""

log = logging.getLogger("computeadvisor.health")


async def probe_all(
    probe: HealthProbe, providers: Sequence[ProviderRecord], *, deadline_s: float, limit: int = FANOUT_LIMIT
) -> list[ProbeResult]:
    """Probe every provider, at most ``limit`` at a time; the i-th result belongs to the i-th provider.

    The whole fan-out has one deadline of ``deadline_s`` seconds (the per-probe timeout, not a multiple of it): a
    provider not answered by then is reported as timed out, never waited for. A probe that breaks its never-raise
    promise becomes an ``ok: false`` result rather than cancelling the others.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if not providers:
        return []
    gate = asyncio.Semaphore(limit)

    async def one(provider: ProviderRecord) -> ProbeResult:
        async with gate:
            try:
                return await probe.probe(provider)
            except Exception as exc:
                log.warning("health probe of %s raised", provider.id, exc_info=True)
                return ProbeResult(ok=False, error=f"probe failed: {type(exc).__name__}: {exc}")

    tasks = [asyncio.create_task(one(provider)) for provider in providers]
    try:
        await asyncio.wait(tasks, timeout=deadline_s)
    finally:
        for task in tasks:
            task.cancel()  # no-op for the finished ones
        await asyncio.gather(*tasks, return_exceptions=True)  # the cancelled ones close their connections
    error = f"timed out after {deadline_s:g} s (the health check's deadline)"
    late = ProbeResult(ok=False, error=error, latency_ms=int(deadline_s * 1000))
    return [task.result() if task.done() and not task.cancelled() else late for task in tasks]
