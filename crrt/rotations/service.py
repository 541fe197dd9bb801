"""Team templates, nations' commitments, and reading published rotations and their duty.

Planning, publishing and replacing are :mod:`crrt.rotations.drafting`; calendars are
:mod:`crrt.rotations.feeds`. Experts and nations are read through their parts' services; a
team's members are shown to whoever may read rotations, which is the point of a team.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from crrt.access import policy
from crrt.access.policy import Permission
from crrt.access.principal import Principal
from crrt.audit import service as audit
from crrt.core import clock
from crrt.core.errors import Conflict, FieldError, Invalid, NotFound
from crrt.experts import service as experts
from crrt.organisations import service as organisations
from crrt.rotations.enums import DutyRole
from crrt.rotations.models import (
    Commitment,
    DutyShift,
    Rotation,
    RotationMember,
    RotationPlan,
    TeamTemplate,
)
from crrt.rotations.problem import Slot, Template
from crrt.rotations.schemas import (
    CommitmentOut,
    DutyOfficer,
    RotationMemberOut,
    RotationOut,
    ShiftOut,
    SlotOut,
    TemplateIn,
    TemplateOut,
    TemplatePatch,
    TemplateRules,
    TemplateSlot,
    check_template,
)

if TYPE_CHECKING:
    from crrt.experts.models import Expert

ERASED = "(erased)"


# --- templates ---------------------------------------------------------------------------------

def slots_of(template: TeamTemplate) -> list[TemplateSlot]:
    return [TemplateSlot.model_validate(s) for s in template.slots]


def template_out(template: TeamTemplate) -> TemplateOut:
    slots = slots_of(template)
    return TemplateOut(
        id=template.public_id, name=template.name, min_size=template.min_size,
        max_size=template.max_size, size=sum(s.count for s in slots),
        min_nations=template.min_nations, max_per_nation=template.max_per_nation,
        languages=list(template.languages), consecutive=template.consecutive,
        slots=[SlotOut(skill=s.skill, min_level=s.min_level, count=s.count,
                       clearance=s.clearance, lead=s.is_lead) for s in slots],
        created_at=template.created_at, updated_at=template.updated_at)


def problem_template(template: TeamTemplate) -> Template:
    """The template as the planner reads it."""
    return Template(
        slots=tuple(Slot(skill=s.skill.value, min_level=s.min_level, count=s.count,
                         clearance=s.clearance.rank, lead=s.is_lead)
                    for s in slots_of(template)),
        min_nations=template.min_nations, max_per_nation=template.max_per_nation,
        languages=frozenset(template.languages), consecutive=template.consecutive)


def _fields(t: TemplateRules | TemplateIn) -> dict[str, Any]:
    return {"min_size": t.min_size, "max_size": t.max_size, "min_nations": t.min_nations,
            "max_per_nation": t.max_per_nation, "languages": list(t.languages),
            "consecutive": t.consecutive,
            "slots": [s.model_dump(mode="json", exclude={"lead"}) | {"lead": s.is_lead}
                      for s in t.slots]}


def _unique_name(db: Session, name: str, except_id: int | None = None) -> None:
    taken = db.scalar(select(TeamTemplate.id).where(TeamTemplate.name == name))
    if taken is not None and taken != except_id:
        raise Conflict(f"A template is already named {name!r}.")


def list_templates(*, db: Session, actor: Principal) -> list[TeamTemplate]:
    policy.require(actor, Permission.ROTATIONS_READ)
    return list(db.scalars(select(TeamTemplate).order_by(TeamTemplate.name)))


def get_template(*, db: Session, actor: Principal, template_id: uuid.UUID) -> TeamTemplate:
    policy.require(actor, Permission.ROTATIONS_READ)
    template = db.scalar(select(TeamTemplate).where(TeamTemplate.public_id == template_id))
    if template is None:
        raise NotFound("No such team template.")
    return template


def template_named(*, db: Session, actor: Principal, name: str) -> TeamTemplate:
    policy.require(actor, Permission.ROTATIONS_READ)
    template = db.scalar(select(TeamTemplate).where(TeamTemplate.name == name))
    if template is None:
        raise NotFound(f"No team template is named {name!r}.")
    return template


def create_template(*, db: Session, actor: Principal, data: TemplateIn) -> TeamTemplate:
    policy.require(actor, Permission.ROTATIONS_PLAN)
    _unique_name(db, data.name)
    template = TeamTemplate(name=data.name, **_fields(data))
    db.add(template)
    db.flush()
    audit.record(db=db, actor=actor, action="team_template.created",
                 object_type="team_template", object_id=template.public_id,
                 changes={"name": data.name, **_fields(data)})
    return template


def update_template(*, db: Session, actor: Principal, template_id: uuid.UUID,
                    data: TemplatePatch) -> TeamTemplate:
    """Change a template; the whole is checked again, and plans already made keep theirs."""
    template = get_template(db=db, actor=actor, template_id=template_id)
    policy.require(actor, Permission.ROTATIONS_PLAN)
    before = {"name": template.name} | _current(template)
    given = data.model_dump(exclude_unset=True, exclude_none=True)
    try:
        merged = TemplateRules.model_validate(
            {k: v for k, v in before.items() if k != "name"}
            | {k: v for k, v in given.items() if k != "name"})
        check_template(merged)
    except (ValidationError, ValueError) as e:
        raise Invalid(str(e), [FieldError(["body"], str(e))]) from None
    if data.name is not None:
        _unique_name(db, data.name, template.id)
        template.name = data.name
    for key, value in _fields(merged).items():
        setattr(template, key, value)
    template.updated_at = clock.now()
    after = {"name": template.name} | _current(template)
    audit.record(db=db, actor=actor, action="team_template.updated",
                 object_type="team_template", object_id=template.public_id,
                 changes=audit.diff(before, after))
    return template


def _current(template: TeamTemplate) -> dict[str, Any]:
    return {"min_size": template.min_size, "max_size": template.max_size,
            "min_nations": template.min_nations, "max_per_nation": template.max_per_nation,
            "languages": list(template.languages), "consecutive": template.consecutive,
            "slots": [dict(s) for s in template.slots]}


# --- commitments -------------------------------------------------------------------------------

def commitments(*, db: Session, actor: Principal, day: date) -> list[CommitmentOut]:
    """Every nation planned on ``day`` with its commitment, stated or not."""
    policy.require(actor, Permission.ROTATIONS_READ)
    stated = {c.organisation_id: c for c in db.scalars(select(Commitment))}
    return [CommitmentOut(org=org.code, org_name=org.name,
                          seats_per_year=c.seats_per_year if c else None,
                          updated_at=c.updated_at if c else None)
            for org in organisations.members_on(db=db, actor=actor, day=day)
            for c in [stated.get(org.id)]]


def seats_committed(*, db: Session) -> dict[int, int]:
    """Seats a year by nation id, where stated (for the planner's targets)."""
    return {c.organisation_id: c.seats_per_year for c in db.scalars(select(Commitment))}


def set_commitment(*, db: Session, actor: Principal, code: str,
                   seats_per_year: int | None) -> None:
    """State (or, with None, withdraw) a nation's commitment; a POC for its own nation."""
    org = organisations.get(db=db, actor=actor, code=code)
    policy.require(actor, Permission.COMMITMENTS_WRITE, org)
    row = db.get(Commitment, org.id)
    before = row.seats_per_year if row else None
    if seats_per_year is None:
        if row is not None:
            db.delete(row)
    elif row is None:
        db.add(Commitment(organisation_id=org.id, seats_per_year=seats_per_year))
    else:
        row.seats_per_year, row.updated_at = seats_per_year, clock.now()
    audit.record(db=db, actor=actor, action="commitment.stated", object_type="organisation",
                 object_id=org.code, changes={"seats_per_year": [before, seats_per_year]})


# --- published rotations -------------------------------------------------------------------------

def _name(expert: Expert | None) -> str:
    return ERASED if expert is None or expert.erased_at is not None else expert.name


def org_codes(db: Session, actor: Principal, org_ids: Iterable[int]) -> dict[int, str]:
    return {i: organisations.by_id(db=db, actor=actor, org_id=i).code for i in set(org_ids)}


def rotation_out(db: Session, actor: Principal, rotation: Rotation,
                 plan_id: uuid.UUID) -> RotationOut:
    members = [m for m in rotation.members if m.withdrawn_at is None]
    cards = experts.team_cards(db=db, expert_ids=[m.expert_id for m in members])
    codes = org_codes(db, actor, (m.organisation_id for m in members))
    return RotationOut(
        id=rotation.public_id, plan_id=plan_id, label=rotation.label,
        start=rotation.starts_on, end=rotation.ends_on, zone=rotation.zone,
        members=[RotationMemberOut(
            id=m.public_id, expert_id=cards[m.expert_id].public_id,
            name=_name(cards[m.expert_id]), org=codes[m.organisation_id],
            slot_skill=m.slot_skill, lead=m.lead, time_zone=cards[m.expert_id].time_zone)
            for m in sorted(members, key=lambda m: (not m.lead, m.slot, m.id))])


def rotation_view(db: Session, actor: Principal, rotation: Rotation) -> RotationOut:
    """A rotation as the API and the pages show it, named with its plan."""
    plan_id = db.scalar(select(RotationPlan.public_id).where(RotationPlan.id == rotation.plan_id))
    assert plan_id is not None
    return rotation_out(db, actor, rotation, plan_id)


def list_rotations(*, db: Session, actor: Principal,
                   ending_after: date | None = None) -> list[Rotation]:
    """Published rotations, earliest first (those ending after a day, when given)."""
    policy.require(actor, Permission.ROTATIONS_READ)
    stmt = select(Rotation).order_by(Rotation.starts_on, Rotation.id)
    if ending_after is not None:
        stmt = stmt.where(Rotation.ends_on >= ending_after)
    return list(db.scalars(stmt))


def get_rotation(*, db: Session, actor: Principal, rotation_id: uuid.UUID) -> Rotation:
    policy.require(actor, Permission.ROTATIONS_READ)
    rotation = db.scalar(select(Rotation).where(Rotation.public_id == rotation_id))
    if rotation is None:
        raise NotFound("No such rotation.")
    return rotation


def current(*, db: Session, actor: Principal, at: datetime | None = None) -> Rotation | None:
    """The rotation on duty at ``at`` (now by default): its days are read in its own zone, so
    at 23:30 UTC on its last day a Brussels rotation has already handed over."""
    policy.require(actor, Permission.ROTATIONS_READ)
    at = at or clock.now()
    day = at.date()
    near = db.scalars(select(Rotation).where(Rotation.starts_on <= day + timedelta(days=1),
                                             Rotation.ends_on >= day - timedelta(days=1))
                      .order_by(Rotation.starts_on.desc()))
    for rotation in near:
        local = at.astimezone(ZoneInfo(rotation.zone)).date()
        if rotation.starts_on <= local <= rotation.ends_on:
            return rotation
    return None


def _officer(cards: dict[int, Expert], codes: dict[int, str],
             expert_id: int | None) -> DutyOfficer | None:
    if expert_id is None:
        return None
    e = cards[expert_id]
    return DutyOfficer(expert_id=e.public_id, name=_name(e), org=codes[e.organisation_id],
                       time_zone=e.time_zone)


def shifts_out(db: Session, actor: Principal, shifts: list[DutyShift],
               rotations: dict[int, uuid.UUID], own: int | None = None) -> list[ShiftOut]:
    ids = {i for s in shifts for i in (s.primary_id, s.backup_id) if i is not None}
    cards = experts.team_cards(db=db, expert_ids=ids)
    codes = org_codes(db, actor, (c.organisation_id for c in cards.values()))
    return [ShiftOut(rotation_id=rotations[s.rotation_id], start=s.starts_at, end=s.ends_at,
                     primary=_officer(cards, codes, s.primary_id),
                     backup=_officer(cards, codes, s.backup_id),
                     role=None if own is None else DutyRole.PRIMARY if s.primary_id == own
                     else DutyRole.BACKUP)
            for s in shifts]


def duty_of_rotation(*, db: Session, actor: Principal, rotation_id: uuid.UUID) -> list[ShiftOut]:
    rotation = get_rotation(db=db, actor=actor, rotation_id=rotation_id)
    return shifts_out(db, actor, list(rotation.shifts), {rotation.id: rotation.public_id})


def own_expert(*, db: Session, actor: Principal) -> Expert:
    """The caller's own expert record (404 for an account that has none)."""
    policy.require(actor, Permission.CALENDAR_OWN)
    expert = experts.own_record(db=db, user_id=actor.user_id) if actor.user_id else None
    if expert is None:
        raise NotFound("Your account is not linked to an expert record.")
    return expert


def duty_of_expert(*, db: Session, actor: Principal, expert_id: int,
                   since: datetime | None = None) -> list[ShiftOut]:
    """An expert's weeks of duty (from ``since``), primary or backup."""
    stmt = select(DutyShift).where(or_(DutyShift.primary_id == expert_id,
                                       DutyShift.backup_id == expert_id))
    if since is not None:
        stmt = stmt.where(DutyShift.ends_at > since)
    shifts = list(db.scalars(stmt.order_by(DutyShift.starts_at)))
    ids = {s.rotation_id for s in shifts}
    public = dict(db.execute(select(Rotation.id, Rotation.public_id)
                             .where(Rotation.id.in_(ids))).all()) if ids else {}
    return shifts_out(db, actor, shifts, public, own=expert_id)


def memberships_of(*, db: Session, expert_id: int) -> list[tuple[Rotation, RotationMember]]:
    """The rotations an expert serves on (seats not withdrawn), earliest first."""
    rows = db.execute(select(Rotation, RotationMember).join(
        RotationMember, RotationMember.rotation_id == Rotation.id).where(
        RotationMember.expert_id == expert_id, RotationMember.withdrawn_at.is_(None))
        .order_by(Rotation.starts_on)).all()
    return list(rows)


def seated(*, db: Session, rotation: Rotation) -> dict[int, bool]:
    """The experts seated on a rotation (not withdrawn), each with whether it is the lead."""
    return dict(db.execute(select(RotationMember.expert_id, RotationMember.lead).where(
        RotationMember.rotation_id == rotation.id, RotationMember.withdrawn_at.is_(None))).all())
