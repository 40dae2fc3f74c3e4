"""The PostgreSQL job store's own checks; the shared contract suites run over it through ``JOB_STORES``."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from computeadvisor.adapters.postgres_jobs import PostgresJobStore
from tests import _postgres
from tests.contract._job_support import JOB_STORES

pytestmark = pytest.mark.anyio


def test_the_contract_suites_run_on_postgres() -> None:
    """Skips (fails in CI) with the reason when the server is not reachable: the suites then ran without it."""
    _postgres.require()
    assert "postgres" in JOB_STORES


async def test_reopen_keeps_jobs_and_refuses_a_newer_schema(tmp_path: Path) -> None:
    _postgres.require()
    url, schema = _postgres.database_url(), _postgres.schema_for(tmp_path)
    store = PostgresJobStore(url, schema=schema)
    await store.open()
    await store.close()
    store = PostgresJobStore(url, schema=schema)
    await store.open()  # the second open finds the schema current
    await store.close()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'INSERT INTO "{schema}".schema_migrations VALUES (99, %s)', ("2099-01-01T00:00:00Z",))
    with pytest.raises(Exception, match="schema version 99"):
        await PostgresJobStore(url, schema=schema).open()
