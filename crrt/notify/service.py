"""Queue messages with the change that causes them; deliver them later, at least once.

Claiming uses ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several workers share the queue
without sending a message twice at once; on SQLite the write lock does the same.
"""

from __future__ import annotations

import smtplib
from datetime import timedelta
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from crrt.core import clock
from crrt.notify.models import OutboxMessage

EMAIL = "email"
MAX_ATTEMPTS = 8


def enqueue_email(db: Session, *, to: str, subject: str, body: str) -> OutboxMessage:
    """Queue a plain-text email; it leaves only if the caller's transaction commits."""
    message = OutboxMessage(channel=EMAIL, recipient=to, subject=subject, body=body, payload={})
    db.add(message)
    db.flush()
    return message


def claim(db: Session, *, batch: int = 20) -> list[OutboxMessage]:
    """Pending messages that are due, locked for this worker until its transaction ends."""
    now = clock.now()
    stmt = (select(OutboxMessage)
            .where(OutboxMessage.delivered_at.is_(None), OutboxMessage.failed_at.is_(None),
                   OutboxMessage.available_at <= now)
            .order_by(OutboxMessage.id).limit(batch)
            .with_for_update(skip_locked=True))
    return list(db.scalars(stmt))


def send_email(smtp_url: str, *, sender: str, message: OutboxMessage) -> None:
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


def deliver_due(db: Session, *, smtp_url: str | None, sender: str, batch: int = 20) -> int:
    """Send what is due; a failure is retried with backoff, then given up after 8 tries."""
    sent = 0
    for message in claim(db, batch=batch):
        message.attempts += 1
        try:
            if message.channel != EMAIL:
                raise ValueError(f"unknown channel {message.channel!r}")
            if not smtp_url:
                raise RuntimeError("CRRT_SMTP_URL is not set")
            send_email(smtp_url, sender=sender, message=message)
        except (OSError, smtplib.SMTPException, ValueError, RuntimeError) as exc:
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if message.attempts >= MAX_ATTEMPTS:
                message.failed_at = clock.now()
            else:
                message.available_at = clock.now() + timedelta(minutes=2 ** message.attempts)
        else:
            message.delivered_at = clock.now()
            message.last_error = ""
            sent += 1
    db.flush()
    return sent
