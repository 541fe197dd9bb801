"""Append to and verify the hash-chained audit log.

Each event's hash is SHA-256 over its canonical JSON (sorted keys, no spaces) including the
previous event's hash, so editing, deleting or reordering any row breaks every hash after it.
Personal data never enters the log (only the names of the fields that changed), which is what
lets an expert be erased while the chain stays valid.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crrt.access import policy
from crrt.access.principal import Principal
from crrt.audit.models import GENESIS, AuditEvent, AuditHead
from crrt.core import clock
from crrt.core.errors import Invalid
from crrt.core.pagination import paginate

PERSONAL = "(personal data)"


def canonical(value: Any) -> str:
    """The one byte-exact JSON form hashed and stored."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)


def event_hash(*, seq: int, at: datetime, actor: str, action: str, object_type: str,
               object_id: str, changes: Mapping[str, Any], prev_hash: str) -> str:
    body = {"seq": seq, "at": at.isoformat(), "actor": actor, "action": action,
            "object_type": object_type, "object_id": object_id, "changes": changes,
            "prev_hash": prev_hash}
    return hashlib.sha256(canonical(body).encode()).hexdigest()


def diff(before: Mapping[str, Any], after: Mapping[str, Any], *,
         personal: Iterable[str] = ()) -> dict[str, Any]:
    """``{field: [old, new]}`` for each field that changed; personal fields only say so."""
    hidden = set(personal)
    changed: dict[str, Any] = {}
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old != new:
            changed[key] = PERSONAL if key in hidden else [old, new]
    return changed


def record(*, db: Session, actor: Principal, action: str, object_type: str,
           object_id: object, changes: Mapping[str, Any] | None = None) -> AuditEvent:
    """Append one event in the caller's transaction; it commits or rolls back with the change.

    The change is flushed first, so every writer takes its row locks before the head's lock
    (one order everywhere: no deadlock on PostgreSQL).
    """
    db.flush()
    head = db.get(AuditHead, 1, with_for_update=True)
    if head is None:  # the migration writes it; a missing head means the log was tampered with
        raise RuntimeError("the audit head row is missing: run `crrt audit verify`")
    stored_changes = json.loads(canonical(dict(changes or {})))
    at = clock.now()
    seq = head.seq + 1
    digest = event_hash(seq=seq, at=at, actor=actor.actor, action=action,
                        object_type=object_type, object_id=str(object_id),
                        changes=stored_changes, prev_hash=head.hash)
    event = AuditEvent(seq=seq, at=at, actor=actor.actor, action=action,
                       object_type=object_type, object_id=str(object_id),
                       changes=stored_changes, prev_hash=head.hash, hash=digest)
    db.add(event)
    head.seq, head.hash = seq, digest
    db.flush()
    return event


def events_about(*, db: Session, object_type: str, object_id: object) -> list[AuditEvent]:
    """Every event about one object, oldest first; the caller has checked access to it."""
    return list(db.scalars(select(AuditEvent).where(AuditEvent.object_type == object_type,
                                                    AuditEvent.object_id == str(object_id))
                           .order_by(AuditEvent.seq)))


def events_by(*, db: Session, actors: Iterable[str]) -> list[AuditEvent]:
    """Every event made by these actors (``user:<id>``), oldest first; for a person's copy
    of their data, which the caller has checked they may have."""
    names = sorted(set(actors))
    if not names:
        return []
    return list(db.scalars(select(AuditEvent).where(AuditEvent.actor.in_(names))
                           .order_by(AuditEvent.seq)))


@dataclass
class Verification:
    """What ``crrt audit verify`` found."""

    events: int
    first_bad_seq: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.first_bad_seq is None


def verify(*, db: Session, batch: int = 5000) -> Verification:
    """Recompute the whole chain in order; stop at the first event that does not match."""
    prev_hash, expected_seq, count = GENESIS, 1, 0
    last_id = 0
    while True:
        rows = list(db.scalars(select(AuditEvent).where(AuditEvent.id > last_id)
                               .order_by(AuditEvent.id).limit(batch)))
        if not rows:
            break
        for event in rows:
            last_id = event.id
            if event.seq != expected_seq:
                return Verification(count, event.seq,
                                    f"sequence gap: expected {expected_seq}, found {event.seq}")
            if event.prev_hash != prev_hash:
                return Verification(count, event.seq, "prev_hash does not match the event before")
            recomputed = event_hash(seq=event.seq, at=event.at, actor=event.actor,
                                    action=event.action, object_type=event.object_type,
                                    object_id=event.object_id, changes=event.changes,
                                    prev_hash=event.prev_hash)
            if recomputed != event.hash:
                return Verification(count, event.seq, "content does not match its hash")
            prev_hash, expected_seq, count = event.hash, expected_seq + 1, count + 1
    head = db.get(AuditHead, 1)
    if head is None:  # the migration writes it; only a hand in the database removes it
        return Verification(count, count + 1, "the audit head row is missing (tail deleted?)")
    if head.seq != count or head.hash != prev_hash:
        return Verification(count, count + 1 if head.seq > count else head.seq,
                            "the chain is shorter than its head records (events deleted)")
    return Verification(count)


def _instant(name: str, moment: datetime) -> datetime:
    """A query time in UTC; one whose zone pushes it past year 1 or 9999 is a 422."""
    try:
        return clock.as_utc(moment)
    except OverflowError as exc:
        raise Invalid.field(["query", name], "The time is out of range.") from exc


def list_events(*, db: Session, actor: Principal, limit: int | None, cursor: str | None,
                who: str | None = None, action: str | None = None,
                object_type: str | None = None, object_id: str | None = None,
                since: datetime | None = None, until: datetime | None = None,
                ) -> tuple[list[AuditEvent], str | None]:
    """Audit events, oldest first, filtered; only those the policy lets read it."""
    policy.require(actor, policy.Permission.AUDIT_READ)
    stmt = select(AuditEvent)
    for column, value in ((AuditEvent.actor, who), (AuditEvent.action, action),
                          (AuditEvent.object_type, object_type),
                          (AuditEvent.object_id, object_id)):
        if value is not None:
            stmt = stmt.where(column == value)
    if since is not None:
        stmt = stmt.where(AuditEvent.at >= _instant("since", since))
    if until is not None:
        stmt = stmt.where(AuditEvent.at < _instant("until", until))
    items, next_cursor = paginate(db, stmt, AuditEvent.id, limit=limit, cursor=cursor)
    return list(items), next_cursor
