"""RunHistory: what the planner learns from finished jobs and sees of the queues (§10.3, §10.4).

The job stores implement it, because what it holds changes in the same transaction as the jobs: a job that
succeeds teaches the model as it completes, and the queued-work totals move with every enqueue, claim and requeue.
None of these reads grows with the job table or the queues.
"""

from __future__ import annotations

from typing import Protocol

from computeadvisor.domain.runtime_model import LearnedRate, ModelEntry
from computeadvisor.domain.waiting import Workload


class RunHistory(Protocol):
    """The run-time model's aggregates and the queues' totals, kept up to date as jobs change."""

    async def learned_rates(self) -> list[LearnedRate]:
        """The brief of every (place, model) key the model has learned (at least one sample each).

        Returns:
            One entry per key, in no particular order; bounded by the model's place and model caps.

        Raises:
            StorageError: the store could not be read.
        """
        ...

    async def model_report(self) -> list[ModelEntry]:
        """What the model has learned and how accurate it has been, per key (§10.6).

        Returns:
            Entries sorted by place, then model (the place's entry over every model first).

        Raises:
            StorageError: the store could not be read.
        """
        ...

    async def workload(self) -> Workload:
        """The queued work per (queue, place, priority) and the running local jobs (§10.4).

        Returns:
            The totals as of the latest committed change, in :func:`computeadvisor.domain.waiting.workload` order.

        Raises:
            StorageError: the store could not be read.
        """
        ...
