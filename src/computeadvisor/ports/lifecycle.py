"""Lifecycle: how the composition root opens and closes every adapter, the same way for each port."""

from __future__ import annotations

from typing import Protocol


class Lifecycle(Protocol):
    """Opened once before first use and closed once at shutdown, in reverse order, by ``bootstrap.opened``.

    Both default to doing nothing, for adapters that hold no resource. Neither blocks the event loop: an adapter
    whose set-up blocks (a library initialisation, a file lock) runs it in a worker thread itself.
    """

    async def open(self) -> None:
        """Acquire what the adapter needs (connections, files, a library) and make it ready.

        Raises:
            StorageError: a store cannot be opened (the service does not start).
        """
        return

    async def close(self) -> None:
        """Release what ``open`` acquired, finishing work already accepted; idempotent."""
        return
