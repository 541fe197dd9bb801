"""Run the jobs that are due, each by one worker at a time; queue tasks with a change.

One pass (:func:`run_due`) reads first, in a read-only session, so an idle worker takes no
write lock (on SQLite, other writers never wait for it). Only when something is due does it
open a writing transaction to lease what it will run (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, the write lock of ``BEGIN IMMEDIATE`` on SQLite) and commit. Each job then runs
with no transaction of the runner open, and its outcome is recorded in a short transaction of
its own. A job that raises is logged and retried later; a database error ends the pass, and
the next pass tries again: neither stops the worker.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from crrt.core import clock
from crrt.core.config import Settings
from crrt.core.db import Database, removed
from crrt.jobs import registry
from crrt.jobs.models import WORKER_LENGTH, JobSchedule, JobTask
from crrt.jobs.registry import JobContext, JobFunction

log = logging.getLogger("crrt.jobs")

MAX_ERROR = 2000
BACKOFF_CAP = timedelta(hours=1)  # a failing periodic job is retried at least this often


def schedule(*, db: Session, name: str, at: datetime | None = None,
             payload: Mapping[str, Any] | None = None) -> JobTask:
    """Queue task ``name`` to run at ``at`` (now by default) with ``payload``.

    It is written in the caller's transaction: it exists, and runs, only if the change that
    asked for it commits.
    """
    if name not in registry.TASKS:
        raise ValueError(f"no task named {name!r} is registered")
    if at is not None and at.tzinfo is None:
        raise ValueError("a task's time must be timezone-aware")
    data = dict(payload or {})
    json.dumps(data)  # a payload that JSON cannot hold is refused here, not by the worker
    queued = JobTask(name=name, payload=data, due_at=at or clock.now())
    db.add(queued)
    db.flush()
    return queued


@dataclass(frozen=True)
class Outcome:
    """How one job ran in a pass: ``error`` is None when it ran to the end."""

    name: str
    task_id: int | None
    error: str | None = None
    result: object = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class RunReport:
    """What one pass did; ``database_error`` says why a pass ended early."""

    outcomes: list[Outcome] = field(default_factory=list)
    database_error: str | None = None

    @property
    def ran(self) -> list[str]:
        return [o.name for o in self.outcomes if o.ok]

    @property
    def failed(self) -> list[str]:
        return [o.name for o in self.outcomes if not o.ok]

    @property
    def idle(self) -> bool:
        return not self.outcomes and self.database_error is None


@dataclass(frozen=True)
class _Due:
    periodic: list[str]
    missing: list[str]  # periodic jobs that have no schedule row yet
    tasks: list[int]


@dataclass(frozen=True)
class _Claim:
    """A leased job, detached from the session that leased it."""

    name: str
    run: JobFunction
    task_id: int | None
    payload: dict[str, Any]
    attempts: int
    lease_until: datetime


def run_due(database: Database, settings: Settings, *, worker_id: str,
            batch: int = 20) -> RunReport:
    """One pass: lease what is due, run it, record how it went (at most ``batch`` tasks)."""
    report = RunReport()
    worker_id = worker_id[:WORKER_LENGTH]
    try:
        now = clock.now()
        due = _find_due(database, settings, now=now, batch=batch)
        claims = _claim(database, due, worker_id=worker_id, now=now) \
            if due.periodic or due.tasks else []
    except SQLAlchemyError as exc:
        return _ended(report, "finding and leasing due jobs", exc)
    if not _run_leased(database, settings, claims, report, worker_id=worker_id):
        return report
    _run_shared(database, settings, report)
    return report


def _run_shared(database: Database, settings: Settings, report: RunReport) -> None:
    """Run the shared jobs that have work, on every pass: their ``pending`` check is a cheap
    read, and the passes' own interval paces them (a queue drains at the pace of the passes)."""
    for name, job in list(registry.PERIODIC.items()):
        if not job.shared or not _has_work(database, settings, name):
            continue
        claim = _Claim(name=name, run=job.run, task_id=None, payload={}, attempts=1,
                       lease_until=clock.now())
        report.outcomes.append(_run(claim, database, settings))


def _run_leased(database: Database, settings: Settings, claims: list[_Claim],
                report: RunReport, *, worker_id: str) -> bool:
    """Run the leased jobs in turn; False when a database error ended the pass."""
    for index, claimed in enumerate(claims):
        try:
            claim = _renew(database, claimed, worker_id=worker_id)
        except SQLAlchemyError as exc:
            _ended(report, f"renewing the lease of {claimed.name}", exc)
            return False
        if claim is None:
            continue
        outcome = _run(claim, database, settings)
        report.outcomes.append(outcome)
        try:
            _settle(database, claim, outcome, worker_id=worker_id)
        except SQLAlchemyError as exc:
            left = [c.name for c in claims[index + 1:]]
            if left:  # still leased: they run once their lease runs out
                log.warning("jobs not run this pass: %s", ", ".join(left))
            _ended(report, f"recording how {claim.name} went", exc)
            return False
    return True


def _ended(report: RunReport, doing: str, exc: SQLAlchemyError) -> RunReport:
    log.error("database error while %s; this pass ends, the next one tries again",
              doing, exc_info=exc)
    report.database_error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR]
    return report


def _is_free(lease_until: Any, now: datetime) -> Any:
    return or_(lease_until.is_(None), lease_until <= now)


def _find_due(database: Database, settings: Settings, *, now: datetime, batch: int) -> _Due:
    """What is due, read without taking a write lock; ``pending`` checks filter the rest."""
    names = [name for name, job in registry.PERIODIC.items() if not job.shared]
    task_names = list(registry.TASKS)
    with database.session(read_only=True) as db:
        rows = db.execute(select(JobSchedule.name, JobSchedule.next_run_at,
                                 JobSchedule.lease_until)
                          .where(JobSchedule.name.in_(names))).all() if names else []
        tasks = list(db.scalars(
            select(JobTask.id)
            .where(JobTask.done_at.is_(None), JobTask.failed_at.is_(None),
                   JobTask.due_at <= now, _is_free(JobTask.lease_until, now),
                   JobTask.name.in_(task_names))
            .order_by(JobTask.due_at, JobTask.id).limit(batch))) if task_names else []
    known = {row.name for row in rows}
    missing = [name for name in names if name not in known]
    candidates = missing + [row.name for row in rows if row.next_run_at <= now
                            and (row.lease_until is None or row.lease_until <= now)]
    periodic = [name for name in candidates if _has_work(database, settings, name)]
    return _Due(periodic=periodic, missing=[n for n in missing if n in periodic], tasks=tasks)


def _has_work(database: Database, settings: Settings, name: str) -> bool:
    """A job's own read-only check; one that fails counts as work, so the job shows the error."""
    pending = registry.PERIODIC[name].pending
    if pending is None:
        return True
    try:
        with database.session(read_only=True) as db:
            return bool(pending(db, settings))
    except Exception:
        log.exception("the pending check of job %s failed; running the job", name)
        return True


def _claim(database: Database, due: _Due, *, worker_id: str, now: datetime) -> list[_Claim]:
    """Lease the due jobs that are still free, in one transaction committed before any runs."""
    claims: list[_Claim] = []
    with database.session() as db:
        for name in due.missing:
            _create_schedule(db, name, now)
        if due.periodic:
            rows = db.scalars(
                select(JobSchedule)
                .where(JobSchedule.name.in_(due.periodic), JobSchedule.next_run_at <= now,
                       _is_free(JobSchedule.lease_until, now))
                .order_by(JobSchedule.name).with_for_update(skip_locked=True))
            for schedule_row in rows:
                job = registry.PERIODIC.get(schedule_row.name)
                if job is None:
                    continue
                schedule_row.lease_until = now + job.lease
                schedule_row.leased_by, schedule_row.last_started_at = worker_id, now
                claims.append(_Claim(name=job.name, run=job.run, task_id=None, payload={},
                                     attempts=schedule_row.failures + 1,
                                     lease_until=schedule_row.lease_until))
        if due.tasks:
            queued = db.scalars(
                select(JobTask)
                .where(JobTask.id.in_(due.tasks), JobTask.done_at.is_(None),
                       JobTask.failed_at.is_(None), JobTask.due_at <= now,
                       _is_free(JobTask.lease_until, now))
                .order_by(JobTask.due_at, JobTask.id).with_for_update(skip_locked=True))
            for row in queued:
                spec = registry.TASKS.get(row.name)
                if spec is None:
                    continue
                if row.attempts >= spec.max_attempts:  # its last lease ran out mid-run
                    row.failed_at, row.lease_until = now, None
                    row.last_error = ("the worker running its last attempt stopped before "
                                      "it finished (was the lease shorter than the run?)")
                    continue
                row.attempts += 1
                row.lease_until, row.leased_by = now + spec.lease, worker_id
                claims.append(_Claim(name=row.name, run=spec.run, task_id=row.id,
                                     payload=dict(row.payload), attempts=row.attempts,
                                     lease_until=row.lease_until))
    return claims


def _renew(database: Database, claim: _Claim, *, worker_id: str) -> _Claim | None:
    """Lease one claimed job afresh just before it runs, so a job later in a long pass starts
    with its whole lease; None if its first lease ran out meanwhile (another worker may hold
    it now, or the next pass will take it)."""
    now = clock.now()
    if claim.task_id is None:
        table: type[JobSchedule] | type[JobTask] = JobSchedule
        job: registry.Periodic | registry.Task | None = registry.PERIODIC.get(claim.name)
        key = JobSchedule.name == claim.name
    else:
        table, job = JobTask, registry.TASKS.get(claim.name)
        key = JobTask.id == claim.task_id
    if job is None:
        return None
    lease_until = now + job.lease
    with database.session() as db:
        renewed = removed(db.execute(
            update(table).where(key, table.leased_by == worker_id,
                                table.lease_until == claim.lease_until,
                                table.lease_until > now)
            .values(lease_until=lease_until)))
    if not renewed:
        log.warning("job %s was not run: its lease ran out before its turn in this pass",
                    claim.name)
        return None
    return replace(claim, lease_until=lease_until)


def _create_schedule(db: Session, name: str, now: datetime) -> None:
    """Add the schedule row of a new periodic job; another worker adding it too is fine."""
    try:
        with db.begin_nested():
            db.add(JobSchedule(name=name, next_run_at=now))
            db.flush()
    except IntegrityError:
        log.debug("schedule of job %s was created by another worker", name)


def _run(claim: _Claim, database: Database, settings: Settings) -> Outcome:
    """Run one job with no transaction of ours open; whatever it raises is logged, not raised."""
    label = claim.name if claim.task_id is None else f"{claim.name} (task {claim.task_id})"
    context = JobContext(database=database, settings=settings, payload=dict(claim.payload),
                         now=clock.now())
    try:
        result = claim.run(context)
    except Exception as exc:
        log.exception("job %s failed (attempt %d)", label, claim.attempts)
        return Outcome(name=claim.name, task_id=claim.task_id,
                       error=f"{type(exc).__name__}: {exc}"[:MAX_ERROR])
    return Outcome(name=claim.name, task_id=claim.task_id, result=result)


def periodic_backoff(every: timedelta, failures: int) -> timedelta:
    """The wait after ``failures`` failures in a row: doubling from ``every``, at most 1 hour."""
    wait: timedelta = every * 2 ** min(failures, 30)
    return min(wait, BACKOFF_CAP)


def task_backoff(attempts: int) -> timedelta:
    """The wait before a task's next attempt: 2ⁿ minutes after n attempts."""
    return timedelta(minutes=2 ** attempts)


def _settle(database: Database, claim: _Claim, outcome: Outcome, *, worker_id: str) -> None:
    """Record the outcome, unless the lease ran out and another worker holds the job now."""
    with database.session() as db:
        finished = clock.now()
        if claim.task_id is None:
            row: JobSchedule | JobTask | None = db.get(JobSchedule, claim.name,
                                                       with_for_update=True)
        else:
            row = db.get(JobTask, claim.task_id, with_for_update=True)
        if row is None or (row.leased_by, row.lease_until) != (worker_id, claim.lease_until):
            log.warning("job %s outlived its lease; its outcome is not recorded (make its "
                        "lease longer than its run time)", claim.name)
            return
        row.lease_until = None
        row.last_error = outcome.error or ""
        if isinstance(row, JobSchedule):
            job = registry.PERIODIC.get(claim.name)
            every = job.every if job is not None else BACKOFF_CAP
            row.last_finished_at = finished
            row.failures = 0 if outcome.ok else row.failures + 1
            row.next_run_at = finished + (every if outcome.ok
                                          else periodic_backoff(every, row.failures))
        elif outcome.ok:
            row.done_at = finished
        else:
            spec = registry.TASKS.get(claim.name)
            if spec is None or row.attempts >= spec.max_attempts:
                row.failed_at = finished
            else:
                row.due_at = finished + task_backoff(row.attempts)


@dataclass(frozen=True)
class JobStatus:
    """One job as operators see it (``crrt jobs list``)."""

    name: str
    kind: str  # "periodic" or "task"
    registered: bool
    next_run_at: datetime | None = None
    leased_until: datetime | None = None
    leased_by: str = ""
    failures: int = 0
    last_error: str = ""
    queued: int = 0
    failed: int = 0


def status(*, db: Session) -> list[JobStatus]:
    """Every registered job, and any job the tables hold that this code does not know."""
    now = clock.now()
    found: list[JobStatus] = []
    schedules = {row.name: row for row in db.scalars(select(JobSchedule))}
    for name in sorted(set(registry.PERIODIC) | set(schedules)):
        row = schedules.get(name)
        leased = row is not None and row.lease_until is not None and row.lease_until > now
        found.append(JobStatus(
            name=name, kind="periodic", registered=name in registry.PERIODIC,
            next_run_at=row.next_run_at if row else None,
            leased_until=row.lease_until if row and leased else None,
            leased_by=row.leased_by if row and leased else "",
            failures=row.failures if row else 0, last_error=row.last_error if row else ""))
    open_ = JobTask.done_at.is_(None) & JobTask.failed_at.is_(None)
    counts = {row.name: row for row in db.execute(
        select(JobTask.name,
               func.count().filter(open_).label("queued"),
               func.count().filter(JobTask.failed_at.is_not(None)).label("failed"),
               func.min(JobTask.due_at).filter(open_).label("next_due"))
        .group_by(JobTask.name))}
    for name in sorted(set(registry.TASKS) | set(counts)):
        count = counts.get(name)
        last_error = db.scalar(select(JobTask.last_error)
                               .where(JobTask.name == name, JobTask.last_error != "")
                               .order_by(JobTask.id.desc()).limit(1)) if count else None
        found.append(JobStatus(
            name=name, kind="task", registered=name in registry.TASKS,
            next_run_at=count.next_due if count else None, queued=count.queued if count else 0,
            failed=count.failed if count else 0, last_error=last_error or ""))
    return found
