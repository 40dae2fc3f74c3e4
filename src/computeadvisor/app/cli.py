"""The ``computeadvisor`` command."""

from __future__ import annotations

import logging

import click

from computeadvisor import __version__
from computeadvisor.config import load_config


@click.group()
@click.version_option(__version__, prog_name="computeadvisor")
def main() -> None:
    """Where GPU render jobs should run, what they cost, and durable queues for them."""


@main.command()
@click.option("--root", type=click.Path(file_okay=False), help="State root directory (default: current directory).")
@click.option("--host", help="Bind address (default 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), help="Port (default 8001).")
@click.option("--log-level", default="info", show_default=True, type=click.Choice(["debug", "info", "warning"]))
def serve(root: str | None, host: str | None, port: int | None, log_level: str) -> None:
    """Run the HTTP service."""
    import uvicorn

    from computeadvisor.app.asgi import create_app

    config = load_config(root=root, host=host, port=port)
    logging.basicConfig(level=log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    uvicorn.run(
        create_app(config),
        host=config.host,
        port=config.port,
        log_level=log_level,
        access_log=False,
        loop="uvloop",
        http="httptools",
        lifespan="on",
    )
