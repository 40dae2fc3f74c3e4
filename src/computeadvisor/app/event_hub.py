"""Fan-out of the event log to the open streams (§11), and each stream's messages.

The log is the one source of truth: a pump reads what was appended since its cursor (when poked after a write,
and at least once a second for writes it was not told of) and hands each event to every stream that wants it. A
stream's start position is the pump's cursor when it subscribed: what it replays comes from the log up to that
position, what it receives live comes after it, so nothing is missed or repeated. Each stream's buffer is bounded;
one that overflows is ended, and its client resumes with ``Last-Event-ID``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from litestar.response import ServerSentEventMessage

from computeadvisor.domain.errors import Unavailable
from computeadvisor.domain.events import Event, Reset, StreamRequest, replay_plan
from computeadvisor.ports.event_log import EventLog

log = logging.getLogger("computeadvisor.events")
PAGE = 500
STREAM_BUFFER = 1000
"""Undelivered events one stream may hold (§11); past it the stream is ended and its client resumes."""
DEVICE_INTERVAL_S = 2.0
_encode = msgspec.json.Encoder().encode


class Subscriber:
    """One open stream: what it asked for, where its live part starts, what it must hear first (a reset), and its
    bounded buffer (None ends it)."""

    def __init__(self, request: StreamRequest, start: int, reset: Reset | None, capacity: int) -> None:
        self.request = request
        self.start = start
        self.reset = reset
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue(capacity)
        self.overflowed = False


class EventHub:
    """The open streams of this process and the pump that feeds them.

    Args:
        events: the log.
        max_streams: streams open at once; one more is refused (503).
        buffer: undelivered events one stream may hold before it is ended.
        keepalive_s: the longest a stream stays silent (a comment line is sent then).
    """

    def __init__(self, events: EventLog, *, max_streams: int, buffer: int, keepalive_s: float) -> None:
        self._log = events
        self._max_streams = max_streams
        self._buffer = buffer
        self._keepalive_s = keepalive_s
        self.devices: list[Any] = []
        """The device list of the latest hardware sample (§1.1), for ``device`` events; the sampler sets it."""
        self._subscribers: set[Subscriber] = set()
        self._cursor = 0
        self._poked = asyncio.Event()
        self._closed = False

    @property
    def open_streams(self) -> int:
        return len(self._subscribers)

    async def start(self) -> None:
        """Begin at the log's newest event: streams opened from now on start there."""
        self._cursor = (await self._log.event_bounds())[1]

    def poke(self) -> None:
        """Something was appended: pump soon."""
        self._poked.set()

    async def run(self) -> None:
        """Pump until cancelled: after every poke, and at least once a second."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poked.wait(), timeout=1.0)
            self._poked.clear()
            try:
                await self.pump()
            except Exception:  # the next poke or second tries again; streams keep their position
                log.exception("event pump failed")

    async def pump(self) -> None:
        """Hand every event appended since the cursor to the streams that want it."""
        while True:
            events = await self._log.events_after(self._cursor, PAGE)
            for event in events:
                for subscriber in list(self._subscribers):
                    if event.id > subscriber.start and subscriber.request.wants(event):
                        self._offer(subscriber, event)
            if events:
                self._cursor = events[-1].id
            if len(events) < PAGE:
                return

    def _offer(self, subscriber: Subscriber, event: Event) -> None:
        try:
            subscriber.queue.put_nowait(event)
        except asyncio.QueueFull:  # a client that does not read is let go, never buffered without limit
            subscriber.overflowed = True
            self._subscribers.discard(subscriber)

    async def subscribe(self, request: StreamRequest) -> Subscriber:
        """A new stream, its position fixed now (before the response starts); Unavailable past ``max_streams``.

        Live events are those after the pump's cursor, or after the client's own position when that is further
        (it may have seen events the pump has not handed out yet). A position outside the log means a reset.
        """
        if self._closed or len(self._subscribers) >= self._max_streams:
            raise Unavailable(f"too many event streams (at most {self._max_streams}); try again later")
        oldest, newest = await self._log.event_bounds()
        reset = replay_plan(request.after, oldest, max(newest, self._cursor))
        start = self._cursor if reset is not None or request.after is None else max(self._cursor, request.after)
        if self._closed or len(self._subscribers) >= self._max_streams:  # checked again after the read
            raise Unavailable(f"too many event streams (at most {self._max_streams}); try again later")
        subscriber = Subscriber(request, start, reset, self._buffer)
        self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    def close(self) -> None:
        """End every stream cleanly (the server is stopping) and refuse new ones."""
        self._closed = True
        for subscriber in self._subscribers:
            with contextlib.suppress(asyncio.QueueFull):
                subscriber.queue.put_nowait(None)
            subscriber.overflowed = subscriber.queue.full()
        self._subscribers.clear()

    async def messages(self, subscriber: Subscriber) -> AsyncIterator[ServerSentEventMessage]:
        """The stream's messages: a reset or the replay, then live events, keep-alives and device events."""
        request = subscriber.request
        try:
            if subscriber.reset is not None:
                yield ServerSentEventMessage(event="reset", data=_encode(subscriber.reset).decode())
            elif request.after is not None:
                async for event in self._replay(request.after, subscriber.start):
                    if request.wants(event):
                        yield _message(event)
            async for message in self._live(subscriber):
                yield message
        finally:
            self.unsubscribe(subscriber)

    async def _replay(self, after: int, until: int) -> AsyncIterator[Event]:
        cursor = after
        while cursor < until:
            page = [event for event in await self._log.events_after(cursor, PAGE) if event.id <= until]
            if not page:
                return
            for event in page:
                yield event
            cursor = page[-1].id

    async def _live(self, subscriber: Subscriber) -> AsyncIterator[ServerSentEventMessage]:
        wants_devices = "device" in subscriber.request.types
        next_device = time.monotonic()
        while not subscriber.overflowed:
            if self._closed:  # the server is stopping: end cleanly; the client resumes from its last id
                return
            now = time.monotonic()
            if wants_devices and now >= next_device:
                next_device = now + DEVICE_INTERVAL_S
                yield ServerSentEventMessage(event="device", data=_encode({"devices": self.devices}).decode())
            wait = min(self._keepalive_s, next_device - now) if wants_devices else self._keepalive_s
            try:
                event = await asyncio.wait_for(subscriber.queue.get(), timeout=max(wait, 0.0))
            except TimeoutError:
                if not wants_devices:
                    yield ServerSentEventMessage(comment="keep-alive", data=None)
                continue
            if event is None:
                return
            yield _message(event)


def _message(event: Event) -> ServerSentEventMessage:
    return ServerSentEventMessage(id=event.id, event=event.type, data=_encode(event.data).decode())
