"""The event log's values (§11): what happened, with a strictly increasing id, and the stream request's rules.

Job events are made by the job stores in the same transaction as the transition (:func:`job_event`); provider and
policy events by the services right after the change. ``device`` events are live only and never logged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import msgspec

from computeadvisor.domain.errors import FieldError
from computeadvisor.domain.jobs import QUEUES, Job, JobStatus
from computeadvisor.domain.values import iso_utc

EVENT_TYPES = ("job", "provider", "policy", "device")
LOGGED_TYPES = ("job", "provider", "policy")
DEFAULT_EVENT_RETENTION = 10_000
EventType = Literal["job", "provider", "policy", "device"]


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """One logged event: its id (strictly increasing across the log), type and data (one JSON object)."""

    id: int
    type: str
    data: dict[str, Any]


class NewEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An event before the log gives it its id."""

    type: str
    data: dict[str, Any]


def job_event(job: Job, previous: str | None, ts: float) -> NewEvent:
    """The event of a job's transition from ``previous`` (None: enqueued) to its current status (§11)."""
    return NewEvent(
        type="job",
        data={
            "job_id": job.id,
            "queue": job.queue,
            "from": None if previous is None else str(previous),
            "to": str(job.status),
            "attempt": job.attempt,
            "device_id": job.device_id,
            "provider_id": job.provider_id,
            **({"run_at": job.run_at} if job.status == JobStatus.QUEUED and job.run_at else {}),
            "ts": iso_utc(ts),
        },
    )


def provider_event(provider_id: str, op: Literal["upsert", "delete", "health"], ts: float,
                   ok: bool | None = None) -> NewEvent:  # fmt: skip
    """A provider saved, deleted, or its health flipping (``ok`` only for ``health``)."""
    data: dict[str, Any] = {"provider_id": provider_id, "op": op}
    if ok is not None:
        data["ok"] = ok
    data["ts"] = iso_utc(ts)
    return NewEvent(type="provider", data=data)


def policy_event(policy: Mapping[str, Any], ts: float) -> NewEvent:
    """The GPU policy as stored after it changed."""
    return NewEvent(type="policy", data={"policy": dict(policy), "ts": iso_utc(ts)})


class StreamRequest(msgspec.Struct, frozen=True, kw_only=True):
    """What a client asked of ``GET /api/events``: where to resume and which events it wants."""

    after: int | None = None
    types: frozenset[str] = frozenset(EVENT_TYPES)
    queue: str | None = None

    def wants(self, event: Event) -> bool:
        """Whether this stream carries ``event`` (the queue filter applies to job events only)."""
        if event.type not in self.types:
            return False
        return self.queue is None or event.type != "job" or event.data.get("queue") == self.queue


def _position(value: str, field: str) -> int:
    text = value.strip()
    if not text.isascii() or not text.isdigit():
        raise FieldError(field, "must be a non-negative integer (the id of the last event seen)")
    return int(text)


def parse_stream_request(last_event_id: str | None, query: Mapping[str, str | None]) -> StreamRequest:
    """The stream request from the ``Last-Event-ID`` header and the query (§11); FieldError naming the parameter."""
    after = None
    if last_event_id is not None:
        after = _position(last_event_id, "Last-Event-ID")  # the header wins: a browser's reconnect adds it
    elif query.get("after") is not None:
        after = _position(str(query["after"]), "after")
    types = frozenset(EVENT_TYPES)
    if query.get("types") is not None:
        types = frozenset(t.strip() for t in str(query["types"]).split(",") if t.strip())
        unknown = sorted(types - set(EVENT_TYPES))
        if unknown or not types:
            raise FieldError("types", "must be a comma-separated list of: " + ", ".join(EVENT_TYPES))
    queue = query.get("queue")
    if queue is not None and queue not in QUEUES:
        raise FieldError("queue", "must be one of: " + ", ".join(QUEUES))
    return StreamRequest(after=after, types=types, queue=queue)


class Reset(msgspec.Struct, frozen=True, kw_only=True):
    """Sent first when the client's position is not in the log: ``{oldest, newest}`` retained ids (0 when empty)."""

    oldest: int
    newest: int


def replay_plan(after: int | None, oldest: int | None, newest: int) -> Reset | None:
    """Whether a stream resuming after ``after`` must start with a reset (§11): its position fell out of the log
    (older than the oldest retained event) or was never in it (newer than the newest)."""
    if after is None:
        return None
    first = oldest if oldest is not None else newest + 1
    if after > newest or after < first - 1:
        return Reset(oldest=oldest or 0, newest=newest)
    return None
