"""Printing for the CLI: rich tables for people, ``--json`` for scripts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import click
import msgspec
from rich.console import Console
from rich.table import Table

EXIT_SERVER_ERROR = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3


def emit_json(data: Any) -> None:
    """Pretty JSON on stdout."""
    click.echo(msgspec.json.format(msgspec.json.encode(data), indent=2))


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict | list):
        return msgspec.json.encode(value).decode()
    return str(value)


def emit_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A rich table on stdout; dicts and lists are shown as compact JSON."""
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(_cell(v) for v in row))
    Console().print(table)


def emit_pairs(title: str, data: dict[str, Any]) -> None:
    """A two-column key/value table."""
    emit_table(title, ("key", "value"), data.items())
