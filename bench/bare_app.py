"""The baseline: a bare Litestar app with one trivial POST and one trivial GET route.

bench/run.sh serves it exactly like the real service (uvicorn, one process, uvloop, httptools, no access log),
so the gap between it and ``/api/compute/*`` is what computeadvisor itself costs per request.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, get, post


@post("/bare", status_code=200)
async def bare_post(data: dict[str, Any]) -> dict[str, Any]:
    """Decode the JSON body (as every real POST route must) and answer a small object."""
    return {"ok": True, "keys": len(data)}


@get("/bare")
async def bare_get() -> dict[str, Any]:
    """A small constant object."""
    return {"ok": True}


app = Litestar(route_handlers=[bare_post, bare_get], debug=False)
