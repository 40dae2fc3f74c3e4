"""Provider health (§2.8), the pure part: result shapes, the echo rule and where an HTTP probe goes.

Every adapter of the HealthProbe port starts from :func:`plan_probe`: it either answers at once (echo providers,
an empty or unusable base) or names the :class:`ProbeTarget` to GET. The I/O lives in the adapters.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import msgspec

from computeadvisor.domain.address_guard import IPAddress, parse_ip_literal
from computeadvisor.domain.providers import ProviderRecord

ECHO_SCHEMES = ("stub://", "memory://")
MISSING_BASE = "missing base_url"
HEALTH_SUFFIX = "/health"
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Letters, digits, "-" and "_" in dot-separated labels: nothing else may reach a resolver or a Host header.
_HOST_NAME = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*")


class ProbeResult(msgspec.Struct, frozen=True, kw_only=True):
    """One probe's answer (§2.8); a key that does not apply is left out of the JSON (UNSET), never null.

    Shapes: echo ``{ok, echo, latency_ms}``; HTTP ``{ok, latency_ms, status_code, payload}``; network error or
    timeout ``{ok: false, error, latency_ms}``; refused before any I/O ``{ok: false, error}``.
    ``latency_ms`` is whole milliseconds from the start of the probe (resolution included) to the end of the body
    read. ``payload`` may be any JSON value, null included.
    """

    ok: bool
    echo: bool | msgspec.UnsetType = msgspec.UNSET
    latency_ms: int | msgspec.UnsetType = msgspec.UNSET
    status_code: int | msgspec.UnsetType = msgspec.UNSET
    payload: Any = msgspec.UNSET
    error: str | msgspec.UnsetType = msgspec.UNSET


class ProviderStatus(ProbeResult, frozen=True, kw_only=True):
    """A probe result as the health route shows it: plus ``provider_id`` and ``provider_name`` (always null)."""

    provider_id: str
    provider_name: None = None


class ProbeTarget(msgspec.Struct, frozen=True, kw_only=True):
    """Where an HTTP probe goes, split the way a pinned connection needs it.

    ``host`` is the ASCII (IDNA) host without brackets, zone id or trailing dot; ``address`` is set when the host
    is an IP literal (in any spelling), so no resolver is asked; ``host_header`` is what the Host header carries;
    ``path`` is the path plus any query (``/v2/health?x=1``); ``url`` the same without credentials, for display.
    """

    scheme: str
    host: str
    port: int
    path: str
    host_header: str
    url: str
    address: IPAddress | None = None


def with_provider(result: ProbeResult, provider_id: str) -> ProviderStatus:
    """The result labelled with its provider, as ``status`` in GET /api/providers/health."""
    fields = {name: getattr(result, name) for name in result.__struct_fields__}
    return ProviderStatus(**fields, provider_id=provider_id)


def is_echo(provider: ProviderRecord) -> bool:
    """Whether the provider answers without I/O: a stub:// or memory:// base, meta.service "echo", id or kind echo."""
    return (
        provider.base.strip().lower().startswith(ECHO_SCHEMES)
        or provider.meta.get("service") == "echo"
        or provider.id.lower() == "echo"
        or provider.kind.lower() == "echo"
    )


def echo_result() -> ProbeResult:
    """The echo adapter's answer; no I/O happens, so the latency is 0 ms."""
    return ProbeResult(ok=True, echo=True, latency_ms=0)


def refused(error: str) -> ProbeResult:
    """A probe refused before any connection attempt (no latency: nothing was measured)."""
    return ProbeResult(ok=False, error=error)


def failed(error: str, latency_ms: int) -> ProbeResult:
    """A network error or timeout after ``latency_ms`` milliseconds."""
    return ProbeResult(ok=False, error=error, latency_ms=latency_ms)


def plan_probe(provider: ProviderRecord) -> ProbeResult | ProbeTarget:
    """An immediate answer (echo, missing or unusable base) or the target an HTTP probe must GET."""
    if is_echo(provider):
        return echo_result()
    base = provider.base.strip()
    if not base:
        return refused(MISSING_BASE)
    target = probe_target(base)
    if isinstance(target, str):
        return refused(target)
    return target


def probe_target(base: str) -> ProbeTarget | str:
    """``<base without trailing "/">/health`` (not doubled) split for pinning, or why the base cannot be probed.

    The suffix goes on the path, before any query, so ``https://h/x?a=1`` probes ``/x/health?a=1``. User info
    (``user:pass@``) and the fragment are dropped: a probe sends no credentials.
    """
    try:
        parts = urlsplit(base)
        port = parts.port
    except ValueError as exc:
        return f"invalid base_url: {exc}"
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        return f"unsupported base_url scheme {scheme!r}"
    raw_host = parts.hostname or ""
    if not raw_host:
        return "base_url has no host"
    address = parse_ip_literal(raw_host)
    host = str(address) if address is not None else _ascii_host(raw_host)
    if host is None:
        return f"invalid host in base_url: {raw_host!r}"
    if address is None:
        # IDNA maps look-alikes (fullwidth digits, ideographic dots) to ASCII, which may spell an IP literal.
        address = parse_ip_literal(host)
        host = str(address) if address is not None else host
    path = parts.path.rstrip("/")
    if not path.endswith(HEALTH_SUFFIX):
        path += HEALTH_SUFFIX
    if parts.query:
        path += f"?{parts.query}"
    port = port if port is not None else _DEFAULT_PORTS[scheme]
    bracketed = f"[{host}]" if ":" in host else host
    authority = bracketed if port == _DEFAULT_PORTS[scheme] else f"{bracketed}:{port}"
    return ProbeTarget(
        scheme=scheme,
        host=host,
        port=port,
        path=path,
        host_header=authority,
        url=f"{scheme}://{authority}{path}",
        address=address,
    )


def _ascii_host(host: str) -> str | None:
    """The IDNA (ASCII) form of a host name without its trailing dot, or None when it is not a valid name."""
    name = host[:-1] if host.endswith(".") else host
    if not name or ":" in name or "%" in name:
        return None
    try:
        encoded = name.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    encoded = encoded.lower()
    return encoded if _HOST_NAME.fullmatch(encoded) else None
