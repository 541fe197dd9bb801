"""``crrt jobs``: what the workers run, when next, and how it last went."""

from __future__ import annotations

import typer

from crrt.cli_support import ready_database
from crrt.jobs import registry, service

app = typer.Typer(help="The workers' jobs.", no_args_is_help=True)


def _when(moment: object) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC" if moment is not None else "-"


@app.command("list")
def list_jobs() -> None:
    """One line per job: name, kind, next run, lease, failures, last error."""
    with ready_database().session(read_only=True) as db:
        jobs = service.status(db=db)
    for job in jobs:
        if job.kind == "periodic":
            spec = registry.PERIODIC.get(job.name)
            kind = f"every {spec.every}" if spec else "periodic (not registered)"
            state = (f"running on {job.leased_by} until {_when(job.leased_until)}"
                     if job.leased_until else f"{job.failures} failure(s) in a row")
        else:
            kind = "task" if job.registered else "task (not registered)"
            state = f"{job.queued} queued, {job.failed} failed"
        error = job.last_error.splitlines()[0][:200] if job.last_error else "-"
        typer.echo(f"{job.name}\t{kind}\tnext {_when(job.next_run_at)}\t{state}\t{error}")
