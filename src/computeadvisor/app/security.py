"""Bearer-token checks (§7): mutating and outbound-probing routes always, any request only when debug is on.

The guards are ``async def`` on purpose: Litestar runs a plain ``def`` guard in a worker thread, which cost
every request a thread round trip (~75 µs, measured with bench/).
"""

from __future__ import annotations

import hmac
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from litestar.types import ASGIApp, Receive, Scope, Send

from computeadvisor.domain.values import is_on

AUTH_STATE_KEY = "auth_token"
TOKEN: list[dict[str, list[str]]] = [{"bearerToken": []}]
"""OpenAPI ``security`` of a route that needs the token whenever one is configured."""
TOKEN_FOR_DEBUG: list[dict[str, list[str]]] = [{}, {"bearerToken": []}]
"""OpenAPI ``security`` of a route that needs the token only for a debug request."""


def _token_ok(authorization: str | None, token: str) -> bool:
    scheme, _, value = (authorization or "").partition(" ")
    # compare_digest keeps the comparison time independent of where the first wrong character is.
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())


def check_token(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Raise 401 (with ``WWW-Authenticate: Bearer``) when a token is configured and the request lacks it."""
    token: str | None = connection.app.state.get(AUTH_STATE_KEY)
    if token is not None and not _token_ok(connection.headers.get("authorization"), token):
        raise NotAuthorizedException(detail="authentication required", headers={"WWW-Authenticate": "Bearer"})


async def require_token(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard for routes that always need the token (mutations, outbound probes)."""
    check_token(connection)


def debug_query_token_middleware(app: ASGIApp) -> ASGIApp:
    """``?debug=<on>`` on any route exposes internals, so it needs the token.

    A middleware rather than an app-wide guard: it costs nothing for requests without a query string, where a guard
    cost every request a few microseconds. Any query string is decoded first: ``%64ebug`` means ``debug`` too.
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("query_string"):
            connection: ASGIConnection[Any, Any, Any, Any] = ASGIConnection(scope)
            # Every value counts: a route may read the last of ``?debug=0&debug=1`` where this would see the first.
            if any(is_on(value) for value in connection.query_params.getall("debug", [])):
                check_token(connection)
        await app(scope, receive, send)

    return middleware


def require_token_for_debug_body(connection: ASGIConnection[Any, Any, Any, Any], debug: bool) -> None:
    """For POST routes whose body asks for debug: checked after the body is parsed (§0.3 step 4)."""
    if debug:
        check_token(connection)
