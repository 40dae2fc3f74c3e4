"""``OPTIONS`` answers that list every method of a path.

Litestar builds the automatic ``OPTIONS`` handler of a path when the path's first handler is registered, and keeps
that handler's method list when more handlers join the path later: ``OPTIONS /api/gpu/policy`` said
``GET, OPTIONS`` although PUT and POST exist. This middleware answers ``OPTIONS`` itself from the app's complete
route map.
"""

from __future__ import annotations

from litestar.types import ASGIApp, HTTPResponseBodyEvent, HTTPResponseStartEvent, Receive, Scope, Send


def allow_all_methods_middleware(app: ASGIApp) -> ASGIApp:
    """Answer ``OPTIONS`` with 204 and an ``Allow`` header naming every method the path has."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("method") != "OPTIONS":  # websockets have no method
            await app(scope, receive, send)
            return
        route_map = scope["litestar_app"].route_handler_method_map
        methods: set[str] = set()
        for path in scope["route_handler"].paths:
            methods.update(route_map.get(path, {}))
        allow = ", ".join(sorted(methods | {"OPTIONS"})).encode()
        start: HTTPResponseStartEvent = {"type": "http.response.start", "status": 204, "headers": [(b"allow", allow)]}
        body: HTTPResponseBodyEvent = {"type": "http.response.body", "body": b"", "more_body": False}
        await send(start)
        await send(body)

    return middleware
