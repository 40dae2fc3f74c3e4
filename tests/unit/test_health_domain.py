"""Provider health, the pure part (§2.8): the echo rule, the probe target, result shapes."""

from __future__ import annotations

import ipaddress

import msgspec
import pytest

from computeadvisor.domain.health import (
    MISSING_BASE,
    ProbeResult,
    ProbeTarget,
    echo_result,
    failed,
    is_echo,
    plan_probe,
    probe_target,
    refused,
    with_provider,
)
from computeadvisor.domain.providers import ProviderRecord


def target(base: str) -> ProbeTarget:
    planned = probe_target(base)
    assert isinstance(planned, ProbeTarget), planned
    return planned


@pytest.mark.parametrize(
    "record",
    [
        ProviderRecord(id="a", base="stub://echo"),
        ProviderRecord(id="a", base="memory://x"),
        ProviderRecord(id="a", base="  STUB://Echo"),
        ProviderRecord(id="a", base="https://real.example", meta={"service": "echo"}),
        ProviderRecord(id="echo", base="https://real.example"),
        ProviderRecord(id="ECHO"),
        ProviderRecord(id="a", kind="Echo", base="http://10.0.0.1"),
    ],
)
def test_echo_rule(record: ProviderRecord) -> None:
    assert is_echo(record)
    assert plan_probe(record) == echo_result()


@pytest.mark.parametrize(
    "record",
    [
        ProviderRecord(id="a", base="https://x"),
        ProviderRecord(id="echo1", kind="echoes", base="https://x"),
        ProviderRecord(id="a", base="https://x", meta={"service": "Echo!"}),
        ProviderRecord(id="a", base="https://stub.example/stub://"),
    ],
)
def test_not_echo(record: ProviderRecord) -> None:
    assert not is_echo(record)
    assert isinstance(plan_probe(record), ProbeTarget)


def test_echo_and_missing_base_shapes() -> None:
    assert msgspec.json.encode(echo_result()) == b'{"ok":true,"echo":true,"latency_ms":0}'
    assert plan_probe(ProviderRecord(id="a")) == ProbeResult(ok=False, error=MISSING_BASE)
    assert plan_probe(ProviderRecord(id="a", base="   ")) == refused("missing base_url")
    assert msgspec.json.encode(refused(MISSING_BASE)) == b'{"ok":false,"error":"missing base_url"}'


def test_status_carries_the_provider_like_the_contract_example() -> None:
    status = with_provider(echo_result(), "echo")
    expected = b'{"ok":true,"echo":true,"latency_ms":0,"provider_id":"echo","provider_name":null}'
    assert msgspec.json.encode(status) == expected
    http = ProbeResult(ok=True, latency_ms=12, status_code=200, payload=None)
    assert msgspec.json.decode(msgspec.json.encode(with_provider(http, "p"))) == {
        "ok": True,
        "latency_ms": 12,
        "status_code": 200,
        "payload": None,
        "provider_id": "p",
        "provider_name": None,
    }
    assert msgspec.json.encode(failed("boom", 7)) == b'{"ok":false,"latency_ms":7,"error":"boom"}'


@pytest.mark.parametrize(
    ("base", "url"),
    [
        ("https://api.example.com", "https://api.example.com/health"),
        ("https://api.example.com/", "https://api.example.com/health"),
        ("https://api.example.com/v2//", "https://api.example.com/v2/health"),
        ("https://api.example.com/health", "https://api.example.com/health"),
        ("https://api.example.com/v2/health/", "https://api.example.com/v2/health"),
        ("https://api.example.com/healthz", "https://api.example.com/healthz/health"),
        ("HTTPS://API.Example.COM:443/x", "https://api.example.com/x/health"),
        ("http://h:8080/x?a=1&b=2#frag", "http://h:8080/x/health?a=1&b=2"),
        ("http://user:secret@h/x", "http://h/x/health"),
        ("http://example.com./", "http://example.com/health"),
        ("https://bücher.example/", "https://xn--bcher-kva.example/health"),
        ("http://[::1]:9000", "http://[::1]:9000/health"),
        ("http://0x7f000001:8000/", "http://127.0.0.1:8000/health"),
    ],
)
def test_probe_target_url(base: str, url: str) -> None:
    assert target(base).url == url


def test_probe_target_pieces() -> None:
    assert target("https://user:pw@Api.Example.com:8443/v1/?q=1") == ProbeTarget(
        scheme="https",
        host="api.example.com",
        port=8443,
        path="/v1/health?q=1",
        host_header="api.example.com:8443",
        url="https://api.example.com:8443/v1/health?q=1",
    )
    literal = target("http://[fe80::1%25eth0]/")
    assert (literal.host, literal.address, literal.host_header) == (
        "fe80::1",
        ipaddress.ip_address("fe80::1"),
        "[fe80::1]",
    )
    fullwidth = target("http://１６９．２５４．１６９．２５４/")
    assert fullwidth.address == ipaddress.ip_address("169.254.169.254")


@pytest.mark.parametrize(
    ("base", "error"),
    [
        ("ftp://files.example/", "unsupported base_url scheme 'ftp'"),
        ("file:///etc/passwd", "unsupported base_url scheme 'file'"),
        ("gopher://h:70/", "unsupported base_url scheme 'gopher'"),
        ("not a url", "unsupported base_url scheme ''"),
        ("http:///nohost", "base_url has no host"),
        ("http://h:99999/", "invalid base_url: Port out of range 0-65535"),
        ("http://a..b/", "invalid host in base_url: 'a..b'"),
        ("http://a b/", "invalid host in base_url: 'a b'"),
        ("http://a\x00b/", "invalid host in base_url: 'a\\x00b'"),
        ("http://" + "a" * 64 + ".example/", "invalid host in base_url: '" + "a" * 64 + ".example'"),
    ],
)
def test_unusable_bases_are_refused_without_io(base: str, error: str) -> None:
    assert probe_target(base) == error
    assert plan_probe(ProviderRecord(id="p", base=base)) == ProbeResult(ok=False, error=error)


def test_nothing_from_meta_reaches_the_target() -> None:
    record = ProviderRecord(id="p", base="https://h/x", meta={"api_key": "k", "token": "t", "headers": {"a": "b"}})
    assert plan_probe(record) == target("https://h/x")
