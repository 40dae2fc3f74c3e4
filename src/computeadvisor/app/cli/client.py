"""A small HTTP client for the CLI's server commands, with the CLI's exit codes."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import click
import httpx
import msgspec

from computeadvisor.app.cli.output import EXIT_SERVER_ERROR, EXIT_UNREACHABLE
from computeadvisor.client.sync import DEFAULT_BASE, auth_headers

F = TypeVar("F", bound=Callable[..., Any])


class Api:
    """Calls one server; an error answer exits 1 with its detail, no answer exits 3."""

    def __init__(self, base: str, token: str | None, *, timeout_s: float = 30.0) -> None:
        self.base = base.rstrip("/")
        self._client = httpx.Client(base_url=self.base, headers=auth_headers(token), timeout=timeout_s, trust_env=False)

    def call(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """The JSON object the server answered with."""
        try:
            response = self._client.request(method, path, json=body, params=params)
        except httpx.HTTPError as exc:
            click.echo(f"error: cannot reach {self.base}: {exc}", err=True)
            raise SystemExit(EXIT_UNREACHABLE) from None
        try:
            data = response.json()
        except ValueError:
            data = {"detail": response.text}
        if response.is_error:
            detail = data.get("detail") if isinstance(data, dict) else data
            click.echo(f"error: {response.status_code} {detail}", err=True)
            raise SystemExit(EXIT_SERVER_ERROR)
        return data if isinstance(data, dict) else {"value": data}

    @contextlib.contextmanager
    def stream(
        self, path: str, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> Iterator[Iterator[str]]:
        """The lines of a streamed GET answer; an error answer or a lost connection raises ``httpx.HTTPError``."""
        with self._client.stream("GET", path, params=params, headers=headers) as response:
            response.raise_for_status()
            yield response.iter_lines()


def server_options(command: F) -> F:
    """``--base`` and ``--token`` (also ``COMPUTEADVISOR_BASE`` / ``COMPUTEADVISOR_TOKEN``), passed as ``api``."""

    @click.option("--base", envvar="COMPUTEADVISOR_BASE", default=DEFAULT_BASE, show_default=True, help="Server URL.")
    @click.option("--token", envvar="COMPUTEADVISOR_TOKEN", help="Bearer token, when the server has one.")
    @functools.wraps(command)
    def wrapper(*args: Any, base: str, token: str | None, **kwargs: Any) -> Any:
        return command(*args, api=Api(base, token), **kwargs)

    return wrapper  # type: ignore[return-value]


def json_body(text: str | None, **fields: Any) -> dict[str, Any]:
    """A request body from a JSON object given on the command line plus non-None options."""
    body: dict[str, Any] = {}
    if text:
        try:
            parsed = msgspec.json.decode(text)
        except msgspec.DecodeError as exc:
            raise click.BadParameter(f"not valid JSON: {exc}") from None
        if not isinstance(parsed, dict):
            raise click.BadParameter("must be a JSON object")
        body.update(parsed)
    body.update({k: v for k, v in fields.items() if v is not None})
    return body
