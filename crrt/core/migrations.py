"""Alembic, driven from code: one chain of migrations for SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, String, column, select, table
from sqlalchemy.orm import Session

from crrt.core.db import READ_ONLY, normalise_url

SCRIPTS = Path(__file__).resolve().parent.parent / "migrations"


class SchemaBehind(RuntimeError):
    """The database is older than the code; ``crrt db upgrade`` brings it up."""


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The database's revision, read without a write lock (a command that only reads, such
    as ``crrt audit verify``, must not wait for SQLite's writers)."""
    with engine.execution_options(**{READ_ONLY: True}).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


VERSION_TABLE = table("alembic_version", column("version_num", String))
_REVISION = select(VERSION_TABLE.c.version_num).limit(1)


def database_revision(connection: Connection | Session) -> str | None:
    """The revision recorded in a migrated database (what ``/api/v1/health`` reports): one
    small read of Alembic's table, not an Alembic migration context on every health check.
    (The server refuses to start on a database that is not at the code's revision.)"""
    return connection.execute(_REVISION).scalar()


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def check_current(engine: Engine) -> None:
    """Refuse to serve a database whose schema is not the code's."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise SchemaBehind(
            f"The database schema is at {current or 'nothing (empty database)'}, this crrt "
            f"expects {head}. Run `crrt db upgrade` first.")
