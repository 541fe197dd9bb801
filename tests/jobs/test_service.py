"""Running jobs: when due and not before, once across workers, and never fatally.

Every test registers its own jobs (``test.…``) and runs real passes on SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from crrt.core import clock
from crrt.core.db import Database
from crrt.jobs import registry, service
from crrt.jobs.models import JobSchedule, JobTask
from crrt.jobs.registry import JobContext
from tests.jobs.conftest import write_lock

T0 = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
WORKER = "test-worker"


class Runs:
    """What ran, counted across threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: Counter[str] = Counter()
        self.contexts: list[JobContext] = []

    def add(self, key: str, ctx: JobContext) -> None:
        with self.lock:
            self.seen[key] += 1
            self.contexts.append(ctx)


def _pass(database: Database, settings, worker: str = WORKER) -> service.RunReport:
    return service.run_due(database, settings, worker_id=worker)


def _schedule(database: Database, name: str, **payload: object) -> int:
    with database.session() as db:
        return service.schedule(db=db, name=name, payload=payload).id


def _row(database: Database, model, key):
    with database.session(read_only=True) as db:
        return db.get(model, key)


def test_a_periodic_job_runs_when_due_and_not_before(database, settings):
    runs = Runs()
    registry.periodic("test.minutely", every=timedelta(minutes=1))(
        lambda ctx: runs.add("minutely", ctx))
    with clock.frozen(T0):
        assert _pass(database, settings).ran == ["test.minutely"]
        assert runs.contexts[0].now == T0
        clock.advance(timedelta(seconds=59))
        assert _pass(database, settings).idle
        clock.advance(timedelta(seconds=1))
        assert _pass(database, settings).ran == ["test.minutely"]
    assert runs.seen["minutely"] == 2
    row = _row(database, JobSchedule, "test.minutely")
    assert row.next_run_at == T0 + timedelta(minutes=2)
    assert row.lease_until is None and row.failures == 0


def test_a_periodic_job_with_nothing_pending_does_not_run_or_write(database, settings):
    work = {"waiting": False}
    runs = Runs()
    registry.periodic("test.when_needed", every=timedelta(minutes=1),
                      pending=lambda db, _settings: work["waiting"])(
        lambda ctx: runs.add("needed", ctx))
    with clock.frozen(T0):
        assert _pass(database, settings).idle
        assert _row(database, JobSchedule, "test.when_needed") is None  # nothing written
        work["waiting"] = True
        assert _pass(database, settings).ran == ["test.when_needed"]
    assert runs.seen["needed"] == 1


def test_a_task_runs_once_at_its_time_with_its_payload(database, settings):
    runs = Runs()
    registry.task("test.remind")(lambda ctx: runs.add(ctx.payload["who"], ctx))
    with clock.frozen(T0):
        with database.session() as db:
            task_id = service.schedule(db=db, name="test.remind",
                                       at=T0 + timedelta(minutes=10),
                                       payload={"who": "ana"}).id
        assert _pass(database, settings).idle
        clock.advance(timedelta(minutes=10))
        report = _pass(database, settings)
        assert [(o.name, o.task_id, o.ok) for o in report.outcomes] == [
            ("test.remind", task_id, True)]
        clock.advance(timedelta(days=1))
        assert _pass(database, settings).idle
    assert runs.seen == Counter({"ana": 1})
    task = _row(database, JobTask, task_id)
    assert task.done_at == T0 + timedelta(minutes=10) and task.attempts == 1


def test_a_task_scheduled_in_a_transaction_that_rolls_back_never_runs(database, settings):
    runs = Runs()
    registry.task("test.never")(lambda ctx: runs.add("never", ctx))
    with pytest.raises(RuntimeError), database.session() as db:
        service.schedule(db=db, name="test.never")
        raise RuntimeError("the change failed")
    assert _pass(database, settings).idle
    assert runs.seen == Counter()
    with database.session(read_only=True) as db:
        assert db.scalars(select(JobTask)).all() == []


def test_only_registered_tasks_can_be_scheduled(database):
    registry.periodic("test.periodic", every=timedelta(minutes=1))(lambda ctx: None)
    registry.task("test.with_payload")(lambda ctx: None)
    with database.session() as db:
        with pytest.raises(ValueError, match=r"no task named 'test\.unknown'"):
            service.schedule(db=db, name="test.unknown")
        with pytest.raises(ValueError, match=r"no task named 'test\.periodic'"):
            service.schedule(db=db, name="test.periodic")
        with pytest.raises(TypeError):
            service.schedule(db=db, name="test.with_payload", payload={"at": object()})
        with pytest.raises(ValueError, match="timezone"):
            service.schedule(db=db, name="test.with_payload", at=datetime(2030, 1, 1))


def test_a_job_raising_is_logged_and_retried_later_while_the_others_run(database, settings,
                                                                       caplog):
    runs = Runs()

    def broken(ctx: JobContext) -> None:
        runs.add("broken", ctx)
        raise RuntimeError("the feed is down")

    registry.periodic("test.broken", every=timedelta(minutes=1))(broken)
    registry.periodic("test.fine", every=timedelta(minutes=1))(lambda ctx: runs.add("fine", ctx))
    registry.task("test.errand")(lambda ctx: runs.add("errand", ctx))
    with clock.frozen(T0):
        _schedule(database, "test.errand")
        with caplog.at_level(logging.ERROR, logger="crrt.jobs"):
            report = _pass(database, settings)
        assert report.failed == ["test.broken"]
        assert sorted(report.ran) == ["test.errand", "test.fine"]
        [logged] = [r for r in caplog.records if "test.broken" in r.getMessage()]
        assert logged.exc_info and "the feed is down" in str(logged.exc_info[1])
        row = _row(database, JobSchedule, "test.broken")
        assert row.failures == 1 and "RuntimeError: the feed is down" in row.last_error
        assert row.next_run_at == T0 + timedelta(minutes=2)  # backoff: twice its period
        clock.advance(timedelta(minutes=1))
        assert _pass(database, settings).ran == ["test.fine"]  # broken waits out its backoff
        clock.advance(timedelta(minutes=1))
        assert "test.broken" in _pass(database, settings).failed
    assert runs.seen == Counter({"broken": 2, "fine": 3, "errand": 1})
    assert _row(database, JobSchedule, "test.broken").failures == 2


def test_a_pending_check_that_fails_is_logged_and_the_job_runs(database, settings, caplog):
    """A broken check must not hide its job: the job runs, and its own outcome shows."""
    registry.periodic("test.pending_boom", every=timedelta(minutes=1),
                      pending=lambda db, s: 1 / 0)(lambda ctx: "ran anyway")
    with caplog.at_level(logging.ERROR, logger="crrt.jobs"):
        report = _pass(database, settings)
    assert [(o.name, o.result) for o in report.outcomes] == [("test.pending_boom", "ran anyway")]
    [record] = [r for r in caplog.records if "pending check" in r.getMessage()]
    assert "test.pending_boom" in record.getMessage()
    assert record.exc_info and record.exc_info[0] is ZeroDivisionError


def test_a_periodic_job_recovers_and_its_failures_are_cleared(database, settings):
    state = {"fail": True}

    def flaky(ctx: JobContext) -> None:
        if state["fail"]:
            raise RuntimeError("not yet")

    registry.periodic("test.flaky", every=timedelta(minutes=5))(flaky)
    with clock.frozen(T0):
        _pass(database, settings)
        state["fail"] = False
        clock.advance(timedelta(minutes=10))
        assert _pass(database, settings).ran == ["test.flaky"]
    row = _row(database, JobSchedule, "test.flaky")
    assert (row.failures, row.last_error) == (0, "")
    assert row.next_run_at == T0 + timedelta(minutes=15)


def test_periodic_backoff_doubles_and_stops_at_an_hour():
    assert service.periodic_backoff(timedelta(seconds=5), 1) == timedelta(seconds=10)
    assert service.periodic_backoff(timedelta(seconds=5), 3) == timedelta(seconds=40)
    assert service.periodic_backoff(timedelta(seconds=5), 40) == timedelta(hours=1)
    assert service.periodic_backoff(timedelta(days=1), 1) == timedelta(hours=1)


def test_a_failing_task_is_retried_with_backoff_then_given_up(database, settings):
    runs = Runs()

    def refuses(ctx: JobContext) -> None:
        runs.add("refuses", ctx)
        raise ValueError("no such expert")

    registry.task("test.refuses", max_attempts=3)(refuses)
    with clock.frozen(T0):
        task_id = _schedule(database, "test.refuses")
        _pass(database, settings)
        assert _row(database, JobTask, task_id).due_at == T0 + timedelta(minutes=2)
        clock.advance(timedelta(minutes=1))
        assert _pass(database, settings).idle  # not before its backoff
        clock.advance(timedelta(minutes=1))
        _pass(database, settings)
        assert _row(database, JobTask, task_id).due_at == T0 + timedelta(minutes=2 + 4)
        clock.advance(timedelta(minutes=4))
        _pass(database, settings)
        clock.advance(timedelta(days=1))
        assert _pass(database, settings).idle
    task = _row(database, JobTask, task_id)
    assert task.attempts == 3 and task.failed_at == T0 + timedelta(minutes=6)
    assert task.done_at is None and "ValueError: no such expert" in task.last_error
    assert runs.seen["refuses"] == 3


def test_a_job_whose_sql_fails_is_logged_and_the_worker_goes_on(database, settings, caplog):
    """A job's own database error (a missing table) is that job's failure, nothing more."""
    runs = Runs()

    def stale(ctx: JobContext) -> None:
        with ctx.database.session() as db:
            db.execute(text("UPDATE no_such_table SET seen = 1"))

    registry.periodic("test.stale", every=timedelta(minutes=1))(stale)
    registry.task("test.after")(lambda ctx: runs.add("after", ctx))
    with clock.frozen(T0):
        _schedule(database, "test.after")
        with caplog.at_level(logging.ERROR, logger="crrt.jobs"):
            report = _pass(database, settings)
        assert report.failed == ["test.stale"] and report.ran == ["test.after"]
        assert report.database_error is None
        assert "no_such_table" in _row(database, JobSchedule, "test.stale").last_error
        clock.advance(timedelta(hours=1))
        assert _pass(database, settings).failed == ["test.stale"]  # tried again, still alive
    assert any("test.stale" in r.getMessage() for r in caplog.records)
    assert runs.seen["after"] == 1


def test_a_database_without_the_tables_ends_the_pass_with_a_logged_error(
        empty_database, settings, caplog):
    registry.periodic("test.anything", every=timedelta(minutes=1))(lambda ctx: None)
    with caplog.at_level(logging.ERROR, logger="crrt.jobs"):
        report = _pass(empty_database, settings)
        again = _pass(empty_database, settings)
    assert report.database_error and "job_schedules" in report.database_error
    assert again.database_error and not report.outcomes
    assert any("database error" in r.getMessage() for r in caplog.records)


def test_a_database_error_while_leasing_ends_the_pass_and_the_next_one_runs_the_job(
        database, impatient, settings, caplog):
    runs = Runs()
    registry.periodic("test.blocked", every=timedelta(minutes=1))(
        lambda ctx: runs.add("blocked", ctx))
    with clock.frozen(T0):
        with write_lock(database), caplog.at_level(logging.ERROR, logger="crrt.jobs"):
            report = _pass(impatient, settings)
        assert report.database_error and not report.outcomes
        assert any("leasing" in r.getMessage() for r in caplog.records)
        assert _pass(impatient, settings).ran == ["test.blocked"]
    assert runs.seen["blocked"] == 1


def test_a_database_error_while_recording_an_outcome_ends_the_pass_and_the_lease_expires(
        database, impatient, settings, caplog):
    """The job ran; its outcome could not be written, so it runs again once its lease ends."""
    runs = Runs()
    held = ExitStack()

    def grabs_the_lock(ctx: JobContext) -> None:
        runs.add("grabs", ctx)
        if runs.seen["grabs"] == 1:
            held.enter_context(write_lock(database))  # kept past the job's end

    registry.periodic("test.grabs", every=timedelta(hours=1), lease=timedelta(minutes=3))(
        grabs_the_lock)
    registry.task("test.later")(lambda ctx: runs.add("later", ctx))
    with clock.frozen(T0), held:
        _schedule(database, "test.later")
        with caplog.at_level(logging.ERROR, logger="crrt.jobs"):
            report = _pass(impatient, settings)
        held.close()
        assert report.database_error and "recording how test.grabs went" in \
            caplog.records[-1].getMessage()
        assert report.ran == ["test.grabs"]  # the pass ended before the task
        assert runs.seen["later"] == 0
        clock.advance(timedelta(minutes=2))
        assert _pass(impatient, settings).idle  # both still leased
        clock.advance(timedelta(minutes=3))
        assert sorted(_pass(impatient, settings).ran) == ["test.grabs", "test.later"]
    assert runs.seen == Counter({"grabs": 2, "later": 1})


class WorkerKilled(BaseException):
    """Stands for a worker process dying mid-job (``except Exception`` does not catch it)."""


def test_a_job_whose_worker_died_runs_again_after_its_lease(database, settings):
    runs = Runs()

    def dies_first(ctx: JobContext) -> None:
        runs.add("job", ctx)
        if runs.seen["job"] == 1:
            raise WorkerKilled

    registry.periodic("test.lease", every=timedelta(hours=1), lease=timedelta(minutes=10))(
        dies_first)
    with clock.frozen(T0):
        with pytest.raises(WorkerKilled):
            _pass(database, settings, worker="dead-worker")
        row = _row(database, JobSchedule, "test.lease")
        assert (row.leased_by, row.lease_until) == ("dead-worker", T0 + timedelta(minutes=10))
        clock.advance(timedelta(minutes=9))
        assert _pass(database, settings).idle
        clock.advance(timedelta(minutes=1))
        assert _pass(database, settings).ran == ["test.lease"]
    assert runs.seen["job"] == 2


def test_a_job_that_outlives_its_lease_does_not_overwrite_the_next_runs_outcome(
        database, settings, caplog):
    """Worker A's run takes longer than its lease; B runs the job meanwhile and succeeds."""
    runs = Runs()

    def slow(ctx: JobContext) -> None:
        runs.add("slow", ctx)
        if runs.seen["slow"] == 1:
            clock.advance(timedelta(minutes=2))  # past its 1-minute lease
            assert service.run_due(database, settings, worker_id="worker-b").ran == [
                "test.slow"]
            raise RuntimeError("A finally fails")

    registry.periodic("test.slow", every=timedelta(hours=1), lease=timedelta(minutes=1))(slow)
    with clock.frozen(T0), caplog.at_level(logging.WARNING, logger="crrt.jobs"):
        report = _pass(database, settings, worker="worker-a")
    assert report.failed == ["test.slow"] and report.database_error is None
    row = _row(database, JobSchedule, "test.slow")
    assert (row.leased_by, row.failures, row.last_error) == ("worker-b", 0, "")
    assert row.next_run_at == T0 + timedelta(minutes=2, hours=1)
    assert any("outlived its lease" in r.getMessage() for r in caplog.records)


def test_a_task_whose_worker_died_on_its_last_attempt_is_given_up(database, settings):
    def dies(ctx: JobContext) -> None:
        raise WorkerKilled

    registry.task("test.doomed", max_attempts=1, lease=timedelta(minutes=1))(dies)
    with clock.frozen(T0):
        task_id = _schedule(database, "test.doomed")
        with pytest.raises(WorkerKilled):
            _pass(database, settings)
        clock.advance(timedelta(minutes=1))
        assert _pass(database, settings).idle
    task = _row(database, JobTask, task_id)
    assert task.failed_at == T0 + timedelta(minutes=1) and task.attempts == 1
    assert "stopped before it finished" in task.last_error


def test_a_schedule_row_created_meanwhile_by_another_worker_is_no_error(database, settings):
    """Both workers see the row missing; the second one's insert clashes and is let go."""
    runs = Runs()

    def other_worker_creates_it(db, _settings) -> bool:
        with database.session() as other:
            other.add(JobSchedule(name="test.raced", next_run_at=clock.now()))
        return True

    registry.periodic("test.raced", every=timedelta(minutes=1),
                      pending=other_worker_creates_it)(lambda ctx: runs.add("raced", ctx))
    with clock.frozen(T0):
        report = _pass(database, settings)
    assert report.database_error is None and report.ran == ["test.raced"]
    assert runs.seen["raced"] == 1


def test_two_workers_never_run_a_job_twice(database, settings):
    """Two workers (own engines, own threads) pass over the same due jobs many times at once."""
    runs = Runs()
    registry.periodic("test.shared", every=timedelta(hours=1))(lambda ctx: runs.add("p", ctx))
    registry.task("test.item")(lambda ctx: runs.add(f"t{ctx.payload['n']}", ctx))
    with database.session() as db:
        for n in range(50):
            service.schedule(db=db, name="test.item", payload={"n": n})
    start = threading.Barrier(2)
    errors: list[str] = []

    def work(name: str) -> None:
        own = Database(database.url)
        try:
            start.wait()
            for _ in range(30):
                report = service.run_due(own, settings, worker_id=name, batch=5)
                if report.database_error:
                    errors.append(report.database_error)
        finally:
            own.dispose()

    threads = [threading.Thread(target=work, args=(f"worker-{i}",)) for i in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert runs.seen == Counter({"p": 1, **{f"t{n}": 1 for n in range(50)}})
    with database.session(read_only=True) as db:
        assert db.scalar(select(JobTask.id).where(JobTask.done_at.is_(None))) is None
        assert {t.attempts for t in db.scalars(select(JobTask))} == {1}


def test_status_shows_each_job_its_next_run_and_last_error(database, settings):
    def broken(ctx: JobContext) -> None:
        raise RuntimeError("upstream answered 502")

    registry.periodic("test.status", every=timedelta(minutes=15))(broken)
    registry.task("test.queued")(lambda ctx: None)
    with clock.frozen(T0):
        _pass(database, settings)
        with database.session() as db:
            service.schedule(db=db, name="test.queued", at=T0 + timedelta(days=1))
        with database.session(read_only=True) as db:
            found = {s.name: s for s in service.status(db=db)}
    periodic = found["test.status"]
    assert (periodic.kind, periodic.failures, periodic.next_run_at) == (
        "periodic", 1, T0 + timedelta(minutes=30))
    assert "upstream answered 502" in periodic.last_error
    queued = found["test.queued"]
    assert (queued.kind, queued.queued, queued.next_run_at) == ("task", 1, T0 + timedelta(days=1))
    assert {"outbox.deliver", "auth.prune_login_attempts"} <= set(found)
    assert found["outbox.deliver"].next_run_at is None  # never needed yet


def test_a_job_later_in_a_long_pass_whose_first_lease_ran_out_is_not_run_twice(database,
                                                                               settings):
    """Worker A leases two tasks at once; the first runs longer than the second's lease, and
    worker B, passing meanwhile, takes the second. A must then skip it, not run it again."""
    runs = Runs()

    def slow(ctx: JobContext) -> None:
        runs.add("slow", ctx)
        clock.advance(timedelta(seconds=3))
        _pass(database, settings, worker="worker-b")  # another worker's pass, meanwhile

    def quick(ctx: JobContext) -> None:
        runs.add("quick", ctx)

    registry.task("test.slow", lease=timedelta(seconds=60))(slow)
    registry.task("test.quick", lease=timedelta(seconds=2))(quick)
    with clock.frozen(T0):
        _schedule(database, "test.slow")
        clock.advance(timedelta(microseconds=1))
        quick_id = _schedule(database, "test.quick")
        clock.advance(timedelta(seconds=1))
        report = _pass(database, settings, worker="worker-a")
    assert runs.seen == {"slow": 1, "quick": 1}
    assert report.ran == ["test.slow"]  # A skipped the task B had taken
    assert _row(database, JobTask, quick_id).done_at is not None


def test_a_job_refused_by_a_constraint_logs_and_keeps_no_personal_data(database, settings,
                                                                       caplog):
    """The worker logs a failed job's traceback and keeps its error for `crrt jobs list`;
    PostgreSQL quotes a duplicate key (an e-mail address) in its DETAIL: neither keeps it."""
    email = "kadri.saar@ria.ee.example"

    def duplicate(ctx: JobContext) -> None:
        with ctx.database.session() as db:
            db.execute(text("INSERT INTO organisations (code, name, kind, created_at) VALUES "
                            "(:v, 'x', 'partner', '2030-01-01'), "
                            "(:v, 'y', 'partner', '2030-01-01')"), {"v": email})

    registry.task("test.duplicate")(duplicate)
    task_id = _schedule(database, "test.duplicate")
    with caplog.at_level(logging.ERROR, logger="crrt.jobs"):
        assert _pass(database, settings).failed == ["test.duplicate"]
    [logged] = [r for r in caplog.records if "test.duplicate" in r.getMessage()]
    written = logging.Formatter().format(logged)  # the message and traceback, as logged
    assert "IntegrityError" in written and email not in written
    stored = _row(database, JobTask, task_id).last_error
    assert stored.startswith("IntegrityError") and email not in stored
