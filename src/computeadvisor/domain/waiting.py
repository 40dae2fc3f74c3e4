"""How long a job would wait at each place before it could start (§10.4), from aggregates of the queues.

Stores keep the queued work as totals per (queue, place, priority) — never the jobs themselves — so that a plan
costs the same however long the queues are; running local jobs are read one by one (there are as many as places
at work). The method, in the order it is applied for one plan (docs/api.md §10.4 says the same):

1. Every local place (``cpu``, each ``gpu:<n>``) starts free at 0 s.
2. Each running local job adds what is left of it, ``max(0, units × p50 rate − seconds it has run)``, to the place
   it runs on; one running on no known place goes to the local place that frees first.
3. Queued local jobs *ahead* (priority ≥ the job's) pinned to a place add ``units × p50 rate`` of that place.
4. The unpinned ones ahead are poured over the local places as a fluid ("water-filling"): the level ``T`` rises
   until the places below it, each absorbing work at its own rate, have taken all the units; every place below
   ``T`` then frees at ``T``. This is what serving them on "the place that frees first" tends to as jobs get small,
   and it costs O(places log places) whatever the queue holds.
5. A remote place waits ``startup_s + units ahead for that provider × p50 rate / concurrency``; remote jobs
   without a provider are not counted.

A lower-priority queued job never adds to any wait, nor does one whose ``run_at`` is still ahead (§15).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from computeadvisor.domain.jobs import Job, JobStatus
from computeadvisor.domain.work import DEFAULT_UNITS, payload_units


class QueuedWork(msgspec.Struct, frozen=True, kw_only=True):
    """The queued jobs of one queue, place and priority: how many, and their work units in total."""

    queue: str
    place: str | None
    priority: int
    jobs: int
    work_units: float


class RunningWork(msgspec.Struct, frozen=True, kw_only=True):
    """One running local job: where it runs (None: unknown), since when (epoch seconds) and its size."""

    place: str | None
    started_ts: float
    work_units: float


class ScheduledWork(msgspec.Struct, frozen=True, kw_only=True):
    """Queued jobs of one queue, place and priority that are not due yet: how many, their units, the earliest due."""

    queue: str
    place: str | None
    priority: int
    jobs: int
    work_units: float
    next_due_ts: float


class Workload(msgspec.Struct, frozen=True, kw_only=True):
    """What is ahead of a new job: queued work by (queue, place, priority) and the running local jobs."""

    queued: tuple[QueuedWork, ...] = ()
    running: tuple[RunningWork, ...] = ()


def job_units(payload: Mapping[str, Any]) -> float:
    """A queued or running job's size for waiting: its payload's work units, the default size when invalid."""
    return payload_units(payload) or DEFAULT_UNITS


def waiting_place(job: Job) -> str | None:
    """The place a queued job waits for: local, the device it is pinned to; remote, ``remote:<provider_id>``."""
    if job.queue == "remote":
        return f"remote:{job.provider_id}" if job.provider_id else None
    return job.device_id or job.sticky_device_id


def workload_of(jobs: Iterable[Job], now: float) -> Workload:
    """The workload of a collection of jobs at ``now`` (epoch seconds), aggregated as stores keep it."""
    totals: dict[tuple[str, str | None, int], tuple[int, float]] = {}
    running: list[RunningWork] = []
    for job in jobs:
        if job.status == JobStatus.QUEUED and (job.run_at_ts is None or job.run_at_ts <= now):
            key = (job.queue, waiting_place(job), job.priority)
            count, total = totals.get(key, (0, 0.0))
            totals[key] = (count + 1, total + job_units(job.payload))
        elif job.status == JobStatus.RUNNING and job.queue == "local":
            units = job_units(job.payload)
            running.append(RunningWork(place=job.device_id, started_ts=job.started_ts or 0.0, work_units=units))
    queued = (
        QueuedWork(queue=queue, place=place, priority=priority, jobs=count, work_units=total)
        for (queue, place, priority), (count, total) in totals.items()
    )
    return workload(queued, running)


def workload(queued: Iterable[QueuedWork], running: Iterable[RunningWork]) -> Workload:
    """A workload in its one order (queue, place, priority; running by start), so that equal ones compare equal."""
    return Workload(
        queued=tuple(sorted(queued, key=lambda w: (w.queue, w.place or "", w.priority))),
        running=tuple(sorted(running, key=lambda w: (w.started_ts, w.place or "", w.work_units))),
    )


def without_scheduled(totals: Workload, scheduled: Iterable[ScheduledWork]) -> Workload:
    """``totals`` (every queued job) less the jobs not yet due, which wait for no place (§10.4, §15)."""
    ahead = {(w.queue, w.place, w.priority): w for w in totals.queued}
    for later in scheduled:
        key = (later.queue, later.place, later.priority)
        if (work := ahead.get(key)) is not None:
            jobs = work.jobs - later.jobs
            units = max(0.0, work.work_units - later.work_units)
            ahead[key] = msgspec.structs.replace(work, jobs=jobs, work_units=units)
    return workload((w for w in ahead.values() if w.jobs > 0), totals.running)


def _fill(free: dict[str, float], rates: Mapping[str, float], units: float) -> None:
    """Pour ``units`` over the places as a fluid: raise the lowest until all is absorbed (step 4)."""
    if units <= 0 or not free:
        return
    order = sorted(free, key=lambda place: free[place])
    absorb = 0.0  # units per second the places below the level take together
    level = free[order[0]]
    for i, place in enumerate(order):
        absorb += 1 / max(rates[place], 1e-12)
        following = free[order[i + 1]] if i + 1 < len(order) else float("inf")
        reach = level + units / absorb
        if reach <= following:
            level = reach
            break
        units -= (following - level) * absorb
        level = following
    for place in order:
        free[place] = max(free[place], level)


def local_waits(workload: Workload, priority: int, rates: Mapping[str, float], now: float) -> dict[str, float]:
    """Seconds until each local place (the keys of ``rates``: seconds per unit at p50) could start a job of
    ``priority``, at ``now`` (epoch seconds)."""
    free = dict.fromkeys(rates, 0.0)
    if not free:
        return free
    for job in workload.running:
        place = job.place if job.place in free else min(free, key=lambda p: free[p])
        free[place] += max(0.0, job.work_units * rates[place] - max(0.0, now - job.started_ts))
    unpinned = 0.0
    for work in workload.queued:
        if work.queue != "local" or work.priority < priority:
            continue
        if work.place is None:
            unpinned += work.work_units
        elif work.place in free:
            free[work.place] += work.work_units * rates[work.place]
    _fill(free, rates, unpinned)
    return free


def remote_ahead(workload: Workload, priority: int) -> dict[str, float]:
    """Work units of the queued remote jobs ahead of a job of ``priority``, per remote place (those with any)."""
    ahead: dict[str, float] = {}
    for w in workload.queued:
        if w.queue == "remote" and w.place is not None and w.priority >= priority:
            ahead[w.place] = ahead.get(w.place, 0.0) + w.work_units
    return ahead


def remote_wait(units_ahead: float, rate: float, *, startup_s: float, concurrency: int) -> float:
    """Seconds until a remote place could start a job: its start-up plus the ``units_ahead`` (its entry of
    :func:`remote_ahead`) at ``rate`` seconds per unit, ``concurrency`` at a time."""
    return startup_s + units_ahead * rate / concurrency
