"""EventLog: the durable log of what happened (§11), read by the event stream.

The job stores implement it, because job events are written in the same transaction as the transition they
describe: there is no transition without its event and no event without its transition. Provider and policy
events are appended by the services after the change, before the route answers.
"""

from __future__ import annotations

from typing import Protocol

from computeadvisor.domain.events import Event, NewEvent


class EventLog(Protocol):
    """Events with strictly increasing ids, the most recent ``event_retention`` of them kept."""

    async def append(self, event: NewEvent) -> Event:
        """Write one event, durably when this returns.

        Returns:
            The event with its id (greater than every id before it, never reused).

        Raises:
            StorageError: the log could not be written.
        """
        ...

    async def events_after(self, after: int, limit: int) -> list[Event]:
        """At most ``limit`` retained events with an id greater than ``after``, in id order.

        Raises:
            StorageError: the log could not be read.
        """
        ...

    async def event_bounds(self) -> tuple[int | None, int]:
        """The oldest retained id (None when none is retained) and the newest id ever given (0 before the first).

        Raises:
            StorageError: the log could not be read.
        """
        ...
