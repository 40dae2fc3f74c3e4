"""The dashboard (§12): static files shipped in the package under ``app/ui/``, served at ``/ui/``; ``/`` redirects.

The page is a client of the public API like any other (it holds no server-side state and needs no build step).
"""

from __future__ import annotations

from pathlib import Path

from litestar import Router, get
from litestar.datastructures import CacheControlHeader
from litestar.handlers import HTTPRouteHandler
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

UI_DIRECTORY = Path(__file__).resolve().parent.parent / "ui"


@get("/", include_in_schema=False)
async def home() -> Redirect:
    """The dashboard is the front page."""
    return Redirect("/ui/")


dashboard: Router = create_static_files_router(
    path="/ui",
    directories=[UI_DIRECTORY],
    html_mode=True,  # /ui/ answers index.html
    name="dashboard",
    cache_control=CacheControlHeader(no_cache=True),  # a new version is seen on the next load
)
ui_routes: list[HTTPRouteHandler | Router] = [home, dashboard]
