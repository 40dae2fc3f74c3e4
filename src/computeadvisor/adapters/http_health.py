"""HealthProbe over HTTP (§2.8, §7): GET ``<base>/health``, pinned to an address the guard checked.

How a probe goes:

1. ``domain.health.plan_probe`` answers echo providers and bad bases at once, or names the target.
2. The host is resolved once through the Resolver port (an IP literal, in any spelling, is not resolved), and
   ``domain.address_guard.pin_address`` picks the first address or refuses (``{ok: false, error}``, no
   connection attempt).
3. The request goes to that IP itself, with the original ``Host`` header, and for https the original name as TLS
   SNI and as the name the certificate must match (httpcore's ``sni_hostname`` request extension). There is no
   second lookup, so DNS rebinding cannot move the connection.
4. No redirect is followed, no proxy is taken from the environment, no credentials, cookies or ``meta`` values
   are sent, certificates are verified, and at most :data:`BODY_CAP` bytes of the body are read.

One overall deadline (``timeout_s``) covers resolution, connection and the body, so a server that drips bytes
cannot hold a probe longer than that. Nothing a server answers raises out of :meth:`HttpHealthProbe.probe`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import AsyncGenerator
from http.cookiejar import CookieJar, DefaultCookiePolicy
from types import TracebackType
from typing import Any, cast

import httpx
import msgspec

from computeadvisor.domain.address_guard import IPAddress, pin_address
from computeadvisor.domain.errors import UnresolvableHost
from computeadvisor.domain.health import ProbeResult, ProbeTarget, failed, plan_probe, refused
from computeadvisor.domain.providers import ProviderRecord
from computeadvisor.ports.health_probe import HealthProbe
from computeadvisor.ports.resolver import Resolver

BODY_CAP = 64 * 1024
"""Most bytes of a /health body a probe reads (64 KiB); the connection is closed with the rest unread."""

DEFAULT_TIMEOUT_S = 5.0
"""Overall deadline of one probe, in seconds: resolution, connection, headers and body together."""

MAX_IN_FLIGHT = 16
"""Outbound probes in flight at once in this process (an implementation constant, §9)."""

USER_AGENT = "computeadvisor-health/1"
log = logging.getLogger("computeadvisor.health")


def default_transport(ssl_context: ssl.SSLContext | None = None) -> httpx.AsyncHTTPTransport:
    """The transport probes use in production: verified TLS (certifi unless a context is given), no proxies.

    Keep-alive is off: connections are pooled by the pinned IP, and a connection TLS-verified for one host name
    must not be reused for another name that shares the address. Health probes are rare, so nothing is lost.
    """
    return httpx.AsyncHTTPTransport(
        verify=ssl_context if ssl_context is not None else True,
        trust_env=False,
        retries=0,
        http2=False,
        limits=httpx.Limits(max_connections=64, max_keepalive_connections=0),
    )


class HttpHealthProbe(HealthProbe):
    """Probes providers over HTTP(S) with one shared ``httpx.AsyncClient``, opened by ``open`` (or the first probe).

    Args:
        resolver: Resolves host names, once per probe.
        timeout_s: Overall deadline of one probe, in seconds.
        deny_private: Also refuse loopback and private addresses (the switch of §2.8).
        body_cap: Most body bytes read, in bytes.
        transport: The transport to send through; ``default_transport()`` when None. Tests pass one that
            records or refuses; it must never resolve names itself (it is only ever given IP URLs).
    """

    def __init__(
        self,
        resolver: Resolver,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        deny_private: bool = False,
        body_cap: int = BODY_CAP,
        max_in_flight: int = MAX_IN_FLIGHT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if timeout_s <= 0 or body_cap <= 0 or max_in_flight < 1:
            raise ValueError("timeout_s, body_cap and max_in_flight must be positive")
        # One gate for the whole process: however many health requests run at once, no more probes than this
        # are in flight; a probe waiting for the gate spends its own timeout waiting.
        self._gate = asyncio.Semaphore(max_in_flight)
        self._resolver = resolver
        self._timeout_s = timeout_s
        self._timeout = httpx.Timeout(timeout_s)
        self._deny_private = deny_private
        self._body_cap = body_cap
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    async def open(self) -> None:
        self._ensure_client()

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def __aenter__(self) -> HttpHealthProbe:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def _ensure_client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=self._transport or default_transport(),
                follow_redirects=False,
                trust_env=False,
                timeout=self._timeout,
                # A cookie one provider sets is never kept, so it can never travel to another.
                cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
            )
        return self._client

    async def probe(self, provider: ProviderRecord) -> ProbeResult:
        plan = plan_probe(provider)
        if isinstance(plan, ProbeResult):
            return plan
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._timeout_s), self._gate:
                return await self._probe(plan, started)
        except TimeoutError:
            return failed(f"timed out after {self._timeout_s:g} s", _ms_since(started))
        except httpx.InvalidURL as exc:
            return refused(f"invalid base_url: {exc}")
        except (httpx.HTTPError, OSError) as exc:
            return failed(_describe(exc), _ms_since(started))
        except Exception as exc:  # whatever a server answers, the probe reports it instead of raising
            log.warning("health probe of %s failed unexpectedly", plan.url, exc_info=True)
            return failed(_describe(exc), _ms_since(started))

    async def _probe(self, target: ProbeTarget, started: float) -> ProbeResult:
        if target.address is not None:
            addresses: list[IPAddress] = [target.address]
        else:
            try:
                addresses = await self._resolver.resolve(target.host)
            except UnresolvableHost as exc:
                return failed(f"cannot resolve host {target.host!r}: {exc}", _ms_since(started))
        pin = pin_address(target.host, addresses, deny_private=self._deny_private)
        if pin.address is None:
            return refused(pin.refusal or f"host {target.host!r} is blocked")
        response = await self._ensure_client().send(
            self._pinned_request(target, pin.address), stream=True, auth=None, follow_redirects=False
        )
        try:
            body, complete = await _read_capped(response, self._body_cap)
        finally:
            await response.aclose()
        return ProbeResult(
            ok=response.status_code < 500,
            latency_ms=_ms_since(started),
            status_code=response.status_code,
            payload=_payload(response, body, complete=complete),
        )

    def _pinned_request(self, target: ProbeTarget, address: IPAddress) -> httpx.Request:
        """A GET to the pinned IP that still names the original host (Host header, TLS SNI and certificate)."""
        literal = f"[{address}]" if address.version == 6 else str(address)
        extensions: dict[str, Any] = {"timeout": self._timeout.as_dict()}
        if target.scheme == "https" and target.address is None:
            extensions["sni_hostname"] = target.host
        headers = {
            "Host": target.host_header,
            "Accept": "application/json, text/plain;q=0.9, */*;q=0.1",
            "Accept-Encoding": "identity",  # a compressed body could inflate far past the cap
            "User-Agent": USER_AGENT,
        }
        # Built directly rather than by client.build_request, so no client default (cookies, auth) is merged in.
        url = f"{target.scheme}://{literal}:{target.port}{target.path}"
        return httpx.Request("GET", url, headers=headers, extensions=extensions)


async def _read_capped(response: httpx.Response, cap: int) -> tuple[bytes, bool]:
    """Up to ``cap`` bytes of the body as they arrive, and whether that was all of it; never reads further."""
    if response.is_stream_consumed:  # a transport that answers from memory has read the body already
        return response.content[:cap], len(response.content) <= cap
    buffer = bytearray()
    chunks = cast(AsyncGenerator[bytes, None], response.aiter_raw())
    async with contextlib.aclosing(chunks):
        async for chunk in chunks:
            buffer += chunk
            if len(buffer) > cap:
                return bytes(buffer[:cap]), False
    return bytes(buffer), True


def _payload(response: httpx.Response, body: bytes, *, complete: bool) -> Any:
    """Parsed JSON when the content type says JSON and the body is whole and valid, else ``{"body": <text>}``."""
    if "application/json" in response.headers.get("content-type", "").lower() and complete:
        try:
            return msgspec.json.decode(body)
        except (msgspec.DecodeError, ValueError, RecursionError):
            pass
    return {"body": _text(body, response.charset_encoding)}


def _text(body: bytes, charset: str | None) -> str:
    """The body as text in its declared charset (UTF-8 when none or unknown); bad bytes become U+FFFD."""
    if charset:
        try:
            return body.decode(charset, errors="replace")
        except (LookupError, UnicodeError, ValueError):
            pass
    return body.decode("utf-8", errors="replace")


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _ms_since(started: float) -> int:
    """Whole milliseconds since ``started`` (a ``time.perf_counter`` reading)."""
    return max(0, round((time.perf_counter() - started) * 1000))
