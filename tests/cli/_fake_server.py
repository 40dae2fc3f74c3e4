"""A plain ASGI stand-in for the service, for ``computeadvisor check`` tests, served by uvicorn in a thread.

It answers every route the check probes (§6) with the contract's shapes and a ``feature`` object, keeps a tiny
in-memory job queue so the claim cycle works, and records every request. ``broken`` maps (method, path) to a status
the route answers instead, to build a server that is deliberately wrong in known places.
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import uvicorn

HOST = "127.0.0.1"
FEATURE = {"feature": "enable_compute", "enabled": False}
POLICY = {"mode": "auto", "preferred_id": None, "manual_device": "cpu"}
NOW = "2025-10-23T09:15:02Z"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


@dataclass
class Seen:
    """One request the fake server received."""

    method: str
    path: str
    query: str
    authorization: str | None


@dataclass
class _Job:
    id: str
    priority: int
    seq: int
    status: str = "queued"

    def record(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.id, "queue": "local", "priority": self.priority, "status": self.status}


@dataclass
class FakeService:
    """The ASGI app. ``token``: every request needs ``Authorization: Bearer <token>`` (else 401)."""

    broken: Mapping[tuple[str, str], int] = field(default_factory=dict)
    token: str | None = None
    seen: list[Seen] = field(default_factory=list)
    _jobs: dict[str, _Job] = field(default_factory=dict)
    _seq: int = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan is off; nothing else is expected
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        method, path = scope["method"], scope["path"]
        query = scope.get("query_string", b"").decode()
        self.seen.append(Seen(method, path, query, headers.get("authorization")))
        status, payload = self._answer(method, path, query, body, headers.get("authorization"))
        content = json.dumps({**payload, "feature": FEATURE}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(content)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": content})

    def _answer(
        self, method: str, path: str, query: str, raw: bytes, authorization: str | None
    ) -> tuple[int, dict[str, Any]]:
        if self.token is not None and authorization != f"Bearer {self.token}":
            return 401, {"status_code": 401, "detail": "authentication required"}
        if (method, path) in self.broken:
            status = self.broken[(method, path)]
            return status, {"status_code": status, "detail": "deliberately broken"}
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return 400, {"status_code": 400, "detail": "invalid JSON"}
        params = {k: v[-1] for k, v in parse_qs(query).items()}
        answer = self._route(method, path, body if isinstance(body, dict) else {}, params)
        if answer is None:
            return 404, {"status_code": 404, "detail": "not found"}
        return 200, answer

    def _route(self, method: str, path: str, body: dict[str, Any], params: dict[str, str]) -> dict[str, Any] | None:
        cpu = {"id": "cpu", "type": "cpu", "name": "Fake CPU", "load": 1.0}
        match method, path.split("/")[2:]:
            case "GET", ["gpu", "list"]:
                extra = {"metrics": {"ok": True, "gpus": [], "source": "none"}} if params.get("debug") else {}
                return {"devices": [cpu], "policy": POLICY, **extra}
            case "GET", ["gpu", "policy"]:
                return {"policy": POLICY, "modes": ["auto", "manual", "sticky"]}
            case "PUT" | "POST", ["gpu", "policy"]:
                return {"ok": True, "policy": POLICY, "modes": ["auto", "manual", "sticky"]}
            case "GET", ["providers"]:
                return {"providers": [], "stats": {"total": 0, "by_kind": {}}}
            case "POST", ["providers"]:
                return {"ok": True, "provider": {"id": body.get("id"), "kind": body.get("kind"), "meta": {}}}
            case "GET", ["providers", "health"]:
                return {"ok": True, "status": {"ok": True, "echo": True, "provider_id": params.get("id")}}
            case "GET", ["providers", "quota" | "templates"]:
                return {"ok": False, "error": "unsupported", "provider_id": params.get("id")}
            case "DELETE", ["providers", _provider_id]:
                return {"ok": True}
            case "POST", ["compute", "advise"]:
                return {"decision": "cpu", "reason": "no GPU detected on this host", "target": "cpu", "device": "cpu"}
            case "POST", ["compute", "costs"]:
                return {"estimate": {"estimate": 0.0, "currency": "USD"}}
            case _, ["schedule", *rest]:
                return self._schedule(method, rest, body)
        return None

    def _schedule(self, method: str, rest: list[str], body: dict[str, Any]) -> dict[str, Any] | None:
        match method, rest:
            case "GET", ["health"]:
                return {"ok": True, "queues": ["local", "remote"]}
            case "GET", ["state"]:
                depth = sum(job.status == "queued" for job in self._jobs.values())
                counts = {"queues": {"local": depth, "remote": 0}, "active": 0, "completed": 0}
                return {"queues": {"local": [], "remote": []}, "active": [], "completed": [], "counts": counts}
            case "GET", ["board"]:
                return {"jobs": [], "generated_at": NOW}
            case "GET", ["jobs", job_id]:
                job = self._jobs.get(job_id)
                return None if job is None else {"ok": True, "job": job.record()}
            case "POST", ["enqueue"]:
                self._seq += 1
                job_id = str(body.get("id") or secrets.token_hex(6))
                job = self._jobs.setdefault(job_id, _Job(job_id, int(body.get("priority") or 0), self._seq))
                return {"ok": True, "job": job.record(), "created": True}
            case "POST", ["claim"]:
                queued = [job for job in self._jobs.values() if job.status == "queued"]
                if not queued:
                    return {"ok": True, "job": None, "lease": None}
                job = min(queued, key=lambda j: (-j.priority, j.seq))
                job.status = "running"
                return {"ok": True, "job": job.record(), "lease": {"token": f"lease-{job.id}", "expires_at": NOW}}
            case "POST", ["heartbeat" | "complete" | "fail" | "requeue" | "cancel" as action]:
                job = self._jobs.get(str(body.get("job_id")))
                if job is None:
                    return None
                job.status = {"heartbeat": "running", "complete": "succeeded", "fail": "failed"}.get(action, job.status)
                if action == "cancel":
                    job.status = "cancelled"
                elif action == "requeue" and job.status != "queued":
                    self._seq += 1
                    job.status, job.seq = "queued", self._seq
                return {"ok": True, "job": job.record()}
        return None


@contextmanager
def serve_in_thread(app: FakeService) -> Iterator[str]:
    """Serve ``app`` on a free 127.0.0.1 port in a thread; yields its base URL and stops it afterwards."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the fake server did not start"
            time.sleep(0.02)
        yield f"http://{HOST}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
