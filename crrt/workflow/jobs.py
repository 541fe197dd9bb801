"""The workers' side of deadlines: a task per deadline, run when it comes due."""

from __future__ import annotations

from crrt.jobs.registry import JobContext, task
from crrt.workflow.machine import DEADLINE_TASK, MACHINES


@task(DEADLINE_TASK)
def deadline_passed(ctx: JobContext) -> str:
    """Let the record's machine act on a passed deadline; a machine no longer known (its part
    removed) leaves the task done, with a note."""
    machine = MACHINES.get(str(ctx.payload.get("machine")))
    if machine is None:
        return f"no machine named {ctx.payload.get('machine')!r}"
    with ctx.database.session() as db:
        return machine.expire(db, ctx.payload)
