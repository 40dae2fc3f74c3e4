"""Periodic work started from the app's lifespan."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from computeadvisor.domain.errors import ComputeAdvisorError

log = logging.getLogger("computeadvisor.background")


class Outage:
    """Logs a known failure of ``name`` once when it starts (or changes) and once when it ends, not every retry."""

    def __init__(self, name: str, logger: logging.Logger = log) -> None:
        self._name = name
        self._log = logger
        self._failing: str | None = None

    def failed(self, exc: ComputeAdvisorError, retry_s: float) -> None:
        if str(exc) != self._failing:
            self._log.warning("%s failed: %s; retrying every %.1f s", self._name, exc, retry_s)
            self._failing = str(exc)

    def ok(self) -> None:
        if self._failing is not None:
            self._log.warning("%s works again", self._name)
            self._failing = None


async def repeat(interval_s: float, action: Callable[[], Awaitable[object]], name: str) -> None:
    """Await ``action`` every ``interval_s`` seconds until cancelled; a failure is logged and retried next time.

    A known failure (the database unavailable, a store that cannot be written) is one warning line when it starts and
    one when it ends, not a traceback every interval; anything else is logged with its traceback.
    """
    outage = Outage(name)
    while True:
        await asyncio.sleep(interval_s)
        try:
            await action()
        except ComputeAdvisorError as exc:
            outage.failed(exc, interval_s)
        except Exception:
            log.exception("%s failed; retrying in %.1f s", name, interval_s)
        else:
            outage.ok()
