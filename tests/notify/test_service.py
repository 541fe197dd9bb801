"""The outbox: mail leaves only with a committed change, through a real SMTP server, and a
server that does not answer is retried with backoff and finally given up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from crrt.core import clock
from crrt.core.config import Settings
from crrt.notify import service as notify
from crrt.notify.models import OutboxMessage
from tests.support import MailServer, unreachable_smtp_url

SENDER = "crrt@test.example"
T0 = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)


def _enqueue(database, to="ana@ee.example", subject="Call-out: on duty",
             body="You are on duty from Monday.\nReply to acknowledge.") -> int:
    with database.session() as db:
        return notify.enqueue_email(db=db, to=to, subject=subject, body=body).id


def _settings(smtp_url: str | None) -> Settings:
    return Settings(smtp_url=smtp_url, mail_from=SENDER, secret_key="test-secret-key",
                    embedded_worker=False)


def _deliver(database, smtp_url) -> int:
    return notify.deliver_due(database, settings=_settings(smtp_url))


def _message(database, message_id) -> OutboxMessage:
    with database.session() as db:
        return db.get(OutboxMessage, message_id)


def test_a_queued_email_is_delivered_through_smtp(database, smtp_server):
    message_id = _enqueue(database)
    assert _deliver(database, smtp_server.url) == 1
    [mail] = smtp_server.messages
    assert mail["To"] == "ana@ee.example"
    assert mail["From"] == SENDER
    assert mail["Subject"] == "Call-out: on duty"
    assert mail["Message-ID"] == f"<outbox-{message_id}@crrt>"
    assert mail.get_content().splitlines() == ["You are on duty from Monday.",
                                               "Reply to acknowledge."]
    assert smtp_server.envelopes == [(SENDER, ["ana@ee.example"])]
    stored = _message(database, message_id)
    assert stored.delivered_at is not None and stored.attempts == 1 and stored.last_error == ""


def test_a_delivered_email_is_not_sent_again(database, smtp_server):
    _enqueue(database)
    assert _deliver(database, smtp_server.url) == 1
    assert _deliver(database, smtp_server.url) == 0
    assert len(smtp_server.messages) == 1


def test_non_ascii_subjects_and_bodies_arrive_intact(database, smtp_server):
    _enqueue(database, subject="Pärnu — õppus", body="Tere! Ñandú ≠ ünïcode ✓")
    _deliver(database, smtp_server.url)
    [mail] = smtp_server.messages
    assert mail["Subject"] == "Pärnu — õppus"
    assert mail.get_content().strip() == "Tere! Ñandú ≠ ünïcode ✓"


def test_nothing_is_sent_for_a_change_that_rolled_back(database, smtp_server):
    with pytest.raises(RuntimeError), database.session() as db:
        notify.enqueue_email(db=db, to="ana@ee.example", subject="Never", body="Never sent")
        raise RuntimeError("the change failed")
    assert _deliver(database, smtp_server.url) == 0
    assert smtp_server.messages == []
    with database.session() as db:
        assert db.scalars(select(OutboxMessage)).all() == []


def test_an_unreachable_server_is_retried_later_with_backoff(database):
    url = unreachable_smtp_url()
    with clock.frozen(T0):
        message_id = _enqueue(database)
        assert _deliver(database, url) == 0
        first = _message(database, message_id)
        assert first.attempts == 1
        assert first.available_at == T0 + timedelta(minutes=2)
        assert first.delivered_at is None and first.failed_at is None
        assert "Connection" in first.last_error or "refused" in first.last_error.lower()
        # not due yet: nobody tries again
        clock.advance(timedelta(minutes=1))
        _deliver(database, url)
        assert _message(database, message_id).attempts == 1
        clock.advance(timedelta(minutes=1))
        _deliver(database, url)
        second = _message(database, message_id)
        assert second.attempts == 2
        assert second.available_at == T0 + timedelta(minutes=2 + 4)


def test_a_message_is_given_up_after_max_attempts(database):
    url = unreachable_smtp_url()
    with clock.frozen(T0):
        message_id = _enqueue(database)
        for attempt in range(1, notify.MAX_ATTEMPTS + 1):
            _deliver(database, url)
            message = _message(database, message_id)
            assert message.attempts == attempt
            if attempt < notify.MAX_ATTEMPTS:
                assert message.failed_at is None
                clock.advance(message.available_at - clock.now())
        assert message.failed_at == clock.now()
        clock.advance(timedelta(days=30))
        _deliver(database, url)
        assert _message(database, message_id).attempts == notify.MAX_ATTEMPTS


def test_a_retried_message_is_delivered_once_the_server_answers(database, smtp_server):
    with clock.frozen(T0):
        message_id = _enqueue(database)
        _deliver(database, unreachable_smtp_url())
        clock.advance(timedelta(minutes=2))
        assert _deliver(database, smtp_server.url) == 1
    stored = _message(database, message_id)
    assert (stored.attempts, stored.last_error) == (2, "")
    assert len(smtp_server.messages) == 1


def test_without_an_smtp_url_mail_waits_with_the_reason(database):
    message_id = _enqueue(database)
    assert _deliver(database, None) == 0
    assert "CRRT_SMTP_URL" in _message(database, message_id).last_error


def test_mail_waiting_with_its_note_costs_no_write_lock(database):
    """The note is written once; later passes only read, so SQLite's writers never wait."""
    if database.engine.dialect.name != "sqlite":
        pytest.skip("the write lock is SQLite's")
    import sqlite3
    import time

    message_id = _enqueue(database)
    _deliver(database, None)  # writes the note
    holder = sqlite3.connect(str(database.engine.url.database), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        assert _deliver(database, None) == 0
        took = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert took < 2, f"waited {took:.1f} s for the write lock"
    assert _message(database, message_id).last_error == "waiting: CRRT_SMTP_URL is not set"


def test_due_messages_go_oldest_first_in_batches(database, smtp_server):
    for n in range(5):
        _enqueue(database, to=f"expert{n}@ee.example")
    # a spent budget ends the pass after one batch; the rest go on the next
    assert notify.deliver_due(database, settings=_settings(smtp_server.url), batch=3,
                              budget=0) == 3
    assert [m["To"] for m in smtp_server.messages] == [f"expert{n}@ee.example"
                                                       for n in range(3)]
    assert _deliver(database, smtp_server.url) == 2


def test_urgent_messages_go_first_and_a_pass_keeps_one_smtp_session(database, smtp_server):
    for n in range(3):
        _enqueue(database, to=f"poc{n}@ee.example", subject=f"news {n}")
    with database.session() as db:
        notify.enqueue_email(db=db, to="lead@ee.example", subject="call-out", body="Now.",
                             urgent=True)
    assert _deliver(database, smtp_server.url) == 4
    assert [m["Subject"] for m in smtp_server.messages] == ["call-out", "news 0", "news 1",
                                                            "news 2"]
    assert len(set(smtp_server.peers)) == 1  # one connection, one login, for the pass


def test_a_refused_message_drops_the_session_and_the_next_still_goes(database):
    server = MailServer(refuse={"gone@ee.example"}).start()
    try:
        first = _enqueue(database, to="ana@ee.example")
        refused = _enqueue(database, to="gone@ee.example")
        last = _enqueue(database, to="ben@ee.example")
        assert _deliver(database, server.url) == 2
        assert [m["To"] for m in server.messages] == ["ana@ee.example", "ben@ee.example"]
        assert len(set(server.peers)) == 2  # a new session after the refusal
        assert _message(database, first).delivered_at and _message(database, last).delivered_at
        kept = _message(database, refused)
        assert kept.delivered_at is None and "550" in kept.last_error
    finally:
        server.stop()


def test_a_claimed_message_is_skipped_by_a_second_worker(database):
    """PostgreSQL: FOR UPDATE SKIP LOCKED lets workers share the queue without doubles."""
    if database.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers with its lock instead of skipping rows")
    _enqueue(database)
    _enqueue(database, to="other@ee.example")
    with database.session() as first:
        claimed = notify.claim(db=first, batch=1)
        assert len(claimed) == 1
        with database.session() as second:
            other = notify.claim(db=second, batch=5)
            assert [m.id for m in other] != [m.id for m in claimed]
            assert len(other) == 1


def test_a_message_claimed_by_a_worker_that_died_is_sent_after_the_lease(database, smtp_server):
    with clock.frozen(T0):
        message_id = _enqueue(database)
        with database.session() as db:
            [claimed] = notify.claim(db=db, batch=5, lease=timedelta(minutes=10))
        assert claimed.id == message_id
        assert _deliver(database, smtp_server.url) == 0  # still leased to the dead worker
        clock.advance(timedelta(minutes=10))
        assert _deliver(database, smtp_server.url) == 1
    assert len(smtp_server.messages) == 1
    assert _message(database, message_id).attempts == 2
