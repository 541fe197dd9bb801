"""What every ``crrt`` command group shares: the database, clear failures, the system actor.

Kept apart from :mod:`crrt.cli` so each part's command group (``crrt.experts.cli``...) can use
it without importing the top-level command, which imports them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from pydantic import ValidationError
from sqlalchemy.orm import Session

from crrt.access.principal import Principal
from crrt.audit import service as audit
from crrt.core import migrations
from crrt.core.config import get_settings
from crrt.core.db import Database
from crrt.core.errors import DomainError

SYSTEM = Principal.system("cli")


def database() -> Database:
    return Database(get_settings().database_url)


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(message, fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def ready_database() -> Database:
    """The database with its audit key bound, or a clear exit if its schema is behind."""
    db = database()
    try:
        migrations.check_current(db.engine)
    except migrations.SchemaBehind as exc:
        db.dispose()
        raise fail(str(exc)) from exc
    try:
        key = get_settings().resolved_audit_key()
    except (OSError, RuntimeError) as exc:  # an unreadable or emptied key file
        db.dispose()
        raise fail(f"the audit key (CRRT_AUDIT_KEY): {exc}") from exc
    return audit.bind_key(db, key)


def invalid(exc: ValidationError) -> typer.Exit:
    """A clear exit for input that fails validation, never echoing the value (a password)."""
    problems = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'input'}: {err['msg']}"
                         for err in exc.errors(include_input=False))
    return fail(f"invalid: {problems}")


def settings_checked() -> None:
    """Read the settings once, so a bad ``CRRT_*`` value is a clear exit before any command.

    The message names the variable and the problem, never the value (a password in a URL).
    """
    try:
        get_settings()
    except ValidationError as exc:
        problems = "; ".join(
            (f"CRRT_{'_'.join(str(p) for p in err['loc']).upper()}: " if err["loc"] else "")
            + err["msg"].removeprefix("Value error, ")
            for err in exc.errors(include_input=False))
        raise fail(f"invalid configuration: {problems}") from exc


@contextmanager
def refused() -> Iterator[None]:
    """Turn what a schema or a service refuses into a clear exit, never a traceback."""
    try:
        yield
    except ValidationError as exc:
        raise invalid(exc) from exc
    except DomainError as exc:
        raise fail(exc.detail) from exc


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """One unit of work on the ready database: committed, or rolled back and a clear exit."""
    database = ready_database()
    try:
        with refused(), database.session() as db:
            yield db
    finally:
        database.dispose()
