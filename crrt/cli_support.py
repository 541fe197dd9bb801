"""What every ``crrt`` command group shares: the database, clear failures, the system actor.

Kept apart from :mod:`crrt.cli` so each part's command group (``crrt.experts.cli``...) can use
it without importing the top-level command, which imports them.
"""

from __future__ import annotations

import typer
from pydantic import ValidationError

from crrt.auth.principal import Principal
from crrt.core import migrations
from crrt.core.config import get_settings
from crrt.core.db import Database

SYSTEM = Principal.system("cli")


def database() -> Database:
    return Database(get_settings().database_url)


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(message, fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def ready_database() -> Database:
    """The database, or a clear exit if its schema is behind the code."""
    db = database()
    try:
        migrations.check_current(db.engine)
    except migrations.SchemaBehind as exc:
        db.dispose()
        raise fail(str(exc)) from exc
    return db


def invalid(exc: ValidationError) -> typer.Exit:
    """A clear exit for input that fails validation, never echoing the value (a password)."""
    problems = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'input'}: {err['msg']}"
                         for err in exc.errors(include_input=False))
    return fail(f"invalid: {problems}")
