"""The HTTP probe's address guard and pinning, end to end through the adapter (§2.8, §7).

Guard tests never connect: the probe sends through a ``Recorder`` transport, which notes the address it was asked
to connect to, and names resolve through a ``StaticResolver`` table. Only the TLS tests connect, to a server on
127.0.0.1, behind a transport that refuses every other address.
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from computeadvisor.adapters.dns_resolver import SystemResolver
from computeadvisor.adapters.http_health import HttpHealthProbe, default_transport
from computeadvisor.adapters.memory_health import StaticResolver
from computeadvisor.domain.address_guard import IPAddress
from computeadvisor.domain.errors import UnresolvableHost
from computeadvisor.domain.health import ProbeResult
from computeadvisor.domain.providers import ProviderRecord

from ._health_servers import LoopbackOnly, Recorder, RunningServer, make_certificate, serve

pytestmark = pytest.mark.anyio

NAMES = {
    "metadata.google.internal": ["169.254.169.254"],
    "instance-data.ec2.internal": ["169.254.169.254"],
    "metadata.aws6.test": ["fd00:ec2::254"],
    "metadata.alibaba.test": ["100.100.100.200"],
    "mapped.test": ["::ffff:169.254.169.254"],
    "nat64.test": ["64:ff9b::a9fe:a9fe"],
    "linklocal6.test": ["fe80::1"],
    "loopback.test": ["127.0.0.1"],
    "lan.test": ["192.168.1.20"],
    "public.test": ["93.184.215.14"],
    "rebind.test": ["93.184.215.14", "169.254.169.254"],
    "metadata-first.test": ["169.254.169.254", "93.184.215.14"],
    "dual.test": ["2001:db8::10", "93.184.215.14"],
}

# Hosts as written in a stored base: every one of them spells or resolves to a blocked address.
BLOCKED = [
    "169.254.169.254",
    "0xa9fea9fe",
    "2852039166",
    "0251.0376.0251.0376",
    "169.254.43518",
    "169.254.169.254.",
    "[::ffff:169.254.169.254]",
    "[::ffff:a9fe:a9fe]",
    "[fe80::1]",
    "[fe80::1%25eth0]",
    "[fd00:ec2::254]",
    "100.100.100.200",
    "１６９．２５４．１６９．２５４",
    "metadata.google.internal",
    "instance-data.ec2.internal",
    "metadata.aws6.test",
    "metadata.alibaba.test",
    "mapped.test",
    "nat64.test",
    "linklocal6.test",
    "metadata-first.test",
]

# (host in the base, the address the probe must connect to, denied by the deny-private switch)
ALLOWED = [
    ("127.0.0.1", "127.0.0.1", True),
    ("2130706433", "127.0.0.1", True),
    ("10.0.0.1", "10.0.0.1", True),
    ("192.168.1.1", "192.168.1.1", True),
    ("172.16.5.4", "172.16.5.4", True),
    ("[::1]", "::1", True),
    ("[fd12::1]", "fd12::1", True),
    ("loopback.test", "127.0.0.1", True),
    ("lan.test", "192.168.1.20", True),
    ("8.8.8.8", "8.8.8.8", False),
    ("public.test", "93.184.215.14", False),
    ("dual.test", "2001:db8::10", False),
]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def resolver() -> StaticResolver:
    return StaticResolver(NAMES)


def probe_with(resolver: StaticResolver, recorder: Recorder, *, deny_private: bool = False) -> HttpHealthProbe:
    return HttpHealthProbe(resolver, transport=recorder, deny_private=deny_private)


@pytest.mark.parametrize("deny_private", [False, True])
@pytest.mark.parametrize("host", BLOCKED)
async def test_blocked_hosts_never_get_a_connection(
    resolver: StaticResolver, recorder: Recorder, host: str, deny_private: bool
) -> None:
    async with probe_with(resolver, recorder, deny_private=deny_private) as probe:
        for scheme in ("http", "https"):
            result = await probe.probe(ProviderRecord(id="p", base=f"{scheme}://{host}:8080/x"))
            assert result.ok is False
            assert isinstance(result.error, str)
            assert "is blocked" in result.error
            assert result == ProbeResult(ok=False, error=result.error)  # no latency, status or payload
    assert recorder.attempts == []
    assert len(resolver.lookups) in (0, 2)  # literals are never resolved; a name once per probe


@pytest.mark.parametrize(("host", "address", "private"), ALLOWED)
async def test_allowed_hosts_connect_to_the_checked_address(
    resolver: StaticResolver, recorder: Recorder, host: str, address: str, private: bool
) -> None:
    async with probe_with(resolver, recorder) as probe:
        result = await probe.probe(ProviderRecord(id="p", base=f"http://{host}:8080/x"))
    assert (result.ok, result.status_code, result.payload) == (True, 200, {"recorded": True})
    [attempt] = recorder.attempts
    assert ipaddress.ip_address(attempt.host) == ipaddress.ip_address(address)
    assert attempt.port == 8080


@pytest.mark.parametrize(("host", "address", "private"), ALLOWED)
async def test_deny_private_switch(
    resolver: StaticResolver, recorder: Recorder, host: str, address: str, private: bool
) -> None:
    async with probe_with(resolver, recorder, deny_private=True) as probe:
        result = await probe.probe(ProviderRecord(id="p", base=f"http://{host}/"))
    if private:
        assert result.ok is False
        assert isinstance(result.error, str)
        assert "is blocked" in result.error
        assert recorder.attempts == []
    else:
        assert result.ok
        assert [ipaddress.ip_address(a.host) for a in recorder.attempts] == [ipaddress.ip_address(address)]


async def test_pinning_keeps_the_first_address(resolver: StaticResolver, recorder: Recorder) -> None:
    async with probe_with(resolver, recorder) as probe:
        result = await probe.probe(ProviderRecord(id="p", base="https://rebind.test:8443/api"))
    assert result.ok
    assert resolver.lookups == ["rebind.test"]
    [attempt] = recorder.attempts
    assert (attempt.host, attempt.port) == ("93.184.215.14", 8443)
    assert attempt.host_header == "rebind.test:8443"
    assert attempt.sni_hostname == "rebind.test"  # the certificate must still match the name, not the IP


async def test_sni_only_for_https_names(resolver: StaticResolver, recorder: Recorder) -> None:
    async with probe_with(resolver, recorder) as probe:
        await probe.probe(ProviderRecord(id="p", base="http://public.test"))
        await probe.probe(ProviderRecord(id="p", base="https://8.8.8.8"))
        await probe.probe(ProviderRecord(id="p", base="https://[2001:db8::1]:444"))
    assert [(a.host, a.host_header, a.sni_hostname) for a in recorder.attempts] == [
        ("93.184.215.14", "public.test", None),
        ("8.8.8.8", "8.8.8.8", None),
        ("2001:db8::1", "[2001:db8::1]:444", None),
    ]


class FlippingResolver(StaticResolver):
    """DNS rebinding: a public address on the first lookup, the metadata address on every later one."""

    async def resolve(self, host: str) -> list[IPAddress]:
        self.lookups.append(host)
        first = len(self.lookups) == 1
        return [ipaddress.ip_address("93.184.215.14" if first else "169.254.169.254")]


async def test_dns_rebinding_cannot_move_a_probe(recorder: Recorder) -> None:
    resolver = FlippingResolver()
    async with probe_with(resolver, recorder) as probe:
        first = await probe.probe(ProviderRecord(id="p", base="http://flip.test"))
        second = await probe.probe(ProviderRecord(id="p", base="http://flip.test"))
    assert first.ok
    assert second.ok is False
    assert resolver.lookups == ["flip.test", "flip.test"]  # exactly one lookup per probe
    assert [a.host for a in recorder.attempts] == ["93.184.215.14"]


async def test_headers_carry_no_credentials(resolver: StaticResolver, recorder: Recorder) -> None:
    provider = ProviderRecord(
        id="p", base="https://bob:hunter2@public.test/v1?x=1", meta={"api_key": "k", "authorization": "Bearer t"}
    )
    async with probe_with(resolver, recorder) as probe:
        assert (await probe.probe(provider)).ok
    [attempt] = recorder.attempts
    assert set(attempt.headers) == {"host", "accept", "accept-encoding", "user-agent"}
    assert "hunter2" not in str(attempt.headers)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tail=st.text(alphabet=list("/\\@:?#%.[]a1 \t\r\né"), max_size=30))
async def test_no_path_or_query_can_move_the_connection(tail: str) -> None:
    recorder = Recorder()
    async with probe_with(StaticResolver(NAMES), recorder) as probe:
        result = await probe.probe(ProviderRecord(id="p", base=f"http://public.test/{tail}"))
    assert [a.host for a in recorder.attempts] in ([], ["93.184.215.14"])
    assert all(a.host_header == "public.test" for a in recorder.attempts)
    assert result.ok is bool(recorder.attempts)


# -- TLS: the pinned connection still checks the certificate against the name ---------------------------------


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    made = make_certificate(tmp_path_factory.mktemp("tls"), "health.test")
    if made is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    return made


@pytest.fixture(scope="module")
def tls_server(tls_files: tuple[Path, Path]) -> Iterator[RunningServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*tls_files)
    with serve(context) as running:
        yield running


@pytest.fixture
async def tls_probe(tls_files: tuple[Path, Path]) -> AsyncIterator[tuple[HttpHealthProbe, LoopbackOnly]]:
    trust = ssl.create_default_context(cafile=str(tls_files[0]))
    fence = LoopbackOnly(default_transport(trust))
    names = StaticResolver({"health.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
    async with HttpHealthProbe(names, timeout_s=3, transport=fence) as probe:
        yield probe, fence
    assert fence.refused == []


async def test_tls_to_a_pinned_address_uses_the_name(
    tls_probe: tuple[HttpHealthProbe, LoopbackOnly], tls_server: RunningServer
) -> None:
    probe, _ = tls_probe
    before = len(tls_server.log.requests)
    result = await probe.probe(ProviderRecord(id="p", base=f"https://health.test:{tls_server.port}/json"))
    assert (result.ok, result.status_code, result.payload) == (True, 200, {"status": "ok", "gpus": 2})
    assert tls_server.log.server_names[-1] == "health.test"
    assert tls_server.log.requests[before].headers["host"] == f"health.test:{tls_server.port}"


@pytest.mark.parametrize("host", ["other.test", "127.0.0.1"])
async def test_tls_certificate_must_match_the_name(
    tls_probe: tuple[HttpHealthProbe, LoopbackOnly], tls_server: RunningServer, host: str
) -> None:
    probe, _ = tls_probe
    result = await probe.probe(ProviderRecord(id="p", base=f"https://{host}:{tls_server.port}/json"))
    assert result.ok is False
    assert isinstance(result.error, str)
    assert "CERTIFICATE_VERIFY_FAILED" in result.error


async def test_tls_verification_is_on_by_default(tls_server: RunningServer) -> None:
    fence = LoopbackOnly(default_transport())
    names = StaticResolver({"health.test": ["127.0.0.1"]})
    async with HttpHealthProbe(names, timeout_s=3, transport=fence) as probe:
        result = await probe.probe(ProviderRecord(id="p", base=f"https://health.test:{tls_server.port}/json"))
    assert result.ok is False
    assert "CERTIFICATE_VERIFY_FAILED" in str(result.error)
    assert fence.refused == []


# -- the system resolver (only names that never leave this machine) ----------------------------------------


async def test_system_resolver_on_local_names() -> None:
    resolver = SystemResolver()
    assert await resolver.resolve("127.0.0.1") == [ipaddress.ip_address("127.0.0.1")]
    local = await resolver.resolve("localhost")
    assert local
    assert all(address.is_loopback for address in local)
    assert len(local) == len(set(local))


async def test_static_resolver_unknown_name() -> None:
    with pytest.raises(UnresolvableHost, match="nowhere"):
        await StaticResolver().resolve("nowhere.test")


async def test_system_resolver_reports_an_impossible_name_as_unresolvable() -> None:
    # A 64-character label fails IDNA encoding before any lookup leaves the process.
    with pytest.raises(UnresolvableHost):
        await SystemResolver().resolve("x" * 64 + ".test")
