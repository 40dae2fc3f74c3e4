"""Pieces the job stores share: registry look-ups made before a write, and the watch on the next lease expiry."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable

from computeadvisor.domain.jobs import ProviderLookup
from computeadvisor.domain.providers import ProviderRecord


async def lookup_all(provider_ids: Iterable[str | None], providers: ProviderLookup) -> dict[str, ProviderRecord]:
    """The registry entries of these ids (each looked up once); ids with no entry are left out.

    Done before the write is submitted, so that no write transaction waits on the registry.
    """
    found: dict[str, ProviderRecord] = {}
    for provider_id in dict.fromkeys(pid for pid in provider_ids if pid is not None):
        record = await providers(provider_id)
        if record is not None:
            found[provider_id] = record
    return found


class ExpiryWatch:
    """A lower bound of the earliest running lease's expiry (epoch seconds), so that a lease check is free
    while nothing can have expired.

    Too low only costs one look at the store; it is never allowed to be too high for longer than ``recheck_s``
    (real seconds), which bounds what a second process sharing the store could hide from this one.
    """

    def __init__(self, recheck_s: float = 1.0) -> None:
        self._recheck_s = recheck_s
        self._next = -math.inf
        self._checked = -math.inf

    def settled(self, now: float) -> bool:
        """True when no lease can have expired at ``now`` (no need to look)."""
        return now < self._next and time.monotonic() - self._checked < self._recheck_s

    def seen(self, next_expiry: float | None) -> None:
        """Record the earliest expiry just read from the store (None: no running job)."""
        self._next = math.inf if next_expiry is None else next_expiry
        self._checked = time.monotonic()

    def lower(self, expiry: float) -> None:
        """A lease that ends at ``expiry`` was just granted."""
        self._next = min(self._next, expiry)

    def forget(self) -> None:
        """Look at the store next time (after a failed expiry pass)."""
        self._next = -math.inf
