"""The background hardware sampler: handlers read its latest snapshot and never probe hardware (§1.2)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from computeadvisor.domain.hardware import SystemSample
from computeadvisor.ports.metrics_source import MetricsSource


async def take_sample(source: MetricsSource, publish: Callable[[SystemSample], None]) -> None:
    """Take one sample off the event loop and hand it to ``publish`` (the lifespan repeats this every interval)."""
    publish(await asyncio.to_thread(source.sample))
