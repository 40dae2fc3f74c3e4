"""Scheduler values the rest of the system reads (§5); the state machine arrives with the job store."""

from __future__ import annotations

import msgspec

QUEUES = ("local", "remote")


class QueueDepths(msgspec.Struct, frozen=True, kw_only=True):
    """Queued jobs per queue."""

    local: int = 0
    remote: int = 0


class JobCounts(msgspec.Struct, frozen=True, kw_only=True):
    """Totals of the scheduler (§3.8 ``debug.scheduler``, §5.7 ``counts``)."""

    queues: QueueDepths = msgspec.field(default_factory=QueueDepths)
    active: int = 0
    completed: int = 0
