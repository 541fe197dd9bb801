"""The workers' side of dispatch: a call-out's timer, run when it comes due."""

from __future__ import annotations

from crrt.assistance import dispatch
from crrt.jobs.registry import JobContext, task


def links_of(ctx: JobContext) -> dispatch.Links:
    settings = ctx.settings
    return dispatch.Links(base=settings.public_url or "", secret=settings.resolved_secret_key(),
                          callout_minutes=settings.callout_minutes)


@task(dispatch.CALLOUT_TASK)
def callout_due(ctx: JobContext) -> str:
    """Escalate a call-out still unanswered when due; nothing if it was answered."""
    with ctx.database.session() as db:
        return dispatch.escalate(db, member_id=int(ctx.payload["member"]),
                                 attempt=int(ctx.payload["attempt"]), links=links_of(ctx))
