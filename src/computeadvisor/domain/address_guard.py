"""The health probe's address guard (§2.8, §7): which IP addresses a probe may connect to, and which one it pins.

Pure: the stdlib ``ipaddress`` module only. The adapter resolves a host once, asks :func:`pin_address` which
address to use, and connects to exactly that address (never to the name again), so DNS rebinding cannot steer
a probe somewhere the guard did not see.

Always blocked: link-local and cloud metadata addresses (``169.254.0.0/16``, ``fe80::/10``, ``fd00:ec2::254``,
``100.100.100.200``), also when they hide inside an IPv6 address (IPv4-mapped, IPv4-compatible, SIIT, NAT64,
6to4, Teredo). With ``deny_private`` on, loopback, private LAN and the other "this host / this site" ranges are
blocked too.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import NamedTuple

IPAddress = IPv4Address | IPv6Address

ALWAYS_BLOCKED: tuple[IPv4Network | IPv6Network, ...] = (
    IPv4Network("169.254.0.0/16"),  # link-local; AWS, GCP, Azure, OpenStack, Oracle metadata live here
    IPv6Network("fe80::/10"),  # IPv6 link-local
    IPv6Network("fd00:ec2::254/128"),  # AWS metadata over IPv6
    IPv4Network("100.100.100.200/32"),  # Alibaba Cloud metadata
)
"""Networks no probe may ever reach."""

PRIVATE: tuple[IPv4Network | IPv6Network, ...] = (
    IPv4Network("127.0.0.0/8"),
    IPv6Network("::1/128"),
    IPv4Network("10.0.0.0/8"),
    IPv4Network("172.16.0.0/12"),
    IPv4Network("192.168.0.0/16"),
    IPv6Network("fc00::/7"),
    # Beyond the contract's list, because each of these also reaches this host or this site: 0.0.0.0 and ::
    # connect to the local host on Linux, and 100.64/10 is carrier-grade NAT / overlay networks (Tailscale).
    IPv4Network("0.0.0.0/8"),
    IPv6Network("::/128"),
    IPv4Network("100.64.0.0/10"),
)
"""Networks blocked only when the deny-private switch is on."""

_NAT64 = IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = IPv6Network("::/96")
_SIIT = IPv6Network("::ffff:0:0:0/96")
# One inet_aton() part: hex, octal (leading 0) or decimal; a part longer than this is no address.
_V4_PART = re.compile(r"(?:0x[0-9a-f]*|0[0-7]*|[1-9][0-9]*)")
_MAX_PART_LENGTH = 40


class Pin(NamedTuple):
    """The address a probe connects to, or why it must not connect at all."""

    address: IPAddress | None
    refusal: str | None


def parse_ip_literal(host: str) -> IPAddress | None:
    """The IP address a URL host spells, in any spelling a resolver or browser accepts; None for a host name.

    Accepts dotted quads, the inet_aton() forms (``2852039166``, ``0xa9fea9fe``, ``0251.0376.0251.0376``,
    ``169.254.43518``), one trailing dot, brackets around IPv6 and a zone id (``%eth0`` or ``%25eth0``, dropped).
    """
    text = host.strip().lower()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" in text:
        try:
            return IPv6Address(text.split("%", 1)[0])
        except ValueError:
            return None
    if text.endswith("."):
        text = text[:-1]
    return _parse_ipv4(text)


def _parse_ipv4(text: str) -> IPv4Address | None:
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values: list[int] = []
    for part in parts:
        if not part or len(part) > _MAX_PART_LENGTH or not _V4_PART.fullmatch(part):
            return None
        if part.startswith("0x"):
            values.append(int(part[2:] or "0", 16))
        elif part.startswith("0") and len(part) > 1:
            values.append(int(part, 8))
        else:
            values.append(int(part))
    *leading, last = values
    # inet_aton(): each leading part is one byte, the last part fills every byte that is left.
    if any(value > 0xFF for value in leading) or last >= 1 << (8 * (5 - len(values))):
        return None
    number = last
    for index, value in enumerate(leading):
        number |= value << (8 * (3 - index))
    return IPv4Address(number)


def embedded_ipv4(address: IPv6Address) -> list[IPv4Address]:
    """Every IPv4 address an IPv6 address can carry to (mapped, compatible, SIIT, NAT64, 6to4, Teredo)."""
    found: list[IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    low = IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _NAT64 or address in _SIIT or (address in _IPV4_COMPATIBLE and int(address) > 1):
        found.append(low)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    return found


def blocked_reason(address: IPAddress, *, deny_private: bool = False) -> str | None:
    """Why a probe must not connect to ``address``, or None when it may."""
    plain = ipaddress.ip_address(str(address).split("%", 1)[0])  # a zone id changes nothing about the range
    candidates: list[IPAddress] = [plain]
    if isinstance(plain, IPv6Address):
        candidates.extend(embedded_ipv4(plain))
    for candidate in candidates:
        if any(candidate in network for network in ALWAYS_BLOCKED):
            return f"address {address} is blocked: link-local or cloud metadata address"
    if deny_private:
        for candidate in candidates:
            if any(candidate in network for network in PRIVATE):
                return f"address {address} is blocked: loopback or private address (private probes are denied)"
    return None


def is_blocked(address: IPAddress, *, deny_private: bool = False) -> bool:
    """Whether a probe must not connect to ``address``."""
    return blocked_reason(address, deny_private=deny_private) is not None


def pin_address(host: str, addresses: Sequence[IPAddress], *, deny_private: bool = False) -> Pin:
    """Choose the one address a probe of ``host`` connects to: the first resolved address, if it is allowed.

    The first address is what the resolver prefers, and the connection goes there and nowhere else, so later
    addresses cannot be reached and are not judged. A blocked first address refuses the probe; there is no
    fallback to a later one.
    """
    if not addresses:
        return Pin(None, f"host {host!r} resolved to no address")
    first = addresses[0]
    reason = blocked_reason(first, deny_private=deny_private)
    if reason is not None:
        if str(first) != host:
            reason = f"{reason} (host {host!r})"
        return Pin(None, reason)
    return Pin(first, None)
