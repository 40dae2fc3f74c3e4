"""Periodic work started from the app's lifespan."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("computeadvisor.background")


async def repeat(interval_s: float, action: Callable[[], Awaitable[object]], name: str) -> None:
    """Await ``action`` every ``interval_s`` seconds until cancelled; a failure is logged and retried next time."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            await action()
        except Exception:
            log.exception("%s failed; retrying in %.1f s", name, interval_s)
