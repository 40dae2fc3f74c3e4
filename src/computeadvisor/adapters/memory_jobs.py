"""JobStore in process memory: the shared state machine on a dict, for tests and embedding (not durable)."""

from __future__ import annotations

import heapq
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator

from computeadvisor.domain import job_machine as machine
from computeadvisor.domain.events import DEFAULT_EVENT_RETENTION, Event, NewEvent, job_event
from computeadvisor.domain.job_machine import JobState
from computeadvisor.domain.job_requests import (
    ClaimRequest,
    CompleteRequest,
    FailRequest,
    HeartbeatRequest,
    RequeueRequest,
)
from computeadvisor.domain.job_spec import JobSpec
from computeadvisor.domain.jobs import (
    DEFAULT_ATTEMPT_CAP,
    DEFAULT_RETENTION,
    FINISHED,
    Board,
    Claimed,
    Job,
    JobCounts,
    JobStatus,
    PriceBook,
    QueueDepths,
    QueueViews,
    StatePage,
    build_board,
    public_view,
)
from computeadvisor.domain.runtime_model import (
    MIN_SAMPLES,
    Key,
    LearnedRate,
    ModelEntry,
    PlaceRecord,
    evictions,
    lesson_of,
    model_entries,
    teach,
)
from computeadvisor.domain.waiting import Workload, workload_of
from computeadvisor.ports.job_store import JobStore


class MemoryJobStore(JobStore):
    """Jobs in a dict; every operation runs without awaiting in between, so each is atomic on the event loop.

    Args:
        attempt_cap: claims after which an expired lease fails the job instead of requeueing it.
        retention: how many finished jobs are kept (the most recently finished).
        clock: epoch seconds now; tests pass a fake one to move time without sleeping.
        min_samples: samples a key needs before its history predicts (§10.3).
        event_retention: how many events the log keeps (§11).
    """

    def __init__(
        self,
        *,
        attempt_cap: int = DEFAULT_ATTEMPT_CAP,
        retention: int = DEFAULT_RETENTION,
        clock: Callable[[], float] = time.time,
        min_samples: int = MIN_SAMPLES,
        event_retention: int = DEFAULT_EVENT_RETENTION,
    ) -> None:
        self._attempt_cap = attempt_cap
        self._retention = retention
        self._clock = clock
        self._min_samples = min_samples
        self._jobs: dict[str, JobState] = {}
        self._records: dict[Key, PlaceRecord] = {}
        self._events: deque[Event] = deque(maxlen=event_retention)
        self._event_id = 0
        self._seq = 0
        self._finished = 0

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    # -- helpers -------------------------------------------------------------------------------------------

    def _now(self) -> float:
        return float(self._clock())

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _state(self, job_id: str) -> JobState:
        state = self._jobs.get(job_id)
        if state is None:
            raise machine.not_found(job_id)
        return state

    def _put(self, state: JobState) -> JobState:
        old = self._jobs.get(state.job.id)
        self._finished += (state.job.status in FINISHED) - (old is not None and old.job.status in FINISHED)
        self._jobs[state.job.id] = state
        previous = None if old is None else old.job.status
        if old is None or previous != state.job.status:  # a transition: its event, in the same step (§11)
            self._log(job_event(state.job, previous, state.job.updated_ts))
        self._prune()
        return state

    def _log(self, event: NewEvent) -> Event:
        self._event_id += 1
        logged = Event(id=self._event_id, type=event.type, data=event.data)
        self._events.append(logged)
        return logged

    def _prune(self) -> int:
        excess = self._finished - self._retention
        if excess <= 0:
            return 0
        # The oldest finished are the largest finished_key (it sorts newest first).
        for state in heapq.nlargest(excess, self._finished_states(), key=machine.finished_key):
            del self._jobs[state.job.id]
        self._finished -= excess
        return excess

    def _with_status(self, status: str) -> list[JobState]:
        return [s for s in self._jobs.values() if s.job.status == status]

    def _finished_states(self) -> Iterator[JobState]:
        return (s for s in self._jobs.values() if s.job.status in FINISHED)

    def _newest_finished(self, limit: int) -> list[JobState]:
        return heapq.nsmallest(limit, self._finished_states(), key=machine.finished_key)

    # -- transitions ---------------------------------------------------------------------------------------

    async def enqueue(self, spec: JobSpec) -> tuple[Job, bool]:
        existing = self._jobs.get(spec.id)
        if existing is not None:
            machine.check_same_spec(existing, spec)
            return existing.job, False
        return self._put(machine.new_state(spec, self._now(), self._next_seq())).job, True

    async def claim(self, request: ClaimRequest) -> Claimed | None:
        now = self._now()
        queue = request.queue
        queued = [s for s in self._with_status(JobStatus.QUEUED) if s.job.queue == queue and machine.is_due(s.job, now)]
        if not queued:
            return None
        chosen = min(queued, key=machine.claim_key)
        state = machine.claim(chosen, request, now, machine.new_lease_token(), self._next_seq())
        self._put(state)
        return machine.claimed(state)

    async def heartbeat(self, request: HeartbeatRequest) -> Claimed:
        state = self._put(machine.heartbeat(self._state(request.job_id), request, self._now()))
        return machine.claimed(state)

    async def complete(self, request: CompleteRequest, prices: PriceBook) -> Job:
        state = self._state(request.job_id)
        job = self._put(machine.complete(state, request, self._now(), self._next_seq(), prices)).job
        self._learn(job)
        return job

    def _learn(self, job: Job) -> None:
        lesson = lesson_of(job)
        if lesson is None:
            return
        updated = teach(self._records, lesson, min_samples=self._min_samples)
        grew = not updated.keys() <= self._records.keys()
        self._records.update(updated)
        if grew:
            for key in evictions({key: r.last_completed_ts for key, r in self._records.items()}):
                del self._records[key]

    async def fail(self, request: FailRequest, prices: PriceBook) -> Job:
        state = self._state(request.job_id)
        return self._put(machine.fail(state, request, self._now(), self._next_seq(), prices)).job

    async def requeue(self, request: RequeueRequest) -> tuple[Job, bool]:
        state = self._state(request.job_id)
        requeued = machine.requeue(state, request.priority, self._now(), self._next_seq())
        return (state.job, False) if requeued is state else (self._put(requeued).job, True)

    async def cancel(self, job_id: str) -> Job:
        return self._put(machine.cancel(self._state(job_id), self._now(), self._next_seq())).job

    async def leases_expired(self) -> bool:
        now = self._now()
        return any(machine.lease_expired(state, now) for state in self._with_status(JobStatus.RUNNING))

    async def expire_leases(self, prices: PriceBook) -> list[Job]:
        now = self._now()
        expired = [s for s in self._with_status(JobStatus.RUNNING) if machine.lease_expired(s, now)]
        return [
            self._put(machine.expire(state, now, self._next_seq(), self._attempt_cap, prices)).job
            for state in sorted(expired, key=machine.expiry_key)
        ]

    async def prune(self) -> int:
        return self._prune()

    # -- reads ---------------------------------------------------------------------------------------------

    async def get(self, job_id: str) -> Job:
        return self._state(job_id).job

    async def counts(self) -> JobCounts:
        now = self._now()
        due: Counter[str] = Counter()
        later: Counter[str] = Counter()
        active = 0
        for state in self._jobs.values():
            job = state.job
            if job.status == JobStatus.QUEUED:
                (due if machine.is_due(job, now) else later)[job.queue] += 1
            elif job.status == JobStatus.RUNNING:
                active += 1
        return JobCounts(
            queues=QueueDepths(local=due["local"], remote=due["remote"]),
            active=active,
            completed=self._finished,
            scheduled=QueueDepths(local=later["local"], remote=later["remote"]),
        )

    async def running(self) -> QueueDepths:
        per_queue = Counter(state.job.queue for state in self._with_status(JobStatus.RUNNING))
        return QueueDepths(local=per_queue["local"], remote=per_queue["remote"])

    async def state(self, limit: int) -> StatePage:
        queued = sorted(self._with_status(JobStatus.QUEUED), key=machine.claim_key)
        running = sorted(self._with_status(JobStatus.RUNNING), key=machine.active_key)[:limit]
        finished = self._newest_finished(limit)
        return StatePage(
            queues=QueueViews(
                local=[public_view(s.job) for s in queued if s.job.queue == "local"][:limit],
                remote=[public_view(s.job) for s in queued if s.job.queue == "remote"][:limit],
            ),
            active=[public_view(s.job) for s in running],
            completed=[public_view(s.job) for s in finished],
            counts=await self.counts(),
        )

    async def append(self, event: NewEvent) -> Event:
        return self._log(event)

    async def events_after(self, after: int, limit: int) -> list[Event]:
        found: list[Event] = []
        for event in reversed(self._events):  # the newest are the ones a live stream asks for
            if event.id <= after:
                break
            found.append(event)
        found.reverse()
        return found[:limit]

    async def event_bounds(self) -> tuple[int | None, int]:
        return (self._events[0].id if self._events else None), self._event_id

    async def learned_rates(self) -> list[LearnedRate]:
        return [record.learned(place, model) for (place, model), record in self._records.items()]

    async def model_report(self) -> list[ModelEntry]:
        return model_entries((place, model, record) for (place, model), record in self._records.items())

    async def workload(self) -> Workload:
        return workload_of((state.job for state in self._jobs.values()), self._now())

    async def board(self, limit: int) -> Board:
        running = self._with_status(JobStatus.RUNNING)
        return build_board((s.job for s in (*running, *self._newest_finished(limit))), self._now())
