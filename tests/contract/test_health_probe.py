"""The HealthProbe port: one contract suite for every adapter, then the HTTP probe against real local servers.

Real connections go only to servers on 127.0.0.1, through a transport that refuses any other address (see
``_health_servers``); fault shapes a real server cannot easily produce use ``httpx.MockTransport``.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator

import httpx
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from computeadvisor.adapters.echo_health import EchoHealthProbe
from computeadvisor.adapters.http_health import BODY_CAP, HttpHealthProbe, default_transport
from computeadvisor.adapters.memory_health import StaticResolver
from computeadvisor.app.health_fanout import probe_all
from computeadvisor.domain.health import ProbeResult, echo_result
from computeadvisor.domain.providers import ProviderRecord
from computeadvisor.ports.health_probe import HealthProbe

from ._health_servers import STREAM_LIMIT, LoopbackOnly, Recorder, RunningServer, serve, wait_until

pytestmark = pytest.mark.anyio

ECHO_PROVIDERS = [
    ProviderRecord(id="echo", kind="remote", base="stub://echo"),
    ProviderRecord(id="m", base="memory://local"),
    ProviderRecord(id="s", base="https://real.example", meta={"service": "echo"}),
    ProviderRecord(id="k", kind="ECHO", base="http://169.254.169.254"),
]


# -- the contract: every adapter ----------------------------------------------------------------------------


@pytest.fixture(params=["echo", "http"])
async def any_probe(request: pytest.FixtureRequest) -> AsyncIterator[tuple[HealthProbe, Recorder, StaticResolver]]:
    recorder, resolver = Recorder(), StaticResolver()
    adapter: HealthProbe = (
        EchoHealthProbe() if request.param == "echo" else HttpHealthProbe(resolver, transport=recorder)
    )
    await adapter.open()
    await adapter.open()  # idempotent
    yield adapter, recorder, resolver
    await adapter.close()
    await adapter.close()


@pytest.mark.parametrize("provider", ECHO_PROVIDERS, ids=lambda p: p.id)
async def test_echo_providers_answer_without_io(
    any_probe: tuple[HealthProbe, Recorder, StaticResolver], provider: ProviderRecord
) -> None:
    probe, recorder, resolver = any_probe
    result = await probe.probe(provider)
    assert result == echo_result()
    assert msgspec.json.encode(result) == b'{"ok":true,"echo":true,"latency_ms":0}'
    assert (recorder.attempts, resolver.lookups) == ([], [])


@pytest.mark.parametrize(
    ("base", "error"),
    [("", "missing base_url"), ("ftp://x/", "unsupported base_url scheme 'ftp'"), ("http://", "base_url has no host")],
)
async def test_bases_that_cannot_be_probed(
    any_probe: tuple[HealthProbe, Recorder, StaticResolver], base: str, error: str
) -> None:
    probe, recorder, _ = any_probe
    assert await probe.probe(ProviderRecord(id="p", base=base)) == ProbeResult(ok=False, error=error)
    assert recorder.attempts == []


async def test_probe_all_keeps_registry_order_and_never_raises(
    any_probe: tuple[HealthProbe, Recorder, StaticResolver],
) -> None:
    probe, _, _ = any_probe
    providers = [*ECHO_PROVIDERS, ProviderRecord(id="empty")]
    results = await probe_all(probe, providers, deadline_s=5.0, limit=2)
    assert results == [echo_result()] * len(ECHO_PROVIDERS) + [ProbeResult(ok=False, error="missing base_url")]
    assert await probe_all(probe, [], deadline_s=5.0) == []


# -- fan-out ------------------------------------------------------------------------------------------------


class SlowFake(HealthProbe):
    """Answers after a delay taken from the provider's meta; counts probes in flight."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.most = 0

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def probe(self, provider: ProviderRecord) -> ProbeResult:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        try:
            await asyncio.sleep(float(provider.meta["delay"]))
            if provider.meta.get("explode"):
                raise RuntimeError("broken adapter")
            return ProbeResult(ok=True, latency_ms=0, status_code=200, payload=provider.id)
        finally:
            self.in_flight -= 1


async def test_probe_all_is_bounded_and_ordered() -> None:
    fake = SlowFake()
    providers = [ProviderRecord(id=str(i), meta={"delay": (7 - i % 7) * 0.002}) for i in range(20)]
    providers[5] = ProviderRecord(id="5", meta={"delay": 0, "explode": True})
    results = await probe_all(fake, providers, deadline_s=5.0, limit=3)
    assert [r.payload for r in results] == [p.id if p.id != "5" else msgspec.UNSET for p in providers]
    assert results[5] == ProbeResult(ok=False, error="probe failed: RuntimeError: broken adapter")
    assert fake.most == 3
    with pytest.raises(ValueError, match="at least 1"):
        await probe_all(fake, providers, deadline_s=5.0, limit=0)


async def test_probe_all_has_one_deadline_and_reports_the_late_as_timed_out() -> None:
    fake = SlowFake()
    providers = [
        ProviderRecord(id="quick", meta={"delay": 0}),
        *(ProviderRecord(id=f"slow{i}", meta={"delay": 60}) for i in range(3)),
    ]
    results = await probe_all(fake, providers, deadline_s=0.2)
    assert results[0].ok is True
    late = ProbeResult(ok=False, error="timed out after 0.2 s (the health check's deadline)", latency_ms=200)
    assert results[1:] == [late] * 3
    assert fake.in_flight == 0  # the late probes were cancelled, not left running


class SilentServer:
    """A TCP server on 127.0.0.1 that accepts connections and never answers; counts them."""

    def __init__(self) -> None:
        self.open = 0
        self.most = 0
        self.total = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open += 1
        self.total += 1
        self.most = max(self.most, self.open)
        try:
            await reader.read()  # until the client hangs up
        finally:
            self.open -= 1
            writer.close()


async def test_outbound_probes_share_one_process_wide_cap_and_every_call_one_deadline() -> None:
    silent = SilentServer()
    server = await asyncio.start_server(silent.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    providers = [ProviderRecord(id=f"p{i}", base=f"http://127.0.0.1:{port}") for i in range(10)]
    async with server, HttpHealthProbe(StaticResolver(), timeout_s=0.3, max_in_flight=4) as probe:
        calls = [probe_all(probe, providers, deadline_s=0.3) for _ in range(4)]
        answers = await asyncio.gather(*calls)
    assert silent.most <= 4, silent.most  # 40 probes wanted at once; the cap let 4 out
    assert 1 <= silent.total <= 8, silent.total  # the deadline ended the rest before they ever connected
    for results in answers:
        assert len(results) == 10
        assert all(not r.ok and r.error is not msgspec.UNSET and "timed out" in r.error for r in results), results


# -- HTTP against real servers on 127.0.0.1 ------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with serve() as running:
        yield running


@pytest.fixture
async def http(server: RunningServer) -> AsyncIterator[HttpHealthProbe]:
    """A probe on the production transport, fenced to loopback, with a 0.5 s deadline and a resolver table."""
    fence = LoopbackOnly(default_transport())
    resolver = StaticResolver({"health.test": ["127.0.0.1"]})
    async with HttpHealthProbe(resolver, timeout_s=0.5, transport=fence) as probe:
        yield probe
    assert fence.refused == []


def at(server: RunningServer, route: str, **meta: object) -> ProviderRecord:
    return ProviderRecord(id="p", kind="custom", base=f"{server.base}/{route}", meta=dict(meta))


async def test_healthy_json(http: HttpHealthProbe, server: RunningServer) -> None:
    result = await http.probe(at(server, "json"))
    assert (result.ok, result.status_code, result.payload) == (True, 200, {"status": "ok", "gpus": 2})
    assert isinstance(result.latency_ms, int)
    assert result.latency_ms >= 0
    assert result.error is msgspec.UNSET
    assert list(msgspec.json.decode(msgspec.json.encode(result))) == ["ok", "latency_ms", "status_code", "payload"]


async def test_host_name_is_resolved_once_and_kept_in_the_host_header(
    http: HttpHealthProbe, server: RunningServer
) -> None:
    before = len(server.log.requests)
    result = await http.probe(ProviderRecord(id="p", base=f"http://health.test:{server.port}/json/"))
    assert result.ok
    seen = server.log.requests[before:]
    assert [s.path for s in seen] == ["/json/health"]
    assert seen[0].headers["host"] == f"health.test:{server.port}"


async def test_root_base_probes_slash_health(http: HttpHealthProbe, server: RunningServer) -> None:
    assert (await http.probe(ProviderRecord(id="p", base=server.base + "/"))).payload == {"root": True}
    assert (await http.probe(at(server, "health"))).payload == {"root": True}


@pytest.mark.parametrize(
    ("route", "ok", "status", "payload"),
    [
        ("text", True, 200, {"body": "all good"}),
        ("latin", True, 200, {"body": "café"}),
        ("weird-charset", True, 200, {"body": "plain"}),
        ("missing", True, 404, {"body": "<h1>Not Found</h1>"}),
        ("broken", False, 500, {"error": "boom"}),
        ("unavailable", False, 503, {"body": "down"}),
        ("redirect", True, 302, {"body": ""}),
        ("other", True, 200, [{"service": "a", "up": True}, None, 3.5]),
        ("problem", True, 200, {"x": 1}),
        ("badjson", True, 200, {"body": "{not json"}),
        ("null", True, 200, None),
    ],
)
async def test_answers(
    http: HttpHealthProbe, server: RunningServer, route: str, ok: bool, status: int, payload: object
) -> None:
    result = await http.probe(at(server, route))
    assert (result.ok, result.status_code, result.payload) == (ok, status, payload)
    assert result.error is msgspec.UNSET


async def test_redirect_is_not_followed(http: HttpHealthProbe, server: RunningServer) -> None:
    before = len(server.log.requests)
    result = await http.probe(at(server, "redirect"))
    assert result.status_code == 302
    assert [s.path for s in server.log.requests[before:]] == ["/redirect/health"]
    # the fixture's fence also asserts no request left loopback


@pytest.mark.parametrize("route", ["slow", "drip"])
async def test_slow_servers_hit_the_deadline(http: HttpHealthProbe, server: RunningServer, route: str) -> None:
    result = await http.probe(at(server, route))
    assert result.ok is False
    assert result.error == "timed out after 0.5 s"
    assert isinstance(result.latency_ms, int)
    assert result.status_code is msgspec.UNSET


async def test_huge_body_is_read_only_up_to_the_cap(http: HttpHealthProbe, server: RunningServer) -> None:
    result = await http.probe(at(server, "huge"))
    assert (result.ok, result.status_code) == (True, 200)
    assert result.payload == {"body": "x" * BODY_CAP}
    # The server streams up to 1 GiB; it must see the probe hang up long before that.
    assert wait_until(lambda: bool(server.log.huge_sent))
    assert server.log.huge_sent[-1] < STREAM_LIMIT // 8


async def test_json_over_the_cap_falls_back_to_text(http: HttpHealthProbe, server: RunningServer) -> None:
    result = await http.probe(at(server, "bigjson"))
    assert isinstance(result.payload, dict)
    body = result.payload["body"]
    assert len(body) == BODY_CAP
    assert body.startswith('{"data": "yyy')


async def test_no_credentials_cookies_or_meta_are_sent(http: HttpHealthProbe, server: RunningServer) -> None:
    before = len(server.log.requests)
    secret_base = f"http://alice:pa55word@127.0.0.1:{server.port}"
    meta = {"api_key": "k-123", "token": "t-456", "headers": {"Authorization": "Bearer zzz"}}
    for route in ("cookie", "cookie", "json"):
        assert (await http.probe(ProviderRecord(id="p", base=f"{secret_base}/{route}", meta=meta))).ok
    seen = server.log.requests[before:]
    assert len(seen) == 3
    for request in seen:
        assert "authorization" not in request.headers
        assert "cookie" not in request.headers
        values = " ".join(request.headers.values())
        for secret in ("pa55word", "alice", "k-123", "t-456", "zzz", "s3cret"):
            assert secret not in values
        assert request.headers["accept-encoding"] == "identity"


async def test_connection_refused_is_an_error_with_latency(http: HttpHealthProbe) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = await http.probe(ProviderRecord(id="p", base=f"http://127.0.0.1:{port}"))
    assert result.ok is False
    assert isinstance(result.error, str)
    assert result.error.startswith("ConnectError")
    assert isinstance(result.latency_ms, int)


async def test_unknown_host_is_an_error(http: HttpHealthProbe) -> None:
    result = await http.probe(ProviderRecord(id="p", base="http://nowhere.test/"))
    assert result.ok is False
    assert isinstance(result.error, str)
    assert result.error.startswith("cannot resolve host 'nowhere.test'")


async def test_probe_before_open_and_after_close_still_works(server: RunningServer) -> None:
    fence = LoopbackOnly(default_transport())
    probe = HttpHealthProbe(StaticResolver(), timeout_s=2, transport=fence)
    assert (await probe.probe(at(server, "json"))).ok
    await probe.close()
    assert fence.refused == []


# -- fault shapes a real server cannot easily produce ---------------------------------------------------------


def mocked(handler: httpx.MockTransport) -> HttpHealthProbe:
    return HttpHealthProbe(StaticResolver({"h.test": ["203.0.113.7"]}), timeout_s=1, transport=handler)


class FailingStream(httpx.AsyncByteStream):
    def __init__(self, error: Exception) -> None:
        self.error = error

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b'{"partial": '
        raise self.error


@pytest.mark.parametrize(
    "error",
    [
        httpx.ReadError("connection reset by peer"),
        httpx.RemoteProtocolError("peer closed connection without sending complete message body"),
        httpx.ReadTimeout("read timed out"),
        ConnectionResetError(104, "Connection reset by peer"),
        RuntimeError("something nobody expected"),
    ],
)
async def test_errors_while_reading_the_body(error: Exception) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "application/json"}, stream=FailingStream(error))

    async with mocked(httpx.MockTransport(handler)) as probe:
        result = await probe.probe(ProviderRecord(id="p", base="http://h.test"))
    assert result.ok is False
    assert result.error == f"{type(error).__name__}: {error}"
    assert isinstance(result.latency_ms, int)


@pytest.mark.parametrize(
    "error",
    [
        httpx.ConnectError("[Errno 113] No route to host"),
        httpx.ConnectTimeout("timed out"),
        httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"),
    ],
)
async def test_errors_before_the_answer(error: Exception) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    async with mocked(httpx.MockTransport(handler)) as probe:
        result = await probe.probe(ProviderRecord(id="p", base="https://h.test"))
    assert result.ok is False
    assert result.error == f"{type(error).__name__}: {error}"


async def test_deeply_nested_json_falls_back_to_text() -> None:
    body = b"[" * 60_000

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "application/json"}, content=body)

    async with mocked(httpx.MockTransport(handler)) as probe:
        result = await probe.probe(ProviderRecord(id="p", base="http://h.test"))
    assert result.ok
    assert result.payload == {"body": "[" * 60_000}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    status=st.integers(min_value=200, max_value=599),
    content_type=st.sampled_from(["application/json", "text/plain; charset=utf-16", "application/json; charset=x"]),
    body=st.binary(max_size=2048) | st.text(max_size=200).map(str.encode),
)
async def test_no_answer_raises(status: int, content_type: str, body: bytes) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers={"content-type": content_type}, content=body)

    async with HttpHealthProbe(StaticResolver(), body_cap=512, transport=httpx.MockTransport(handler)) as probe:
        result = await probe.probe(ProviderRecord(id="p", base="http://198.51.100.1"))
    assert result.ok is (status < 500)
    assert result.status_code == status
    msgspec.json.encode(result)
    if isinstance(result.payload, dict) and set(result.payload) == {"body"}:
        assert len(result.payload["body"]) <= 512
