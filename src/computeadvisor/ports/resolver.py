"""Resolver: turn a host name into the IP addresses to connect to (used by the health probe's address guard)."""

from __future__ import annotations

from typing import Protocol

from computeadvisor.domain.address_guard import IPAddress


class Resolver(Protocol):
    """Resolves host names without blocking the event loop."""

    async def resolve(self, host: str) -> list[IPAddress]:
        """Look a host name up once.

        Args:
            host: An ASCII (IDNA-encoded) host name without brackets or trailing dot.

        Returns:
            The addresses, most preferred first, without duplicates; never empty.

        Raises:
            UnresolvableHost: the name does not resolve, or the lookup failed.
        """
        ...
