"""The PostgreSQL the tests use: ``COMPUTEADVISOR_TEST_DATABASE_URL`` (default: the machine's server on
127.0.0.1:5432). Each test run creates its own database, every store in it gets its own schema, and the database is
dropped at the end of the run (``tests/conftest.py``). Without a reachable server the PostgreSQL tests skip with the
reason, or fail where ``COMPUTEADVISOR_REQUIRE_ALL=1`` (CI)."""

from __future__ import annotations

import hashlib
import os
import uuid
from functools import cache
from pathlib import Path

import psycopg

from tests._required import absent

SERVER_URL = os.environ.get("COMPUTEADVISOR_TEST_DATABASE_URL", "postgresql://127.0.0.1:5432/postgres")
_created: list[str] = []


@cache
def reachable() -> str | None:
    """None when the server answers, else why not."""
    try:
        with psycopg.connect(SERVER_URL, connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"PostgreSQL is not reachable at {SERVER_URL}: {str(exc).strip() or type(exc).__name__}"
    return None


def require() -> None:
    """Skip (or, in CI, fail) the calling test when the server is not there."""
    reason = reachable()
    if reason is not None:
        absent(reason)


@cache
def database_url() -> str:
    """A database of this test run's own, created on first use, shared by the stores of the contract suites."""
    return fresh_database()


def schema_for(root: Path) -> str:
    """One schema per store root, so that reopening a root reopens its store."""
    return "s_" + hashlib.sha1(str(root).encode()).hexdigest()[:20]


def drop_databases() -> None:
    """Drop what this run created (its stores are closed by then)."""
    while _created:
        name = _created.pop()
        with psycopg.connect(SERVER_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fresh_database() -> str:
    """A new empty database of this run (a service process uses its ``public`` schema); dropped at the run's end."""
    require()
    name = f"computeadvisor_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(SERVER_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    _created.append(name)
    return psycopg.conninfo.make_conninfo(SERVER_URL, dbname=name)
