"""Real HTTP(S) servers on 127.0.0.1 and guard-rail transports for the health probe tests.

The hard rule these helpers enforce: no test sends traffic anywhere but loopback, even if the address guard were
broken. Real connections only go through :class:`LoopbackOnly`, which refuses any other address before a socket
is opened; guard tests use :class:`Recorder`, which records where it was asked to connect and never connects.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

LOOPBACK = frozenset({"127.0.0.1", "::1"})
STREAM_LIMIT = 1 << 30  # the huge body stops by itself after 1 GiB, so a broken cap cannot hang the run


class OffLoopback(Exception):
    """A test tried to reach an address other than loopback."""


class LoopbackOnly(httpx.AsyncBaseTransport):
    """Passes requests to a real transport only when the URL is a loopback IP; records and refuses the rest."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.refused: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host not in LOOPBACK:
            self.refused.append(str(request.url))
            raise OffLoopback(f"test transport refuses {request.url.host}")
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class Attempt:
    """One connection the probe asked for: the address and port, and what it would have said there."""

    host: str
    port: int | None
    host_header: str | None
    sni_hostname: str | None
    headers: dict[str, str]


class Recorder(httpx.AsyncBaseTransport):
    """Records every request instead of connecting, and answers 200 with a small JSON body."""

    def __init__(self) -> None:
        self.attempts: list[Attempt] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.attempts.append(
            Attempt(
                host=request.url.host,
                port=request.url.port,
                host_header=request.headers.get("host"),
                sni_hostname=request.extensions.get("sni_hostname"),
                headers=dict(request.headers),
            )
        )
        return httpx.Response(200, json={"recorded": True})


@dataclass
class Seen:
    """What the server saw of one request."""

    path: str
    headers: dict[str, str]


@dataclass
class ServerLog:
    requests: list[Seen] = field(default_factory=list)
    huge_sent: list[int] = field(default_factory=list)  # bytes the huge body got out before the client hung up
    server_names: list[str | None] = field(default_factory=list)  # TLS SNI, for the https server
    stop: threading.Event = field(default_factory=threading.Event)


def _handler(log: ServerLog) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.0: the connection closes after each answer, so a body without Content-Length ends at close.
        def log_message(self, format: str, *args: Any) -> None:
            return None

        def do_GET(self) -> None:
            log.requests.append(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}))
            route = ROUTES.get(self.path.split("?", 1)[0])
            if route is None:
                self._send(404, "text/plain", b"no such route")
                return
            route(self, log)

        def _send(self, status: int, content_type: str, body: bytes, **headers: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.end_headers()
            self.wfile.write(body)

    return Handler


Route = Callable[[Any, ServerLog], None]


def _json(status: int, value: Any, content_type: str = "application/json") -> Route:
    return lambda h, log: h._send(status, content_type, json.dumps(value).encode())


def _raw(status: int, content_type: str, body: bytes, **headers: str) -> Route:
    return lambda h, log: h._send(status, content_type, body, **headers)


def _slow(h: Any, log: ServerLog) -> None:
    log.stop.wait(3.0)  # longer than the tests' timeout; released at shutdown
    if not log.stop.is_set():
        h._send(200, "application/json", b'{"status":"late"}')


def _drip(h: Any, log: ServerLog) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "text/plain")
    h.end_headers()
    try:
        for _ in range(200):  # one byte every 50 ms: each read is quick, the whole body is not
            if log.stop.wait(0.05):
                return
            h.wfile.write(b".")
            h.wfile.flush()
    except OSError:
        return


def _huge(h: Any, log: ServerLog) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "text/plain")
    h.end_headers()
    chunk = b"x" * (256 * 1024)
    sent = 0
    try:
        while sent < STREAM_LIMIT and not log.stop.is_set():
            h.wfile.write(chunk)
            sent += len(chunk)
    except OSError:  # the probe hung up after its cap: the point of the test
        pass
    log.huge_sent.append(sent)


ROUTES: dict[str, Route] = {
    "/json/health": _json(200, {"status": "ok", "gpus": 2}),
    "/text/health": _raw(200, "text/plain; charset=utf-8", b"all good"),
    "/latin/health": _raw(200, "text/plain; charset=latin-1", "café".encode("latin-1")),
    "/weird-charset/health": _raw(200, "text/plain; charset=base64", b"plain"),
    "/health": _json(200, {"root": True}),
    "/missing/health": _raw(404, "text/html", b"<h1>Not Found</h1>"),
    "/broken/health": _json(500, {"error": "boom"}),
    "/unavailable/health": _raw(503, "text/plain", b"down"),
    "/slow/health": _slow,
    "/drip/health": _drip,
    "/huge/health": _huge,
    "/redirect/health": _raw(302, "text/plain", b"", Location="http://169.254.169.254/latest/meta-data/"),
    "/other/health": _json(200, [{"service": "a", "up": True}, None, 3.5]),
    "/problem/health": _json(200, {"x": 1}, content_type="Application/JSON; charset=utf-8"),
    "/badjson/health": _raw(200, "application/json", b"{not json"),
    "/bigjson/health": _json(200, {"data": "y" * (200 * 1024)}),
    "/null/health": _raw(200, "application/json", b"null"),
    "/cookie/health": _raw(200, "text/plain", b"ok", Set_Cookie="session=s3cret; Path=/"),
}


@dataclass
class RunningServer:
    base: str
    port: int
    log: ServerLog


@contextlib.contextmanager
def serve(tls: ssl.SSLContext | None = None) -> Iterator[RunningServer]:
    """Run the routes above on 127.0.0.1 (a free port) in a thread; https when a server TLS context is given."""
    log = ServerLog()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(log))
    server.daemon_threads = True
    if tls is not None:
        tls.sni_callback = lambda sock, name, ctx: log.server_names.append(name)
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    scheme = "https" if tls is not None else "http"
    try:
        yield RunningServer(base=f"{scheme}://127.0.0.1:{port}", port=port, log=log)
    finally:
        log.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def make_certificate(directory: Path, name: str) -> tuple[Path, Path] | None:
    """A self-signed certificate and key for ``name`` made with the openssl command; None without openssl."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            f"/CN={name}",
            "-addext",
            f"subjectAltName=DNS:{name}",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert, key


def wait_until(predicate: Callable[[], bool], timeout_s: float = 5.0) -> bool:
    """Poll ``predicate`` until it holds or ``timeout_s`` seconds pass (for what server threads report late)."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
