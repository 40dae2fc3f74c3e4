"""``computeadvisor serve`` and ``computeadvisor check``."""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from computeadvisor.app.cli.output import EXIT_USAGE, emit_json
from computeadvisor.config import ConfigError, load_config


@click.command()
@click.option("--root", type=click.Path(file_okay=False), help="State root directory [default: current directory].")
@click.option("--host", help="Bind address [default: 127.0.0.1].")
@click.option("--port", type=click.IntRange(0, 65535), help="Port [default: 8001].")
@click.option("--token", help="Bearer token for mutating, probing and debug requests (required off loopback).")
@click.option("--deny-private-health/--allow-private-health", default=None, help="Health probes refuse LAN/loopback.")
@click.option(
    "--allow-secret-export/--deny-secret-export",
    default=None,
    help="Let a non-loopback peer export provider secrets (with the token) [default: deny].",
)
@click.option("--health-timeout", type=float, help="Seconds a provider health probe may take [default: 5.0].")
@click.option("--sampler-interval", type=float, help="Seconds between hardware samples [default: 1.0].")
@click.option("--attempt-cap", type=int, help="Claims before an expired lease fails the job [default: 3].")
@click.option("--retention", type=int, help="Finished jobs kept [default: 10000].")
@click.option("--header-timeout", type=float, help="Seconds a connection may take to send a request's headers [10].")
@click.option("--max-connections", type=int, help="Open connections at most; idle ones make room [default: 1000].")
@click.option("--min-samples", type=int, help="Finished jobs a place needs before the planner trusts them [5].")
@click.option("--event-retention", type=int, help="Events the log keeps for replay [default: 10000].")
@click.option("--max-streams", type=int, help="Event streams open at once; one more gets 503 [default: 100].")
@click.option("--event-keepalive", type=float, help="Longest silence on an event stream, seconds [default: 15].")
@click.option("--database-url", help="PostgreSQL URL for jobs, events and providers, shared by replicas [SQLite].")
@click.option("--database-pool-size", type=int, help="PostgreSQL connections at most [default: 10].")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Optional TOML config file.")
@click.option("--log-level", default="info", show_default=True, type=click.Choice(["debug", "info", "warning"]))
def serve(config_file: str | None, log_level: str, **flags: Any) -> None:
    """Run the HTTP service."""
    import uvicorn  # here, not at the top: every other command starts without it

    from computeadvisor.app.asgi import EVENTS_STATE_KEY, create_app
    from computeadvisor.app.cli.server import SHUTDOWN_GRACE_S, StreamEndingServer
    from computeadvisor.app.connection_guard import ConnectionGuard, connection_limit, guarded_protocol

    try:
        config = load_config(flags, config_file=config_file)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    if not config.binds_loopback_only and config.token is None:
        click.echo(f"refusing to bind {config.host}: a token is required for a non-loopback address", err=True)
        sys.exit(EXIT_USAGE)
    logging.basicConfig(level=log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    guard = ConnectionGuard(
        max_connections=connection_limit(config.max_connections), header_timeout_s=config.header_timeout
    )
    app = create_app(config)
    server_config = uvicorn.Config(
        app,
        host=config.host,
        port=config.port,
        log_level=log_level,
        access_log=False,
        loop="uvloop",
        http=guarded_protocol(guard),
        lifespan="on",
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
    )
    StreamEndingServer(server_config, app.state[EVENTS_STATE_KEY]).run()


@click.command()
@click.option(
    "--base", envvar="COMPUTEADVISOR_BASE", required=True, help="The server's base URL, e.g. http://127.0.0.1:8001."
)
@click.option("--token", envvar="COMPUTEADVISOR_TOKEN", help="Bearer token, when the server has one.")
def check(base: str, token: str | None) -> None:
    """Smoke-test a running server: every route must answer 2xx with the feature object. Exit 0 or 2."""
    from computeadvisor.app.check import run_check

    report = run_check(base, token)
    emit_json(report)
    sys.exit(0 if report.passed else 2)  # §6: 2 when any required check fails
