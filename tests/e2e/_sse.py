"""A small Server-Sent Events client for the tests: reads one stream over a real HTTP connection, in a thread, so
a test can wait for what it expects with a bounded poll."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.e2e._harness import poll


@dataclass
class SseEvent:
    id: int | None
    type: str | None
    data: Any
    comment: str | None = None


@dataclass
class SseStream:
    """One open stream; ``events`` fills as they arrive, ``ended`` is set when the server closes the stream."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    events: list[SseEvent] = field(default_factory=list)
    status: int | None = None
    ended: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    _opened: queue.Queue[int] = field(default_factory=queue.Queue)

    def start(self) -> SseStream:
        threading.Thread(target=self._read, daemon=True).start()
        self.status = self._opened.get(timeout=10)
        return self

    def _read(self) -> None:
        try:
            with (
                httpx.Client(timeout=httpx.Timeout(10.0, read=None)) as client,
                client.stream("GET", self.url, headers=self.headers) as response,
            ):
                self._opened.put(response.status_code)
                if response.status_code != 200:
                    response.read()
                    return
                fields: dict[str, str] = {}
                comment = None
                for line in response.iter_lines():
                    if line == "":
                        if fields or comment is not None:
                            self.events.append(_event(fields, comment))
                        fields, comment = {}, None
                    elif line.startswith(":"):
                        comment = line[1:].strip()
                    else:
                        name, _, value = line.partition(":")
                        fields[name] = value.removeprefix(" ")
        except (httpx.HTTPError, OSError) as exc:
            self.error = exc
            self._opened.put(0)
        finally:
            self.ended.set()

    def wait_for(self, until: Callable[[list[SseEvent]], bool], timeout_s: float = 10.0) -> list[SseEvent]:
        return poll(lambda: list(self.events), until, timeout_s=timeout_s)

    def logged(self) -> list[SseEvent]:
        """The events with an id (job, provider, policy), in arrival order."""
        return [e for e in self.events if e.id is not None]


def _event(fields: dict[str, str], comment: str | None) -> SseEvent:
    data = json.loads(fields["data"]) if "data" in fields else None
    return SseEvent(id=int(fields["id"]) if "id" in fields else None, type=fields.get("event"), data=data,
                    comment=comment)  # fmt: skip
