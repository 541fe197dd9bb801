"""The worker: passes over the registered jobs (the outbox, the pruning of sign-in attempts),
never dies of an error, takes no write lock when idle, and runs inside ``crrt serve`` too."""

from __future__ import annotations

import logging
import signal
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from crrt import worker
from crrt.api import create_app
from crrt.auth.models import LoginAttempt
from crrt.core import clock
from crrt.core.config import Settings
from crrt.core.db import Database, is_sqlite
from crrt.notify import service as notify
from crrt.notify.models import OutboxMessage

T0 = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)


@contextmanager
def _signals_restored() -> Iterator[None]:
    """run() takes over SIGTERM/SIGINT for a graceful stop; give them back to pytest."""
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def _sent(report) -> list[object]:
    return [o.result for o in report.outcomes if o.name == "outbox.deliver"]


def test_a_tick_delivers_due_mail(database, settings, smtp_server):
    settings = settings.model_copy(update={"smtp_url": smtp_server.url,
                                           "mail_from": "crrt@lt.example"})
    with database.session() as db:
        notify.enqueue_email(db=db, to="poc@ee.example", subject="Consent needed",
                             body="Please decide on RFA 12.")
    assert _sent(worker.tick(database, settings)) == [1]
    [mail] = smtp_server.messages
    assert (mail["To"], mail["From"], mail["Subject"]) == (
        "poc@ee.example", "crrt@lt.example", "Consent needed")
    assert _sent(worker.tick(database, settings)) == []
    assert len(smtp_server.messages) == 1


def test_a_tick_without_smtp_keeps_mail_queued(database, settings: Settings):
    with database.session() as db:
        notify.enqueue_email(db=db, to="poc@ee.example", subject="s", body="b")
    assert _sent(worker.tick(database, settings)) == [0]
    with database.session() as db:
        [message] = db.scalars(select(OutboxMessage)).all()
    assert message.delivered_at is None and message.attempts == 0
    assert "CRRT_SMTP_URL" in message.last_error


def test_a_tick_forgets_sign_in_attempts_older_than_a_week(database, settings):
    now = clock.now()
    with database.session() as db:
        db.add(LoginAttempt(email="old@x.example", address="192.0.2.1",
                            at=now - timedelta(days=8), succeeded=False))
        db.add(LoginAttempt(email="new@x.example", address="192.0.2.1",
                            at=now - timedelta(days=6), succeeded=False))
    assert "auth.prune_login_attempts" in worker.tick(database, settings).ran
    with database.session() as db:
        assert db.scalars(select(LoginAttempt.email)).all() == ["new@x.example"]


def test_pruning_waits_an_hour_between_runs(database, settings):
    with clock.frozen(T0):
        with database.session() as db:
            db.add(LoginAttempt(email="a@x.example", address="192.0.2.1",
                                at=T0 - timedelta(days=8), succeeded=False))
        assert "auth.prune_login_attempts" in worker.tick(database, settings).ran
        clock.advance(timedelta(days=2))  # the next attempt is old now...
        with database.session() as db:
            db.add(LoginAttempt(email="b@x.example", address="192.0.2.1",
                                at=T0 - timedelta(days=6), succeeded=False))
        clock.advance(timedelta(hours=1))
        assert "auth.prune_login_attempts" in worker.tick(database, settings).ran
        with database.session() as db:
            assert db.scalars(select(LoginAttempt)).all() == []


def test_an_idle_worker_takes_no_write_lock(database, settings):
    """Another connection holds SQLite's write lock; an idle pass finishes at once regardless."""
    if not is_sqlite(database.engine):
        pytest.skip("the write lock is SQLite's; PostgreSQL readers and writers do not queue")
    with clock.frozen(T0):
        with database.session() as db:  # waiting mail (no SMTP) and a recent sign-in attempt
            notify.enqueue_email(db=db, to="poc@ee.example", subject="s", body="b")
            db.add(LoginAttempt(email="a@x.example", address="192.0.2.1", at=T0,
                                succeeded=True))
        assert worker.tick(database, settings).ran == ["outbox.deliver"]  # notes the wait
        clock.advance(timedelta(minutes=1))  # the outbox job is due again: nothing to do
        holder = sqlite3.connect(str(database.engine.url.database), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            started = time.monotonic()
            report = worker.tick(database, settings)
            took = time.monotonic() - started
        finally:
            holder.execute("ROLLBACK")
            holder.close()
    assert report.idle, report
    assert took < 2, f"an idle pass waited {took:.1f} s for the write lock"


def test_run_once_makes_one_pass_and_returns(database, settings, smtp_server):
    settings = settings.model_copy(update={"smtp_url": smtp_server.url})
    with database.session() as db:
        notify.enqueue_email(db=db, to="poc@ee.example", subject="s", body="b")
    with _signals_restored():
        worker.run(database, settings, once=True, interval=0.1)
    assert len(smtp_server.messages) == 1


@pytest.mark.timeout(30)  # a loop that ignored the signal fails here instead of hanging
def test_run_stops_after_the_pass_in_progress_on_sigterm(database, settings, job_registry):
    """A SIGTERM (systemd, Kubernetes) lets the current pass finish, then the loop ends."""
    import os
    import threading
    import time

    from crrt.jobs import registry

    passes: list[float] = []
    registry.periodic("test.beat", every=timedelta(milliseconds=1))(
        lambda ctx: passes.append(1.0))
    timer = threading.Timer(0.5, os.kill, args=(os.getpid(), signal.SIGTERM))
    timer.start()
    started = time.monotonic()
    try:
        with _signals_restored():
            worker.run(database, settings, once=False, interval=0.1)  # returns once signalled
    finally:
        timer.cancel()
    assert timer.finished.is_set() and passes  # it ran passes, and stopped for the signal
    assert time.monotonic() - started < 10


def _logged(caplog, text: str) -> int:
    return sum(text in r.getMessage() for r in caplog.records)


def test_the_worker_survives_a_database_it_cannot_use(tmp_path, settings, caplog):
    """Every pass fails (no tables): each is logged, and the loop goes on until told to stop."""
    broken = Database(f"sqlite:///{tmp_path}/never-migrated.db")
    try:
        with caplog.at_level(logging.ERROR):
            worker.loop(broken, settings, interval=0.01, once=False, who="test",
                        stopping=lambda: _logged(caplog, "database error") >= 3)
    finally:
        broken.dispose()
    assert _logged(caplog, "database error") == 3


def test_the_worker_survives_an_error_that_is_not_the_databases(database, settings, caplog,
                                                                 job_registry):
    """A job declared with an absurd lease breaks the pass itself: logged, and on it goes."""
    from crrt.jobs import registry

    registry.periodic("test.forever", every=timedelta(minutes=1), lease=timedelta.max)(
        lambda ctx: None)
    with caplog.at_level(logging.ERROR):
        worker.loop(database, settings, interval=0.01, once=False, who="test",
                    stopping=lambda: _logged(caplog, "pass failed") >= 2)
    [record, *_] = [r for r in caplog.records if "pass failed" in r.getMessage()]
    assert record.exc_info and record.exc_info[0] is OverflowError


def test_the_embedded_worker_delivers_mail_while_the_app_runs(database, settings, smtp_server):
    settings = settings.model_copy(update={"embedded_worker": True,
                                           "smtp_url": smtp_server.url})
    with database.session() as db:
        notify.enqueue_email(db=db, to="poc@ee.example", subject="Call-out", body="On duty.")
    app = create_app(settings, database=database)
    assert app.state.worker is None  # nothing runs before the app starts
    with TestClient(app) as client:
        embedded = app.state.worker
        assert embedded is not None and embedded.alive
        assert client.get("/api/v1/health").status_code == 200
        assert smtp_server.wait_for(1, timeout=15), "the embedded worker sent nothing"
    assert not embedded.alive and app.state.worker is None  # stopped with the app
    assert smtp_server.messages[0]["Subject"] == "Call-out"


def test_the_app_runs_no_worker_when_told_not_to(database, settings):
    app = create_app(settings, database=database)  # the test settings turn it off
    with TestClient(app):
        assert app.state.worker is None


@pytest.mark.parametrize(("configured", "sqlite", "runs"), [
    (None, True, True), (None, False, False), (False, True, False), (True, False, True)])
def test_the_embedded_worker_is_on_by_default_on_sqlite_only(configured, sqlite, runs):
    settings = Settings(embedded_worker=configured)
    assert settings.runs_embedded_worker(sqlite=sqlite) is runs
