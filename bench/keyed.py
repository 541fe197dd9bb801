"""How every benchmark opens its database: migrated, with the audit chain's key bound, as the
app and the CLI do. The key is a throwaway one unless ``CRRT_AUDIT_KEY`` is set; it goes into
the environment before anything reads the settings (migration 0004 seals the chain's head
with it), so a ``crrt serve`` the benchmark starts seals with the same key."""

from __future__ import annotations

import os
import secrets
import socket

from sqlalchemy import Engine, create_engine

from crrt.audit import service as audit
from crrt.core import migrations
from crrt.core.config import get_settings
from crrt.core.db import Database


def audit_key() -> str:
    """The key this run uses, set once in the environment the servers inherit."""
    if "CRRT_AUDIT_KEY" not in os.environ:
        os.environ["CRRT_AUDIT_KEY"] = secrets.token_urlsafe(48)
        get_settings.cache_clear()  # settings read before now knew no key
    return os.environ["CRRT_AUDIT_KEY"]


def migrated_database(url: str) -> Database:
    """The database at ``url`` brought up to date, its audit key bound."""
    key = audit_key()
    migrations.upgrade(url)
    return audit.bind_key(Database(url), key)


def free_port() -> int:
    """A port on loopback nobody listens on (for a server the benchmark starts)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _admin(server: str) -> Engine:
    return create_engine(f"{server.replace('postgresql://', 'postgresql+psycopg://')}/postgres",
                         isolation_level="AUTOCOMMIT")


def create_postgres(server: str, name: str) -> str:
    """A fresh, empty PostgreSQL database ``name`` on ``server``; its URL."""
    admin = _admin(server)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return f"{server}/{name}"


def drop_postgres(server: str, name: str) -> None:
    admin = _admin(server)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()
