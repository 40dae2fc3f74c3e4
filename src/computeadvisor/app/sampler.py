"""The background hardware sampler: handlers read its latest snapshot and never probe hardware (§1.2)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import anyio
import anyio.to_thread

from computeadvisor.domain.hardware import SystemSample
from computeadvisor.ports.metrics_source import MetricsSource

log = logging.getLogger("computeadvisor.sampler")


class Sampler:
    """Takes a sample every ``interval`` seconds in a worker thread and hands it to ``publish``."""

    def __init__(self, source: MetricsSource, interval: float, publish: Callable[[SystemSample], None]) -> None:
        self._source = source
        self._interval = interval
        self._publish = publish

    async def sample_once(self) -> SystemSample:
        """Take one sample off the event loop and publish it."""
        sample = await anyio.to_thread.run_sync(self._source.sample)
        self._publish(sample)
        return sample

    async def run(self) -> None:
        """Sample forever (until cancelled); a failing source is logged and retried at the next tick."""
        while True:
            await anyio.sleep(self._interval)
            try:
                await self.sample_once()
            except Exception:  # the adapter promises not to raise; if it does, keep the last snapshot
                log.exception("hardware sample failed; keeping the previous snapshot")
