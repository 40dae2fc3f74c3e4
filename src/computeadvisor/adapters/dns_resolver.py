"""Resolver on the system resolver (``getaddrinfo`` via the event loop's thread pool, so the loop never blocks)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket

from computeadvisor.domain.address_guard import IPAddress
from computeadvisor.domain.errors import UnresolvableHost
from computeadvisor.ports.resolver import Resolver


class SystemResolver(Resolver):
    """Asks ``getaddrinfo`` for TCP addresses of any family, in the order the system prefers (RFC 6724)."""

    async def resolve(self, host: str) -> list[IPAddress]:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError) as exc:  # gaierror, or a label the idna codec rejects
            raise UnresolvableHost(str(exc)) from exc
        addresses: list[IPAddress] = []
        for _family, _type, _proto, _name, sockaddr in infos:
            # An IPv6 sockaddr may carry "%scope"; the zone never changes which range the address is in.
            try:
                address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
            except ValueError:  # a family that is not IP
                continue
            if address not in addresses:
                addresses.append(address)
        if not addresses:
            raise UnresolvableHost(f"{host!r} has no IPv4 or IPv6 address")
        return addresses
