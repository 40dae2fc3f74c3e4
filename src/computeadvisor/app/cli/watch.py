"""``computeadvisor queue watch``: the dashboard's queue view in a terminal, kept live by the event stream (§11).

Each job event refetches ``state`` (so the view is always the server's, never a replay computed here); a dropped
stream is resumed from the last event id with a capped backoff, and a ``reset`` refetches everything.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import click
import httpx
import msgspec
from rich.console import Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from computeadvisor.app.cli.client import Api, server_options
from computeadvisor.client.sse import SseMessage, parse_sse

BACKOFF_S = (0.5, 1.0, 2.0, 5.0)
"""Waits before reconnecting after a dropped stream, the last repeated while the server stays away."""
LIMIT = 10
RECENT_EVENTS = 5


def _since(iso: str | None, now: float) -> str:
    if not iso:
        return "—"
    seconds = now - datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    return f"{seconds:.0f} s" if abs(seconds) < 90 else f"{seconds / 60:.1f} min"


def render(state: dict[str, Any], events: list[str], status: str) -> RenderableType:
    """The view: totals, running, queued and finished jobs, the latest events."""
    now = time.time()
    counts = state["counts"]
    head = Text.assemble(
        ("computeadvisor queue watch", "bold"), f"  ·  {status}  ·  queued local {counts['queues']['local']}, ",
        f"remote {counts['queues']['remote']}  ·  running {counts['active']}  ·  finished {counts['completed']}",
    )  # fmt: skip
    running = Table("job", "device", "elapsed", "lease ends in", title="Running", title_justify="left", expand=True)
    for job in state["active"]:
        lease = job.get("lease_expires_at")
        ends = _since(lease, now).removeprefix("-") if lease else "—"
        running.add_row(job["id"], job["device_id"] or "—", _since(job["started_at"], now), ends)
    queued = Table("job", "queue", "priority", "waiting", title="Queued", title_justify="left", expand=True)
    for job in [*state["queues"]["local"], *state["queues"]["remote"]]:
        queued.add_row(job["id"], job["queue"], str(job["priority"]), _since(job["created_at"], now))
    finished = Table("job", "status", "duration", "cost", title="Recently finished", title_justify="left", expand=True)
    for job in state["completed"]:
        duration = job["duration_sec"]
        cost = job["cost_estimate"]
        finished.add_row(job["id"], job["status"], "—" if duration is None else f"{duration:.1f} s",
                         "—" if cost is None else f"{cost:.4f}")  # fmt: skip
    return Group(head, running, queued, finished, Text("\n".join(events) or "waiting for events…", style="dim"))


def describe(message: SseMessage) -> str:
    """One line for an event."""
    data = msgspec.json.decode(message.data)
    if message.event == "job":
        where = f" on {data['device_id']}" if data.get("device_id") else ""
        return f"#{message.id} {data['job_id']}: {data['from'] or 'new'} → {data['to']}{where}"
    return f"#{message.id} {message.event} {data}"


@click.command("watch")
@server_options
@click.option("--queue", "queue_name", type=click.Choice(["local", "remote"]), help="Only this queue's job events.")
@click.option("--max-events", type=int, help="Exit after this many job events (for scripts); default: until Ctrl-C.")
def watch(api: Api, queue_name: str | None, max_events: int | None) -> None:
    """A live view of the queues, updated by the server's event stream; Ctrl-C to stop."""
    params = {"types": "job", **({"queue": queue_name} if queue_name else {})}
    last_id: int | None = None
    seen = 0
    events: list[str] = []
    failures = 0
    with Live(render(api.call("GET", "/api/schedule/state", params={"limit": LIMIT}), events, "connecting"),
              refresh_per_second=4) as live:  # fmt: skip
        while max_events is None or seen < max_events:
            headers = {"Last-Event-ID": str(last_id)} if last_id is not None else {}
            try:
                with api.stream("/api/events", params=params, headers=headers) as lines:
                    failures = 0
                    live.update(render(api.call("GET", "/api/schedule/state", params={"limit": LIMIT}), events, "live"))
                    for message in parse_sse(lines):
                        if message.event == "job":
                            last_id, seen = message.id, seen + 1
                            events = [describe(message), *events][:RECENT_EVENTS]
                        state = api.call("GET", "/api/schedule/state", params={"limit": LIMIT})
                        live.update(render(state, events, "live"))
                        if max_events is not None and seen >= max_events:
                            return
            except httpx.HTTPError:
                pass
            wait = BACKOFF_S[min(failures, len(BACKOFF_S) - 1)]
            failures += 1
            live.update(Text(f"stream lost; reconnecting in {wait:.1f} s (from event {last_id or 'now'})"))
            time.sleep(wait)
