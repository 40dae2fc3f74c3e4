"""The event stream's pure rules (§11): the request's parameters, the reset decision and the filters."""

from __future__ import annotations

import pytest

from computeadvisor.adapters.memory_jobs import MemoryJobStore
from computeadvisor.app.event_hub import EventHub
from computeadvisor.domain.errors import FieldError, Unavailable
from computeadvisor.domain.events import (
    Event,
    NewEvent,
    Reset,
    StreamRequest,
    parse_stream_request,
    provider_event,
    replay_plan,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_the_header_wins_over_after() -> None:
    assert parse_stream_request("7", {"after": "3"}).after == 7
    assert parse_stream_request(None, {"after": " 3 "}).after == 3
    assert parse_stream_request(None, {}).after is None


@pytest.mark.parametrize(
    ("header", "query", "field"),
    [
        ("-1", {}, "Last-Event-ID"),
        ("x", {"after": "3"}, "Last-Event-ID"),
        (None, {"after": "1.5"}, "after"),
        (None, {"after": "٣"}, "after"),
        (None, {"types": "job,jobs"}, "types"),
        (None, {"types": ","}, "types"),
        (None, {"queue": "LOCAL"}, "queue"),
    ],
)
def test_bad_parameters_name_themselves(header: str | None, query: dict[str, str | None], field: str) -> None:
    with pytest.raises(FieldError) as raised:
        parse_stream_request(header, query)
    assert raised.value.field == field


def test_filters() -> None:
    request = parse_stream_request(None, {"types": "job, provider", "queue": "remote"})
    local = Event(id=1, type="job", data={"queue": "local"})
    remote = Event(id=2, type="job", data={"queue": "remote"})
    provider = Event(id=3, type="provider", data={"provider_id": "p"})
    policy = Event(id=4, type="policy", data={})
    assert [request.wants(e) for e in (local, remote, provider, policy)] == [False, True, True, False]


@pytest.mark.parametrize(
    ("after", "oldest", "newest", "reset"),
    [
        (None, 5, 9, None),
        (4, 5, 9, None),  # the next one is the oldest retained: nothing lost
        (9, 5, 9, None),
        (3, 5, 9, Reset(oldest=5, newest=9)),  # event 4 was lost to retention
        (10, 5, 9, Reset(oldest=5, newest=9)),  # a position this log never gave
        (0, None, 0, None),  # an empty log: from the start
        (2, None, 0, Reset(oldest=0, newest=0)),
    ],
)
def test_when_a_stream_starts_with_a_reset(after: int | None, oldest: int | None, newest: int,
                                           reset: Reset | None) -> None:  # fmt: skip
    assert replay_plan(after, oldest, newest) == reset


async def test_a_stream_that_does_not_read_is_ended_not_buffered() -> None:
    store = MemoryJobStore()
    hub = EventHub(store, max_streams=2, buffer=3, keepalive_s=60)
    await hub.start()
    slow = await hub.subscribe(StreamRequest())
    for n in range(5):
        await store.append(provider_event(f"p{n}", "upsert", 0.0))
    await hub.pump()
    assert slow.overflowed and hub.open_streams == 0  # 5 events behind a window of 3: let go
    assert [m async for m in hub.messages(slow)] == []  # and its stream ends at once


async def test_a_stream_sends_what_arrived_together_in_one_chunk() -> None:
    store = MemoryJobStore()
    hub = EventHub(store, max_streams=2, buffer=100, keepalive_s=60)
    await hub.start()
    reader = await hub.subscribe(StreamRequest(types=frozenset({"provider"})))
    messages = hub.messages(reader)
    for n in range(3):
        await store.append(provider_event(f"p{n}", "upsert", 0.0))
    await hub.pump()
    chunk = await anext(messages)
    assert chunk.count(b"event: provider") == 3 and chunk.startswith(b"id: 1\nevent: provider\ndata: {")
    await messages.aclose()
    assert hub.open_streams == 0


async def test_the_cap_and_closing() -> None:
    hub = EventHub(MemoryJobStore(), max_streams=1, buffer=10, keepalive_s=60)
    await hub.start()
    first = await hub.subscribe(StreamRequest())
    with pytest.raises(Unavailable):
        await hub.subscribe(StreamRequest())
    messages = hub.messages(first)
    hub.close()
    assert [m async for m in messages] == []  # ends at once, cleanly
    with pytest.raises(Unavailable):
        await hub.subscribe(StreamRequest())


class CountingLog:
    """The EventLog port over a memory store, counting the reads the pump makes."""

    def __init__(self) -> None:
        self.store = MemoryJobStore()
        self.reads = 0

    async def append(self, event: NewEvent) -> Event:
        return await self.store.append(event)

    async def events_after(self, after: int, limit: int) -> list[Event]:
        self.reads += 1
        return await self.store.events_after(after, limit)

    async def event_bounds(self) -> tuple[int | None, int]:
        return await self.store.event_bounds()


async def test_with_no_stream_open_the_pump_reads_nothing_and_a_new_stream_starts_from_now() -> None:
    log = CountingLog()
    hub = EventHub(log, max_streams=2, buffer=10, keepalive_s=60)
    await hub.start()
    for n in range(3):
        await log.append(provider_event(f"early{n}", "upsert", 0.0))
        await hub.pump()
    assert log.reads == 0
    reader = await hub.subscribe(StreamRequest(types=frozenset({"provider"})))
    await log.append(provider_event("late", "upsert", 0.0))
    await hub.pump()
    chunk = await anext(hub.messages(reader))
    assert b'"late"' in chunk and b"early" not in chunk  # live only: what came before it opened is not sent
