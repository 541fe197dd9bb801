"""Duty calendars (RFC 5545): an expert's by a secret, revocable address, as on-call tools give
one to paste into any calendar; a nation's and a rotation's for those who may read rotations.

Events are UTC instants; the calendar names the zone to show them in (the expert's own, the
rotation's hand-over zone), so a hand-over at 09:00 stays at 09:00 across a DST change.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from crrt.access import policy
from crrt.access.policy import Permission
from crrt.access.principal import Principal
from crrt.audit import service as audit
from crrt.core import clock
from crrt.core.errors import NotFound
from crrt.experts import service as experts
from crrt.organisations import service as organisations
from crrt.rotations import calendar, service
from crrt.rotations.models import CalendarFeed, DutyShift, Rotation, RotationMember

if TYPE_CHECKING:
    from crrt.experts.models import Expert

FEED_PATH = "/api/v1/calendars/{token}.ics"
# A feed address is the secret itself; this prefix tells a leaked one apart in a scan.
PREFIX = "crrtcal_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_feed(*, db: Session, actor: Principal) -> tuple[str, datetime]:
    """A new secret address for the caller's own duty calendar; any earlier one stops
    working. Returns the token (shown once) and when it was made."""
    expert = service.own_expert(db=db, actor=actor)
    row = db.scalar(select(CalendarFeed).where(CalendarFeed.expert_id == expert.id))
    token = PREFIX + secrets.token_urlsafe(32)
    if row is None:
        row = CalendarFeed(expert_id=expert.id, token_hash=_digest(token))
        db.add(row)
    else:
        row.token_hash, row.created_at = _digest(token), clock.now()
    db.flush()
    audit.record(db=db, actor=actor, action="calendar_feed.created", object_type="expert",
                 object_id=expert.public_id)
    return token, row.created_at


def has_feed(*, db: Session, actor: Principal) -> bool:
    expert = service.own_expert(db=db, actor=actor)
    return db.scalar(select(CalendarFeed.id).where(CalendarFeed.expert_id == expert.id)) \
        is not None


def revoke_feed(*, db: Session, actor: Principal) -> None:
    expert = service.own_expert(db=db, actor=actor)
    row = db.scalar(select(CalendarFeed).where(CalendarFeed.expert_id == expert.id))
    if row is None:
        raise NotFound("You have no calendar address to revoke.")
    db.delete(row)
    audit.record(db=db, actor=actor, action="calendar_feed.revoked", object_type="expert",
                 object_id=expert.public_id)


def _rotation_event(rotation: Rotation, summary: str, description: str = "") -> calendar.Event:
    here = ZoneInfo(rotation.zone)
    return calendar.Event(
        uid=f"rotation-{rotation.public_id}@crrt", summary=summary, description=description,
        start=datetime.combine(rotation.starts_on, time(), here),
        end=datetime.combine(rotation.ends_on + timedelta(days=1), time(), here),
        categories=("rotation",))


def _shift_event(shift: DutyShift, summary: str, description: str = "") -> calendar.Event:
    return calendar.Event(uid=f"duty-{shift.id}@crrt", start=shift.starts_at,
                          end=shift.ends_at, summary=summary, description=description,
                          categories=("duty",), busy=True)


def _who(cards: dict[int, Expert], expert_id: int | None) -> str:
    return "nobody" if expert_id is None else cards[expert_id].name


def expert_feed(*, db: Session, token: str) -> bytes:
    """The calendar behind a secret address: the expert's rotations and weeks of duty."""
    row = db.scalar(select(CalendarFeed).where(CalendarFeed.token_hash == _digest(token)))
    cards = experts.team_cards(db=db, expert_ids=[row.expert_id]) if row else {}
    expert = cards.get(row.expert_id) if row else None
    if expert is None or expert.erased_at is not None:
        raise NotFound("No such calendar.")
    events = [_rotation_event(r, f"Rapid response team {r.label}: {m.slot_skill}"
                              + (" (team lead)" if m.lead else ""))
              for r, m in service.memberships_of(db=db, expert_id=expert.id)]
    for shift in db.scalars(select(DutyShift).where(or_(
            DutyShift.primary_id == expert.id, DutyShift.backup_id == expert.id))
            .order_by(DutyShift.starts_at)):
        role = "primary" if shift.primary_id == expert.id else "backup"
        events.append(_shift_event(shift, f"Duty officer ({role})"))
    return calendar.feed(f"crrt duty: {expert.name}", events, zone=expert.time_zone)


def _team_events(db: Session, rotations: list[Rotation], org_id: int | None) -> list[
        calendar.Event]:
    ids = {m.expert_id for r in rotations for m in r.members} | {
        i for r in rotations for s in r.shifts for i in (s.primary_id, s.backup_id) if i}
    cards = experts.team_cards(db=db, expert_ids=ids)
    events = []
    for r in rotations:
        members = [m for m in r.members if m.withdrawn_at is None
                   and (org_id is None or m.organisation_id == org_id)]
        if org_id is not None and not members:
            continue
        events.append(_rotation_event(r, f"Rapid response team {r.label}", "\n".join(
            f"{cards[m.expert_id].name}: {m.slot_skill}{' (lead)' if m.lead else ''}"
            for m in members)))
        for s in r.shifts:
            if org_id is None or any(cards[i].organisation_id == org_id
                                     for i in (s.primary_id, s.backup_id) if i):
                events.append(_shift_event(
                    s, f"Duty: {_who(cards, s.primary_id)} / {_who(cards, s.backup_id)}",
                    f"Primary: {_who(cards, s.primary_id)}\nBackup: {_who(cards, s.backup_id)}"))
    return events


def rotation_feed(*, db: Session, actor: Principal, rotation_id: uuid.UUID) -> bytes:
    rotation = service.get_rotation(db=db, actor=actor, rotation_id=rotation_id)
    return calendar.feed(f"crrt {rotation.label}", _team_events(db, [rotation], None),
                         zone=rotation.zone)


def nation_feed(*, db: Session, actor: Principal, code: str) -> bytes:
    """A nation's experts on rotation and their weeks of duty."""
    policy.require(actor, Permission.ROTATIONS_READ)
    org = organisations.get(db=db, actor=actor, code=code)
    rotations = list(db.scalars(select(Rotation).join(
        RotationMember, RotationMember.rotation_id == Rotation.id).where(
        RotationMember.organisation_id == org.id).distinct().order_by(Rotation.starts_on)))
    zone = rotations[0].zone if rotations else None
    return calendar.feed(f"crrt duty: {org.name}", _team_events(db, rotations, org.id),
                         zone=zone)
