"""One Alembic chain builds the schema on both engines, and it matches the models exactly."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from crrt.api import create_app
from crrt.core import migrations
from crrt.core.config import Settings
from crrt.core.db import Base, Database


def test_a_fresh_upgrade_reaches_head(empty_url):
    database = Database(empty_url)
    try:
        assert migrations.current_revision(database.engine) is None
        migrations.upgrade(empty_url)
        assert migrations.current_revision(database.engine) == migrations.head_revision()
        migrations.check_current(database.engine)  # does not raise
    finally:
        database.dispose()


def test_create_app_refuses_an_empty_database_naming_the_fix(empty_url, tmp_path):
    database = Database(empty_url)
    try:
        with pytest.raises(migrations.SchemaBehind, match="crrt db upgrade"):
            create_app(Settings(database_url=empty_url, data_dir=tmp_path), database=database)
    finally:
        database.dispose()


def test_create_app_refuses_a_new_sqlite_file(tmp_path):
    url = f"sqlite:///{tmp_path}/new.db"
    database = Database(url)
    try:
        with pytest.raises(migrations.SchemaBehind, match="crrt db upgrade") as caught:
            create_app(Settings(database_url=url, data_dir=tmp_path), database=database)
        assert "empty database" in str(caught.value)
        assert migrations.head_revision() in str(caught.value)
    finally:
        database.dispose()


def test_models_and_migrations_agree(database):
    """Autogenerate finds nothing to do: no table, column, type, index or key is missing."""
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_the_migrated_schema_holds_every_table(database):
    from sqlalchemy import inspect

    tables = set(inspect(database.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables
