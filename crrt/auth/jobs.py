"""The accounts part's job: forget sign-in attempts after a week."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from crrt.auth import service
from crrt.auth.models import LoginAttempt
from crrt.core import clock
from crrt.core.config import Settings
from crrt.jobs.registry import JobContext, periodic

KEEP = timedelta(days=7)


def has_old_attempts(db: Session, _settings: Settings) -> bool:
    """Whether any attempt is older than a week (read-only, so an idle worker writes nothing)."""
    return bool(db.scalar(select(exists().where(LoginAttempt.at < clock.now() - KEEP))))


@periodic("auth.prune_login_attempts", every=timedelta(hours=1), pending=has_old_attempts)
def prune_login_attempts(ctx: JobContext) -> int:
    """Delete attempts older than a week; returns how many went."""
    with ctx.database.session() as db:
        return service.prune_login_attempts(db=db, older_than=ctx.now - KEEP)
