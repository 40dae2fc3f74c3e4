"""JobStore: the scheduler's durable queues (§5). This issue needs only the counts the advisor reads."""

from __future__ import annotations

from typing import Protocol

from computeadvisor.domain.jobs import JobCounts


class JobStore(Protocol):
    """The scheduler's store of jobs."""

    async def counts(self) -> JobCounts:
        """Queued jobs per queue, running jobs and retained finished jobs.

        Returns:
            The totals, regardless of any page size.
        """
        ...
