"""In-memory helpers for the health probe: a resolver answering from a table, for tests (no DNS traffic)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence

from computeadvisor.domain.address_guard import IPAddress
from computeadvisor.domain.errors import UnresolvableHost
from computeadvisor.ports.resolver import Resolver


class StaticResolver(Resolver):
    """Answers from a fixed table of ``host -> [address, ...]``; records every lookup in ``lookups``."""

    def __init__(self, table: Mapping[str, Sequence[str]] | None = None) -> None:
        self._table = {
            host.lower(): [ipaddress.ip_address(address) for address in addresses]
            for host, addresses in (table or {}).items()
        }
        self.lookups: list[str] = []

    async def resolve(self, host: str) -> list[IPAddress]:
        self.lookups.append(host)
        addresses = self._table.get(host.lower())
        if not addresses:
            raise UnresolvableHost(f"Name or service not known: {host!r}")
        return list(addresses)
