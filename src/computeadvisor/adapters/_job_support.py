"""What the job stores share: the watch on the next lease expiry."""

from __future__ import annotations

import math
import time


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
