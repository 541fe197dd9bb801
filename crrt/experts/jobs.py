"""The pool's job: checked spreadsheets never confirmed leave the staging store after a day.

They hold personal data and served only between a page's check and its confirmation (see
``crrt/web/import_pages.py``); an imported one is removed at once.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from crrt.core.config import Settings
from crrt.core.files import staging_for
from crrt.jobs.registry import JobContext, periodic

STAGING_AREA = "expert_imports"
STAGED_FOR = timedelta(days=1)


def has_stale_uploads(_db: Session, settings: Settings) -> bool:
    """Whether a checked spreadsheet has waited over a day (reads the disk, not the database)."""
    return staging_for(settings, STAGING_AREA).holds_older(STAGED_FOR)


@periodic("experts.prune_import_staging", every=timedelta(hours=1), pending=has_stale_uploads)
def prune_import_staging(ctx: JobContext) -> int:
    """Remove the checked spreadsheets older than a day; returns how many went."""
    return staging_for(ctx.settings, STAGING_AREA).prune(STAGED_FOR)
