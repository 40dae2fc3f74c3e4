"""The uvicorn server ``computeadvisor serve`` runs (imported only by that command)."""

from __future__ import annotations

import asyncio
import socket
from types import FrameType

import uvicorn

from computeadvisor.app.event_hub import EventHub

SHUTDOWN_GRACE_S = 10
"""Seconds a stopping server waits for requests in flight before it closes their connections."""


class StreamEndingServer(uvicorn.Server):
    """uvicorn, ending every event stream as soon as it is asked to stop: otherwise a graceful shutdown would wait
    for streams that never end on their own, and their clients would see a broken connection instead of an end."""

    def __init__(self, config: uvicorn.Config, events: EventHub) -> None:
        super().__init__(config)
        self._events = events
        self._loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._loop is not None:  # a signal handler: hand the closing to the loop
            self._loop.call_soon_threadsafe(self._events.close)
        super().handle_exit(sig, frame)
