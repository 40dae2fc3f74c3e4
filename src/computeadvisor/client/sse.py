"""Server-Sent Events (``GET /api/events``) read line by line."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field


@dataclass
class SseMessage:
    """One Server-Sent Events message (``id`` None for live-only ones such as ``reset``)."""

    event: str
    data: str
    id: int | None = None


@dataclass
class _Pending:
    event: str = "message"
    data: list[str] = field(default_factory=list)
    id: int | None = None


def parse_sse(lines: Iterable[str]) -> Iterator[SseMessage]:
    """The messages of an event stream, line by line (comments such as keep-alives are skipped)."""
    pending = _Pending()
    for line in lines:
        if not line:
            if pending.data:
                yield SseMessage(event=pending.event, data="\n".join(pending.data), id=pending.id)
            pending = _Pending()
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            pending.event = value
        elif name == "data":
            pending.data.append(value)
        elif name == "id" and value.isdigit():
            pending.id = int(value)
