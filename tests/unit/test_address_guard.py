"""The address guard (§2.8, §7), pure: host spellings, blocked ranges, the deny-private switch and pinning."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from computeadvisor.domain.address_guard import (
    Pin,
    blocked_reason,
    embedded_ipv4,
    is_blocked,
    parse_ip_literal,
    pin_address,
)

METADATA = ipaddress.ip_address("169.254.169.254")

# (host as it appears in a URL, the address it spells)
SPELLINGS: list[tuple[str, str]] = [
    ("169.254.169.254", "169.254.169.254"),
    ("0xa9fea9fe", "169.254.169.254"),
    ("0XA9FEA9FE", "169.254.169.254"),
    ("2852039166", "169.254.169.254"),
    ("0251.0376.0251.0376", "169.254.169.254"),
    ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
    ("169.254.43518", "169.254.169.254"),
    ("169.16689662", "169.254.169.254"),
    ("0251.254.169.254", "169.254.169.254"),
    ("169.254.169.254.", "169.254.169.254"),
    ("[::ffff:169.254.169.254]", "::ffff:169.254.169.254"),
    ("::ffff:a9fe:a9fe", "::ffff:169.254.169.254"),
    ("[::ffff:a9fe:a9fe]", "::ffff:169.254.169.254"),
    ("[fe80::1]", "fe80::1"),
    ("fe80::1%25eth0", "fe80::1"),
    ("[fe80::1%eth0]", "fe80::1"),
    ("fd00:ec2::254", "fd00:ec2::254"),
    ("[FD00:EC2:0:0:0:0:0:254]", "fd00:ec2::254"),
    ("100.100.100.200", "100.100.100.200"),
    ("1684301000", "100.100.100.200"),
    ("1684301001", "100.100.100.201"),  # next door: only .200 is Alibaba's metadata address
    ("127.0.0.1", "127.0.0.1"),
    ("2130706433", "127.0.0.1"),
    ("0x7f.1", "127.0.0.1"),
    ("[::1]", "::1"),
    ("10.0.0.1", "10.0.0.1"),
    ("192.168.1.1", "192.168.1.1"),
    ("8.8.8.8", "8.8.8.8"),
    ("0", "0.0.0.0"),
    ("0x", "0.0.0.0"),
]


@pytest.mark.parametrize(("host", "expected"), SPELLINGS)
def test_every_spelling_of_an_address_is_recognised(host: str, expected: str) -> None:
    assert parse_ip_literal(host) == ipaddress.ip_address(expected)


@pytest.mark.parametrize(
    "host",
    ["example.com", "metadata.google.internal", "169.254.169.254.nip.io", "1.2.3.4.5", "256.1.1.1", "08.1.1.1",
     "1..2", "", "[::g]", "::ffff:169.254.169.256", "1.2.3.0x100", "9" * 50],
)  # fmt: skip
def test_names_and_malformed_literals_are_not_addresses(host: str) -> None:
    # A name goes to the resolver, whose answers are checked: not an address here is never "allowed" by itself.
    assert parse_ip_literal(host) is None


# (address, blocked by default, blocked with deny_private)
TABLE: list[tuple[str, bool, bool]] = [
    ("169.254.169.254", True, True),
    ("169.254.0.1", True, True),
    ("169.254.255.255", True, True),
    ("fe80::1", True, True),
    ("febf:ffff::1", True, True),
    ("fd00:ec2::254", True, True),
    ("100.100.100.200", True, True),
    ("::ffff:169.254.169.254", True, True),
    ("::ffff:100.100.100.200", True, True),
    ("::169.254.169.254", True, True),  # IPv4-compatible (deprecated, still parsed)
    ("::ffff:0:169.254.169.254", True, True),  # SIIT
    ("64:ff9b::a9fe:a9fe", True, True),  # NAT64 of the metadata address
    ("2002:a9fe:a9fe::1", True, True),  # 6to4 of the metadata address
    ("127.0.0.1", False, True),
    ("127.255.0.9", False, True),
    ("::1", False, True),
    ("::ffff:127.0.0.1", False, True),
    ("10.0.0.1", False, True),
    ("172.16.0.1", False, True),
    ("172.31.255.254", False, True),
    ("192.168.1.1", False, True),
    ("fc00::1", False, True),
    ("fd12:3456::1", False, True),
    ("0.0.0.0", False, True),
    ("::", False, True),
    ("100.64.0.1", False, True),
    ("8.8.8.8", False, False),
    ("172.32.0.1", False, False),
    ("100.100.100.201", False, True),  # carrier-grade NAT 100.64/10, denied with the switch
    ("100.128.0.1", False, False),
    ("fd00:ec2::253", False, True),
    ("2001:4860:4860::8888", False, False),
    ("::ffff:8.8.8.8", False, False),
]


@pytest.mark.parametrize(("address", "default", "denied"), TABLE)
def test_blocked_table(address: str, default: bool, denied: bool) -> None:
    ip = ipaddress.ip_address(address)
    assert is_blocked(ip) is default
    assert is_blocked(ip, deny_private=True) is denied


@pytest.mark.parametrize(("host", "expected"), SPELLINGS)
def test_every_metadata_spelling_is_blocked(host: str, expected: str) -> None:
    address = parse_ip_literal(host)
    assert address is not None
    blocked = is_blocked(ipaddress.ip_address(expected))
    assert is_blocked(address) is blocked
    if blocked:
        assert "blocked" in (blocked_reason(address) or "")


def test_reasons_say_why() -> None:
    assert blocked_reason(METADATA) == "address 169.254.169.254 is blocked: link-local or cloud metadata address"
    private = blocked_reason(ipaddress.ip_address("10.1.2.3"), deny_private=True)
    assert private is not None
    assert "10.1.2.3 is blocked" in private
    assert "private" in private
    assert blocked_reason(ipaddress.ip_address("10.1.2.3")) is None


def test_scoped_address_keeps_its_range() -> None:
    assert is_blocked(ipaddress.IPv6Address("fe80::1%eth0"))


def test_embedded_ipv4_forms() -> None:
    assert embedded_ipv4(ipaddress.IPv6Address("::ffff:a9fe:a9fe")) == [METADATA]
    assert embedded_ipv4(ipaddress.IPv6Address("2001:4860:4860::8888")) == []
    assert embedded_ipv4(ipaddress.IPv6Address("::1")) == []


def test_pinning_keeps_the_first_address() -> None:
    public, metadata = ipaddress.ip_address("93.184.215.14"), METADATA
    assert pin_address("h.test", [public, metadata]) == Pin(public, None)
    refused = pin_address("h.test", [metadata, public])
    assert refused.address is None
    assert refused.refusal is not None
    assert "169.254.169.254 is blocked" in refused.refusal
    assert "'h.test'" in refused.refusal
    assert pin_address("h.test", []).refusal == "host 'h.test' resolved to no address"


def test_pinning_with_deny_private() -> None:
    lan = ipaddress.ip_address("192.168.0.10")
    assert pin_address("nas", [lan]) == Pin(lan, None)
    assert pin_address("nas", [lan], deny_private=True).address is None


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_every_ipv4_number_spelling_agrees(number: int) -> None:
    address = ipaddress.IPv4Address(number)
    a, b, c, d = address.packed
    spellings = [str(number), hex(number), f"0{number:o}", f"{a}.{b}.{(c << 8) | d}", f"{a}.{(b << 16) | (c << 8) | d}"]
    for spelling in spellings:
        assert parse_ip_literal(spelling) == address, spelling
    mapped = ipaddress.IPv6Address(f"::ffff:{address}")
    assert is_blocked(mapped) is is_blocked(address)
    assert is_blocked(mapped, deny_private=True) is is_blocked(address, deny_private=True)
