"""Helpers for the jobs tests: a second connection that holds the lock a writer needs, and a
``Database`` that gives up on a lock at once instead of waiting out its timeout."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from crrt.core.db import Database, is_sqlite
from tests import support


@pytest.fixture(autouse=True)
def _forget_test_jobs(job_registry: None) -> None:
    """Every jobs test may register ``test.…`` jobs; they are removed after it."""


@pytest.fixture
def impatient(database: Database) -> Iterator[Database]:
    """The same database through a ``Database`` whose lock waits end in a fraction of a second."""
    if is_sqlite(database.engine):
        other = Database(database.url)

        @event.listens_for(other.engine, "connect")
        def _short_wait(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA busy_timeout=100")  # after crrt's 10 s
    else:
        other = Database(database.url, connect_args={"options": "-c lock_timeout=200"})
    yield other
    other.dispose()


def write_lock(database: Database) -> AbstractContextManager[None]:
    """Another connection holds what a writer of the jobs tables needs, until the block ends
    (on PostgreSQL, plain reads still pass; ``FOR UPDATE`` and writes wait)."""
    return support.write_lock(database, "job_schedules, job_tasks")


@pytest.fixture
def empty_database(database: Database, tmp_path: Path) -> Iterator[Database]:
    """A database of the same engine that holds no table at all (never migrated)."""
    if is_sqlite(database.engine):
        empty = Database(f"sqlite:///{tmp_path}/never-migrated.db")
        yield empty
        empty.dispose()
        return
    schema = f"empty_{uuid.uuid4().hex[:10]}"
    with database.engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in database.url else "?"
    empty = Database(f"{database.url}{separator}options=-csearch_path%3D{schema}")
    try:
        yield empty
    finally:
        empty.dispose()
        with database.engine.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
