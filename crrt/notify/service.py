"""Queue messages with the change that causes them; deliver them later, at least once.

Claiming uses ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several workers share the queue
without sending a message twice at once; on SQLite the write lock does the same. A claim is a
lease committed before sending, so no transaction (and on SQLite, no write lock) is held while
a mail server takes its time.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crrt.core import clock
from crrt.core.db import Database
from crrt.notify.models import OutboxMessage

EMAIL = "email"
MAX_ATTEMPTS = 8


def enqueue_email(*, db: Session, to: str, subject: str, body: str) -> OutboxMessage:
    """Queue a plain-text email; it leaves only if the caller's transaction commits."""
    message = OutboxMessage(channel=EMAIL, recipient=to, subject=subject, body=body, payload={})
    db.add(message)
    db.flush()
    return message


@dataclass(frozen=True)
class Outgoing:
    """A claimed message, detached from its session so it can be sent with none open."""

    id: int
    channel: str
    recipient: str
    subject: str
    body: str
    attempts: int


def claim(*, db: Session, batch: int = 20,
          lease: timedelta = timedelta(minutes=10)) -> list[Outgoing]:
    """Take due messages: count the attempt and hide them from other workers for ``lease``.

    The caller commits at once; if its process dies while sending, the lease runs out and
    another worker sends the message again (delivery is at least once).
    """
    now = clock.now()
    stmt = (select(OutboxMessage)
            .where(OutboxMessage.delivered_at.is_(None), OutboxMessage.failed_at.is_(None),
                   OutboxMessage.available_at <= now)
            .order_by(OutboxMessage.id).limit(batch)
            .with_for_update(skip_locked=True))
    claimed = []
    for message in db.scalars(stmt):
        message.attempts += 1
        message.available_at = now + lease
        claimed.append(Outgoing(id=message.id, channel=message.channel,
                                recipient=message.recipient, subject=message.subject,
                                body=message.body, attempts=message.attempts))
    db.flush()
    return claimed


def settle(*, db: Session, outgoing: Outgoing, error: str | None) -> None:
    """Record how sending went: delivered, retried later with backoff, or given up."""
    message = db.get(OutboxMessage, outgoing.id)
    if message is None:
        return
    if error is None:
        message.delivered_at, message.last_error = clock.now(), ""
    else:
        message.last_error = error[:2000]
        if outgoing.attempts >= MAX_ATTEMPTS:
            message.failed_at = clock.now()
        else:
            message.available_at = clock.now() + timedelta(minutes=2 ** outgoing.attempts)
    db.flush()


def send_email(smtp_url: str, *, sender: str, message: Outgoing) -> None:
    """Hand one message to the SMTP server named by ``smtp://[user:pass@]host:port``."""
    parts = urlsplit(smtp_url)
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, message.recipient, message.subject
    mail["Message-ID"] = f"<outbox-{message.id}@crrt>"
    mail.set_content(message.body)
    smtp_class = smtplib.SMTP_SSL if parts.scheme == "smtps" else smtplib.SMTP
    with smtp_class(parts.hostname or "localhost", parts.port or 25, timeout=30) as smtp:
        if parts.scheme == "smtp+starttls":
            smtp.starttls()
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        smtp.send_message(mail)


def deliver_due(database: Database, *, smtp_url: str | None, sender: str,
                batch: int = 20) -> int:
    """Send what is due, holding no transaction while the mail server answers.

    Without an SMTP server configured, mail waits (no attempt is spent) and says why.
    """
    if not smtp_url:
        with database.session() as db:
            db.execute(update(OutboxMessage)
                       .where(OutboxMessage.delivered_at.is_(None),
                              OutboxMessage.failed_at.is_(None))
                       .values(last_error="waiting: CRRT_SMTP_URL is not set"))
        return 0
    with database.session() as db:
        claimed = claim(db=db, batch=batch)
    sent = 0
    for outgoing in claimed:
        error = None
        try:
            if outgoing.channel != EMAIL:
                raise ValueError(f"unknown channel {outgoing.channel!r}")
            send_email(smtp_url, sender=sender, message=outgoing)
        except (OSError, smtplib.SMTPException, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        with database.session() as db:
            settle(db=db, outgoing=outgoing, error=error)
        sent += error is None
    return sent
