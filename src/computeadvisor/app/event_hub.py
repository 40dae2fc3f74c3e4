"""Fan-out of the event log to the open streams (§11), and each stream's bytes.

The log is the one source of truth: a pump reads what was appended since its cursor (when poked after a write, at
most every ``PUMP_INTERVAL_S``, and at least once a second) into a shared *window* of the most recent events, each
encoded once, and wakes the streams. Each stream keeps its own position in the window and sends, in one chunk,
everything after it that it wants. A stream's start position is the pump's cursor when it subscribed: what it
replays comes from the log up to there, what it receives live comes after it, so nothing is missed or repeated. A
stream that falls more than the window's size behind (a client that does not read) is ended, and its client
resumes with ``Last-Event-ID``: memory never grows with a slow client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import msgspec

from computeadvisor.app.background import Outage
from computeadvisor.domain.errors import ComputeAdvisorError, Unavailable
from computeadvisor.domain.events import Event, Reset, StreamRequest, replay_plan
from computeadvisor.ports.event_log import EventLog

log = logging.getLogger("computeadvisor.events")
PAGE = 500
PUMP_INTERVAL_S = 0.02
"""The least time between two passes of the pump: writes in between go out together, one chunk per stream, instead
of waking every stream once per transition (measured in bench/events.py; it adds at most this much latency)."""
STREAM_BUFFER = 1000
"""Undelivered events one stream may hold (§11); past it the stream is ended and its client resumes."""
DEVICE_INTERVAL_S = 2.0
_encode = msgspec.json.Encoder().encode


KEEPALIVE = b": keep-alive\n\n"


def sse(data: bytes, *, event: str | None = None, event_id: int | None = None) -> bytes:
    """One Server-Sent Events message (``data`` is one line of JSON: msgspec escapes newlines in strings)."""
    head = (b"id: %d\n" % event_id if event_id is not None else b"") + (f"event: {event}\n".encode() if event else b"")
    return head + b"data: " + data + b"\n\n"


def encoded(event: Event) -> bytes:
    """A logged event as its message, ready for any stream that wants it."""
    return sse(_encode(event.data), event=event.type, event_id=event.id)


class Subscriber:
    """One open stream: what it asked for, where its live part starts (an event id), what it must hear first (a
    reset), and how far into the hub's window it has read."""

    def __init__(self, request: StreamRequest, start: int, reset: Reset | None, position: int) -> None:
        self.request = request
        self.start = start
        self.reset = reset
        self.position = position  # the window sequence number of the next event to look at
        self.overflowed = False


class EventHub:
    """The open streams of this process and the pump that feeds them.

    Args:
        events: the log.
        max_streams: streams open at once; one more is refused (503).
        buffer: the window: how far (in events) a stream may fall behind before it is ended.
        keepalive_s: the longest a stream stays silent, give or take the pump's second (a comment line is sent).
        poll_s: the longest the pump waits without a poke (another process may have appended).
    """

    def __init__(
        self, events: EventLog, *, max_streams: int, buffer: int, keepalive_s: float, poll_s: float = 1.0
    ) -> None:
        self._log = events
        self._max_streams = max_streams
        self._buffer = buffer
        self._keepalive_s = keepalive_s
        self._poll_s = poll_s
        self.devices: list[Any] = []
        """The device list of the latest hardware sample (§1.1), for ``device`` events; the sampler sets it."""
        self._subscribers: set[Subscriber] = set()
        self._cursor = 0
        self._window: list[tuple[Event, bytes]] = []
        self._base = 0  # the sequence number of the window's first entry
        self._pushed = 0  # events ever put in the window: the next sequence number
        self._arrived = asyncio.Event()  # replaced on every pass: the streams wait on the current one
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
        """Pump until cancelled: after a poke (at most every ``PUMP_INTERVAL_S``), and at least every ``poll_s``
        (another process sharing the log pokes nobody here)."""
        outage = Outage("event pump", log)
        while True:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that arrives as the event is
            # set, and the lifespan would then wait for this task forever (seen under the HTTP tests' shutdowns).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_s):
                    await self._poked.wait()
            self._poked.clear()
            try:
                await self.pump()
                outage.ok()
            except ComputeAdvisorError as exc:  # the database unavailable: the next pass tries again
                outage.failed(exc, self._poll_s)
            except Exception:  # the next poke or second tries again; streams keep their position
                log.exception("event pump failed")
            await asyncio.sleep(PUMP_INTERVAL_S)

    async def pump(self) -> None:
        """Put every event appended since the cursor in the window, end the streams left behind, wake the rest.

        With no stream open it reads nothing: the next stream to open moves the cursor to the log's newest event.
        """
        while self._subscribers:
            page = await self._log.events_after(self._cursor, PAGE)
            events = [event for event in page if event.id > self._cursor]  # the cursor may have moved meanwhile
            self._window.extend((event, encoded(event)) for event in events)  # encoded once, for every stream
            self._pushed += len(events)
            if events:
                self._cursor = events[-1].id
            if len(page) < PAGE:
                break
        if len(self._window) > 2 * self._buffer:  # trimmed now and then, so a trim costs nothing per event
            drop = len(self._window) - self._buffer
            del self._window[:drop]
            self._base += drop
        oldest = self._pushed - self._buffer
        for subscriber in list(self._subscribers):
            if subscriber.position < oldest:  # a client that does not read is let go, never buffered
                subscriber.overflowed = True
                self._subscribers.discard(subscriber)
        self._wake()

    def _wake(self) -> None:
        arrived, self._arrived = self._arrived, asyncio.Event()
        arrived.set()

    async def subscribe(self, request: StreamRequest) -> Subscriber:
        """A new stream, its position fixed now (before the response starts); Unavailable past ``max_streams``.

        Live events are those after the pump's cursor, or after the client's own position when that is further
        (it may have seen events the pump has not handed out yet). A position outside the log means a reset.
        """
        if self._closed or len(self._subscribers) >= self._max_streams:
            raise Unavailable(f"too many event streams (at most {self._max_streams}); try again later")
        oldest, newest = await self._log.event_bounds()
        if not self._subscribers:  # nobody was listening, so the pump skipped what came since: start from now
            self._cursor = max(self._cursor, newest)
        reset = replay_plan(request.after, oldest, max(newest, self._cursor))
        start = self._cursor if reset is not None or request.after is None else max(self._cursor, request.after)
        if self._closed or len(self._subscribers) >= self._max_streams:  # checked again after the read
            raise Unavailable(f"too many event streams (at most {self._max_streams}); try again later")
        subscriber = Subscriber(request, start, reset, self._pushed)
        self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    def close(self) -> None:
        """End every stream cleanly (the server is stopping) and refuse new ones."""
        self._closed = True
        self._subscribers.clear()
        self._wake()

    async def messages(self, subscriber: Subscriber) -> AsyncGenerator[bytes, None]:
        """The stream's bytes: a reset or the replay, then live events, keep-alives and device events; what is
        ready at once goes out in one chunk."""
        request = subscriber.request
        try:
            if subscriber.reset is not None:
                yield sse(_encode(subscriber.reset), event="reset")
            elif request.after is not None:
                async for page in self._replay(request.after, subscriber.start):
                    chunk = b"".join(encoded(event) for event in page if request.wants(event))
                    if chunk:
                        yield chunk
            async for chunk in self._live(subscriber):
                yield chunk
        finally:
            self.unsubscribe(subscriber)

    async def _replay(self, after: int, until: int) -> AsyncIterator[list[Event]]:
        cursor = after
        while cursor < until:
            page = [event for event in await self._log.events_after(cursor, PAGE) if event.id <= until]
            if not page:
                return
            yield page
            cursor = page[-1].id

    async def _live(self, subscriber: Subscriber) -> AsyncIterator[bytes]:
        # Woken by every pass of the pump (at least once a second), so keep-alives and device events need no timer
        # of their own: one wait per pass per stream, nothing more.
        wants_devices = "device" in subscriber.request.types
        next_device = last_sent = time.monotonic()
        while not (self._closed or subscriber.overflowed):  # stopping: end cleanly; the client resumes from its id
            now = time.monotonic()
            if wants_devices and now >= next_device:
                next_device = now + DEVICE_INTERVAL_S
                last_sent = now
                yield sse(_encode({"devices": self.devices}), event="device")
            chunk = self._take(subscriber)
            if chunk:
                last_sent = now
                yield chunk
                continue
            if now - last_sent >= self._keepalive_s:
                last_sent = now
                yield KEEPALIVE
            await self._arrived.wait()  # nothing can arrive between the look above and this wait: no await between

    def _take(self, subscriber: Subscriber) -> bytes:
        """Every message after the stream's position that it wants, joined; its position moves to the end."""
        if subscriber.position >= self._pushed or subscriber.position < self._base:
            return b""
        request = subscriber.request
        chunk = b"".join(
            message
            for event, message in self._window[subscriber.position - self._base :]
            if event.id > subscriber.start and request.wants(event)
        )
        subscriber.position = self._pushed
        return chunk
