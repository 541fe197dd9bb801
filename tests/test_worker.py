"""The worker's pass: deliver the outbox and forget old sign-in attempts."""

from __future__ import annotations

import signal
from datetime import timedelta

from sqlalchemy import select

from crrt import worker
from crrt.auth.models import LoginAttempt
from crrt.core import clock
from crrt.core.config import Settings
from crrt.notify import service as notify
from crrt.notify.models import OutboxMessage


def test_a_tick_delivers_due_mail(database, settings, smtp_server):
    settings = settings.model_copy(update={"smtp_url": smtp_server.url,
                                           "mail_from": "crrt@lt.example"})
    with database.session() as db:
        notify.enqueue_email(db=db, to="poc@ee.example", subject="Consent needed",
                             body="Please decide on RFA 12.")
    assert worker.tick(database, settings) == 1
    [mail] = smtp_server.messages
    assert (mail["To"], mail["From"], mail["Subject"]) == (
        "poc@ee.example", "crrt@lt.example", "Consent needed")
    assert worker.tick(database, settings) == 0


def test_a_tick_without_smtp_keeps_mail_queued(database, settings: Settings):
    with database.session() as db:
        notify.enqueue_email(db=db, to="poc@ee.example", subject="s", body="b")
    assert worker.tick(database, settings) == 0
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
    worker.tick(database, settings)
    with database.session() as db:
        assert db.scalars(select(LoginAttempt.email)).all() == ["new@x.example"]


def test_run_once_makes_one_pass_and_returns(database, settings, smtp_server):
    settings = settings.model_copy(update={"smtp_url": smtp_server.url})
    with database.session() as db:
        notify.enqueue_email(db=db, to="poc@ee.example", subject="s", body="b")
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        worker.run(database, settings, once=True, interval=0.1)
    finally:  # run() takes over SIGTERM/SIGINT for a graceful stop; give them back to pytest
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    assert len(smtp_server.messages) == 1


def test_run_stops_after_the_pass_in_progress_on_sigterm(database, settings):
    """A SIGTERM (systemd, Kubernetes) lets the current pass finish, then the loop ends."""
    import os
    import threading

    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    timer = threading.Timer(0.3, os.kill, args=(os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        worker.run(database, settings, once=False, interval=0.1)  # returns once signalled
    finally:
        timer.cancel()
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
