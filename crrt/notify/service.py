"""Queue messages with the change that causes them; deliver them later, at least once.

Two channels: e-mail (SMTP) and signed webhooks (HTTP POST). Claiming uses ``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, so several workers share the queue without sending a message twice at
once; on SQLite the write lock does the same. A claim is a lease committed before sending, so
no transaction (and on SQLite, no write lock) is held while a server takes its time. What is
due is read first, in a read-only session, so a worker with nothing to send writes nothing.
"""

from __future__ import annotations

import json
import logging
import re
import smtplib
import time
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import httpx
from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from crrt.access.principal import Principal
from crrt.core import clock
from crrt.core.config import Settings
from crrt.core.db import Database, removed
from crrt.core.errors import Conflict, Invalid
from crrt.notify import mail, webhooks
from crrt.notify.models import OutboxMessage, WebhookEndpoint

log = logging.getLogger("crrt.notify")

EMAIL = "email"
WEBHOOK = "webhook"
CHANNELS = (EMAIL, WEBHOOK)
MAX_ATTEMPTS = 8
EVENT = re.compile(r"[a-z0-9_]+(\.[a-z0-9_]+)*")
WORKER = Principal.system("worker")


def enqueue_email(*, db: Session, to: str, subject: str, body: str,
                  urgent: bool = False) -> OutboxMessage:
    """Queue a plain-text email; it leaves only if the caller's transaction commits. An
    ``urgent`` one (a call-out, whose answer is on a clock) goes before the rest."""
    message = OutboxMessage(channel=EMAIL, recipient=to, subject=subject, body=body, payload={},
                            urgent=urgent)
    db.add(message)
    db.flush()
    return message


def enqueue_webhook(*, db: Session, endpoint_public_id: uuid.UUID, event: str,
                    data: Mapping[str, Any], urgent: bool = False) -> OutboxMessage:
    """Queue a signed webhook to an active endpoint; it leaves only if the change commits.

    The JSON body (``{"type", "timestamp", "data"}``) is made once, here, so every retry
    sends the same bytes under the same ``webhook-id``.
    """
    endpoint = webhooks.get_endpoint(db=db, public_id=endpoint_public_id)
    if not endpoint.active:
        raise Conflict("The webhook endpoint is deactivated.")
    if len(event) > 100 or not EVENT.fullmatch(event):
        raise Invalid.field("event", "An event type is dotted lower-case words "
                                     "(expert.nominated), at most 100 characters.")
    try:
        body = json.dumps({"type": event,
                           "timestamp": clock.now().isoformat().replace("+00:00", "Z"),
                           "data": dict(data)}, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise Invalid.field("data", "The data cannot be written as JSON.") from exc
    message = OutboxMessage(channel=WEBHOOK, recipient=str(endpoint.public_id), subject=event,
                            body=body, payload={"webhook_id": f"msg_{uuid.uuid4().hex}"},
                            urgent=urgent)
    db.add(message)
    db.flush()
    return message


@dataclass(frozen=True)
class Outgoing:
    """A claimed message, detached from its session so it can be sent with none open.

    ``target`` is a webhook's endpoint as it was when claimed; None if it is gone or off.
    """

    id: int
    channel: str
    recipient: str
    subject: str
    body: str
    attempts: int
    payload: dict[str, Any] = field(default_factory=dict)
    target: webhooks.Target | None = None


def _due(now: Any, channels: Collection[str]) -> Any:
    return (OutboxMessage.delivered_at.is_(None), OutboxMessage.failed_at.is_(None),
            OutboxMessage.available_at <= now, OutboxMessage.channel.in_(list(channels)))


def claim(*, db: Session, batch: int = 20, lease: timedelta = timedelta(minutes=10),
          channels: Collection[str] = CHANNELS) -> list[Outgoing]:
    """Take due messages, the urgent first, then the oldest: count the attempt and hide them
    from other workers for ``lease``.

    The caller commits at once; if its process dies while sending, the lease runs out and
    another worker sends the message again (delivery is at least once).
    """
    now = clock.now()
    stmt = (select(OutboxMessage).where(*_due(now, channels))
            .order_by(OutboxMessage.urgent.desc(), OutboxMessage.id).limit(batch)
            .with_for_update(skip_locked=True))
    messages = list(db.scalars(stmt))
    targets = _targets(db, [m.recipient for m in messages if m.channel == WEBHOOK])
    claimed = []
    for message in messages:
        message.attempts += 1
        message.available_at = now + lease
        claimed.append(Outgoing(id=message.id, channel=message.channel,
                                recipient=message.recipient, subject=message.subject,
                                body=message.body, attempts=message.attempts,
                                payload=dict(message.payload or {}),
                                target=targets.get(message.recipient)))
    db.flush()
    return claimed


def _targets(db: Session, recipients: list[str]) -> dict[str, webhooks.Target]:
    """The active endpoints among ``recipients`` (their public ids), by recipient."""
    ids = set()
    for recipient in recipients:
        try:
            ids.add(uuid.UUID(recipient))
        except ValueError:
            continue
    if not ids:
        return {}
    endpoints = db.scalars(select(WebhookEndpoint).where(WebhookEndpoint.public_id.in_(ids),
                                                         WebhookEndpoint.active.is_(True)))
    return {str(e.public_id): webhooks.Target(public_id=e.public_id, url=e.url,
                                              secret_version=e.secret_version)
            for e in endpoints}


def settle(*, db: Session, outgoing: Outgoing, error: str | None,
           give_up: bool = False) -> None:
    """Record how sending went: delivered, retried later with backoff, or given up; nothing
    if another worker claimed the message since (its attempt count moved on)."""
    message = db.get(OutboxMessage, outgoing.id, with_for_update=True)
    if message is None or message.attempts != outgoing.attempts:
        return
    if error is None:
        message.delivered_at, message.last_error = clock.now(), ""
    else:
        message.last_error = error[:2000]
        if give_up or outgoing.attempts >= MAX_ATTEMPTS:
            message.failed_at = clock.now()
        else:
            message.available_at = clock.now() + timedelta(minutes=2 ** outgoing.attempts)
    db.flush()


def waiting_note(problem: str) -> str:
    """What a mail row waiting for a usable SMTP configuration says (its ``last_error``)."""
    return f"waiting: {problem}"


def _unnoted_mail(problem: str) -> Any:
    return (OutboxMessage.channel == EMAIL, OutboxMessage.delivered_at.is_(None),
            OutboxMessage.failed_at.is_(None), OutboxMessage.last_error != waiting_note(problem))


def has_work(db: Session, settings: Settings) -> bool:
    """Whether :func:`deliver_due` has anything to do: a cheap read, no write."""
    problem = mail.smtp_problem(settings)
    channels = (WEBHOOK,) if problem else CHANNELS
    if db.scalar(select(exists().where(*_due(clock.now(), channels)))):
        return True
    return problem is not None and bool(db.scalar(select(exists().where(
        *_unnoted_mail(problem)))))


def deliver_due(database: Database, *, settings: Settings, batch: int = 10,
                budget: float = 30.0) -> int:
    """Send what is due, holding no transaction while a server answers; returns how many went.

    Claims ``batch`` messages at a time, each for ``CRRT_OUTBOX_LEASE_SECONDS``, and claims
    again while messages are due until ``budget`` seconds have passed, so a worker's pass
    ends in bounded time even when a server stalls. Without a usable SMTP configuration, mail
    waits (it is not claimed, no attempt is spent) and says why, while webhooks still go. The
    note is written only to rows that lack it, so an idle worker takes no write lock.
    """
    problem = mail.smtp_problem(settings)
    channels = (WEBHOOK,) if problem else CHANNELS
    with database.session(read_only=True) as db:
        due = db.scalar(select(exists().where(*_due(clock.now(), channels))))
        unnoted = problem is not None and db.scalar(select(exists().where(
            *_unnoted_mail(problem))))
    if unnoted and problem is not None:
        with database.session() as db:
            db.execute(update(OutboxMessage).where(*_unnoted_mail(problem))
                       .values(last_error=waiting_note(problem)))
    if not due:
        return 0
    lease = timedelta(seconds=settings.outbox_lease_seconds)
    sent = 0
    started = time.monotonic()
    with mail.Mailer(settings) as mailer:  # one SMTP session for the pass, not one a message
        while True:
            with database.session() as db:
                claimed = claim(db=db, batch=batch, channels=channels, lease=lease)
            # Until half its lease has passed a claim is surely still ours (no other worker
            # may take the message before the lease runs out): it is renewed only after that.
            fresh_until = time.monotonic() + lease.total_seconds() / 2
            for outgoing in claimed:
                sent += _deliver_one(database, outgoing, settings=settings, lease=lease,
                                     renew=time.monotonic() >= fresh_until, mailer=mailer)
            if not claimed or time.monotonic() - started >= budget:
                return sent


def _deliver_one(database: Database, outgoing: Outgoing, *, settings: Settings,
                 lease: timedelta, mailer: mail.Mailer, renew: bool = True) -> bool:
    """Send one claimed message, if it is still ours (its claim renewed first when
    ``renew``), and record how it went."""
    if renew:
        with database.session() as db:
            if not still_claimed(db, outgoing, lease):
                log.warning("outbox message %d was not sent: its claim ran out before its "
                            "turn", outgoing.id)
                return False
    error, give_up, gone = _send(outgoing, settings=settings, mailer=mailer)
    if error:
        log.warning("outbox message %d (%s) not delivered: %s", outgoing.id,
                    outgoing.channel, error)
    with database.session() as db:
        settle(db=db, outgoing=outgoing, error=error, give_up=give_up)
        if gone and outgoing.target is not None:
            webhooks.deactivate(db=db, actor=WORKER, public_id=outgoing.target.public_id,
                                reason="the endpoint answered 410 Gone")
    return error is None


def still_claimed(db: Session, outgoing: Outgoing,
                  lease: timedelta = timedelta(minutes=10)) -> bool:
    """Lease one claimed message afresh just before it is sent, unless its claim ran out and
    another worker claimed it since (its attempt count moved on): then it is not sent twice."""
    now = clock.now()
    return bool(removed(db.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == outgoing.id, OutboxMessage.attempts == outgoing.attempts,
               OutboxMessage.delivered_at.is_(None), OutboxMessage.failed_at.is_(None),
               OutboxMessage.available_at > now)
        .values(available_at=now + lease))))


def _send(outgoing: Outgoing, *, settings: Settings,
          mailer: mail.Mailer) -> tuple[str | None, bool, bool]:
    """Send one message: (error or None, give up now, the endpoint is gone)."""
    try:
        if outgoing.channel == EMAIL:
            mailer.send(_email(outgoing, sender=settings.mail_from))
        elif outgoing.channel == WEBHOOK:
            if outgoing.target is None:
                return "the webhook endpoint is deactivated or removed", True, False
            webhooks.post(outgoing.target, webhook_id=outgoing.payload["webhook_id"],
                          body=outgoing.body, secret_key=settings.resolved_secret_key())
        else:  # claim() takes known channels only
            return f"unknown channel {outgoing.channel!r}", False, False
    except webhooks.WebhookGone as exc:
        return f"{type(exc).__name__}: {exc}", True, True
    except (OSError, smtplib.SMTPException, ValueError, KeyError, httpx.HTTPError,
            webhooks.WebhookRefused) as exc:
        return f"{type(exc).__name__}: {exc}", False, False
    return None, False, False


def _email(outgoing: Outgoing, *, sender: str) -> EmailMessage:
    """The mail of one message; its Message-ID is the same on every attempt."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, outgoing.recipient, \
        outgoing.subject
    message["Message-ID"] = f"<outbox-{outgoing.id}@crrt>"
    message.set_content(outgoing.body)
    return message
