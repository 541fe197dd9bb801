"""Organisations, their project membership over time, and their institutions.

Membership moves through :data:`MEMBERSHIP`, a state machine (none, observer, participant,
lead) whose every move is a dated :class:`MembershipChange`. A change dated in the future is
planned: it takes effect on its day, and until then the membership in force is the one before.
The history is one chain in date order: a new change never predates the last one recorded, and
only the last change may be cancelled while it is still planned.

The contact card is kept apart from the name and the membership: a national POC keeps its own
nation's card (``ORGANISATIONS_CONTACT``) but renames nothing and changes no membership
(``ORGANISATIONS_WRITE``), and a change that asks for both is checked field by field.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import ColumnElement, Select, Subquery, func, select
from sqlalchemy.orm import Session, selectinload

from crrt.access import policy
from crrt.access.policy import Permission
from crrt.access.principal import Principal
from crrt.audit import service as audit
from crrt.core import clock
from crrt.core.db import serialise
from crrt.core.errors import Conflict, FieldError, Invalid, NotFound
from crrt.core.pagination import Page, paginate
from crrt.organisations.enums import Membership, MembershipEvent, OrgKind
from crrt.organisations.models import Institution, MembershipChange, Organisation
from crrt.organisations.schemas import (
    ContactIn,
    ContactOut,
    InstitutionIn,
    InstitutionOut,
    InstitutionPatch,
    MembershipChangeOut,
    OrganisationIn,
    OrganisationOut,
    OrganisationPatch,
)
from crrt.workflow.machine import Machine, transition

NONE = "none"
ROLES = [m.value for m in Membership]
MEMBERSHIP = Machine(
    "membership", states=[NONE, *ROLES],
    transitions=[
        transition(MembershipEvent.JOINED.value, sources=[NONE], targets=ROLES,
                   permission=Permission.MEMBERSHIP_WRITE),
        transition(MembershipEvent.ROLE_CHANGED.value, sources=ROLES, targets=ROLES,
                   permission=Permission.MEMBERSHIP_WRITE),
        transition(MembershipEvent.LEFT.value, sources=ROLES, targets=[NONE],
                   permission=Permission.MEMBERSHIP_WRITE),
    ])
PROJECT_MEMBERS = (Membership.LEAD, Membership.PARTICIPANT)
# What only a central role changes; the rest of a change is the contact card.
CENTRAL_FIELDS = frozenset({"name", "membership", "effective_on", "note"})
# The card's fields as the API names them, and the columns that keep them.
CONTACT_COLUMNS = {"hotline": "hotline", "email": "contact_email",
                   "pgp_fingerprint": "pgp_fingerprint", "messenger": "messenger",
                   "default_tlp": "default_tlp"}
# How a team is reached may be a person's number: the audit log says only that it changed.
CONTACT_PERSONAL = ("hotline", "email", "messenger")


def _state(membership: Membership | None) -> str:
    return membership.value if membership is not None else NONE


# --- what the API and pages show ----------------------------------------------------------------

def history_out(change: MembershipChange) -> MembershipChangeOut:
    return MembershipChangeOut(id=change.public_id, event=change.event, previous=change.previous,
                               membership=change.membership, effective_on=change.effective_on,
                               planned=change.is_planned, note=change.note,
                               recorded_at=change.recorded_at, recorded_by=change.recorded_by)


def contact_out(org: Organisation) -> ContactOut:
    return ContactOut(hotline=org.hotline, email=org.contact_email,
                      pgp_fingerprint=org.pgp_fingerprint, messenger=org.messenger,
                      default_tlp=org.default_tlp)


def organisation_out(org: Organisation, *, on: date | None = None) -> OrganisationOut:
    """The organisation as of ``on`` (today by default), with the changes still planned."""
    day = on or clock.today()
    in_force = org.in_force_on(day)
    membership = in_force.membership if in_force is not None else None
    since = None
    if membership is not None:
        same = [c for c in org.history if c.effective_on <= day and c.membership == membership]
        since = same[-1].effective_on if same else None
    return OrganisationOut(code=org.code, name=org.name, kind=org.kind, membership=membership,
                           member_since=since,
                           planned=[history_out(c) for c in org.history
                                    if c.effective_on > clock.today()],
                           contact=contact_out(org))


def institution_out(inst: Institution) -> InstitutionOut:
    return InstitutionOut(id=inst.public_id, org=inst.organisation.code, name=inst.name,
                          kind=inst.kind)


# --- reading ------------------------------------------------------------------------------------

def _by_code(db: Session, code: str) -> Organisation | None:
    return db.scalar(select(Organisation).where(Organisation.code == code)) or \
        db.scalar(select(Organisation).where(func.upper(Organisation.code) == code.upper(),
                                             Organisation.kind == OrgKind.NATION))


def get(*, db: Session, actor: Principal, code: str, field: str | None = None) -> Organisation:
    """The organisation with ``code`` (nations case-insensitively): 404, or 422 on ``field``
    when the code came in a body or a query."""
    policy.require(actor, Permission.ORGANISATIONS_READ)
    org = _by_code(db, code)
    if org is None:
        message = f"No organisation has the code '{code}'."
        raise Invalid.field(field, message) if field is not None else NotFound(message)
    return org


def by_id(*, db: Session, actor: Principal, org_id: int) -> Organisation:
    """The organisation behind a reference another part holds."""
    policy.require(actor, Permission.ORGANISATIONS_READ)
    org = db.get(Organisation, org_id)
    if org is None:
        raise NotFound("No such organisation.")
    return org


def names() -> Subquery:
    """The organisations as a selectable (``id``, ``code``, ``name``) another part's hot read
    may join, so a list of its records names their organisation in the same query."""
    return select(Organisation.id, Organisation.code, Organisation.name).subquery("orgs")


def institution_names() -> Subquery:
    """The institutions as a selectable (``id``, ``public_id``, ``name``), likewise."""
    return select(Institution.id, Institution.public_id, Institution.name).subquery("insts")


def membership_on_column(day: date) -> ColumnElement[Membership | None]:
    """SQL: the membership of each organisation row in force on ``day`` (null for none)."""
    return (select(MembershipChange.membership)
            .where(MembershipChange.organisation_id == Organisation.id,
                   MembershipChange.effective_on <= day)
            .order_by(MembershipChange.effective_on.desc(), MembershipChange.id.desc())
            .limit(1).correlate(Organisation).scalar_subquery())


def _with_membership(stmt: Select[Organisation], membership: Membership | None,
                     day: date) -> Select[Organisation]:
    held = membership_on_column(day)
    return stmt.where(held.is_(None) if membership is None else held == membership.value)


def list_organisations(*, db: Session, actor: Principal, limit: int | None, cursor: str | None,
                       kind: OrgKind | None = None, membership: Membership | None = None,
                       no_membership: bool = False, on: date | None = None,
                       ) -> tuple[list[Organisation], str | None]:
    """Organisations by id; ``membership`` (or ``no_membership``) as in force ``on`` a day
    (today by default)."""
    policy.require(actor, Permission.ORGANISATIONS_READ)
    stmt = select(Organisation).options(selectinload(Organisation.history))
    if kind is not None:
        stmt = stmt.where(Organisation.kind == kind)
    if membership is not None or no_membership:
        stmt = _with_membership(stmt, membership, on or clock.today())
    items, next_cursor = paginate(db, stmt, Organisation.id, limit=limit, cursor=cursor)
    return list(items), next_cursor


def page(*, db: Session, actor: Principal, limit: int | None, cursor: str | None,
         kind: OrgKind | None = None, membership: Membership | None = None,
         on: date | None = None) -> Page[OrganisationOut]:
    """One page of :func:`list_organisations` as the API answers it."""
    orgs, next_cursor = list_organisations(db=db, actor=actor, limit=limit, cursor=cursor,
                                           kind=kind, membership=membership, on=on)
    return Page(items=[organisation_out(o, on=on) for o in orgs], next_cursor=next_cursor)


def all_organisations(*, db: Session, actor: Principal) -> list[Organisation]:
    """Every organisation by name, for pickers and the dashboard."""
    policy.require(actor, Permission.ORGANISATIONS_READ)
    return list(db.scalars(select(Organisation).options(selectinload(Organisation.history))
                           .order_by(Organisation.name)))


def members_on(*, db: Session, actor: Principal, day: date,
               memberships: tuple[Membership, ...] = PROJECT_MEMBERS) -> list[Organisation]:
    """The nations holding one of ``memberships`` on ``day`` (the lead and the participants
    by default): whom a rotation of that day may draw on."""
    policy.require(actor, Permission.ORGANISATIONS_READ)
    held = membership_on_column(day)
    return list(db.scalars(select(Organisation).options(selectinload(Organisation.history))
                           .where(held.in_([m.value for m in memberships]))
                           .order_by(Organisation.name)))


def member_ids_on(*, db: Session, actor: Principal, day: date,
                  memberships: tuple[Membership, ...] = PROJECT_MEMBERS) -> list[int]:
    """The ids of :func:`members_on`, in one query (no history loaded)."""
    policy.require(actor, Permission.ORGANISATIONS_READ)
    held = membership_on_column(day)
    return list(db.scalars(select(Organisation.id)
                           .where(held.in_([m.value for m in memberships]))
                           .order_by(Organisation.name)))


def membership_on(*, db: Session, actor: Principal, code: str, day: date) -> Membership | None:
    return get(db=db, actor=actor, code=code).membership_on(day)


def pool_nations(*, db: Session, actor: Principal) -> list[Organisation]:
    """The nations whose whole pool the actor may see, by name."""
    return list(db.scalars(select(Organisation).options(selectinload(Organisation.history))
                           .where(Organisation.kind == OrgKind.NATION,
                                  policy.scope(actor, Permission.POOL_READ, Organisation))
                           .order_by(Organisation.name)))


# --- membership ---------------------------------------------------------------------------------

def _check_one_lead(db: Session, org: Organisation, effective_on: date) -> None:
    """Only one nation leads on any day: none other may lead on or after ``effective_on``."""
    others = db.scalars(select(Organisation).options(selectinload(Organisation.history))
                        .where(Organisation.id != org.id))
    for other in others:
        leads_then = other.membership_on(effective_on) is Membership.LEAD or any(
            c.membership is Membership.LEAD for c in other.history
            if c.effective_on > effective_on)
        if leads_then:
            raise Conflict(f"{other.name} leads the project on {effective_on.isoformat()} or "
                           "later; record its change of role first.", lead=other.code)


def _serialise_membership(db: Session) -> None:
    """Membership changes run one at a time across the project: each checks the whole chain
    and the one lead against what the others wrote, so two at once could fork a history or
    seat two leads. Taken before any history is read."""
    serialise(db, "organisations:membership")


def _record_membership(*, db: Session, actor: Principal, org: Organisation,
                       new: Membership | None, effective_on: date | None, note: str) -> None:
    last = org.history[-1] if org.history else None
    if new == org.latest:
        if last is not None and last.is_planned \
                and (effective_on or clock.today()) != last.effective_on:
            raise Conflict(f"{org.name} is to be {_state(new)} from "
                           f"{last.effective_on.isoformat()} already; cancel that planned "
                           "change to record another date.",
                           planned_on=last.effective_on.isoformat())
        return
    if org.kind is not OrgKind.NATION:
        raise Invalid.field("membership", "Only a nation holds a membership in the project.")
    effective_on = effective_on or clock.today()
    if last is not None and effective_on < last.effective_on:
        message = ("A membership change cannot predate the last one "
                   f"({last.effective_on.isoformat()}); cancel a planned one first.")
        raise Invalid(message, [FieldError(["effective_on"], message)],
                      last_on=last.effective_on.isoformat())
    if new is Membership.LEAD:
        _check_one_lead(db, org, effective_on)
    current, target = _state(org.latest), _state(new)
    move = MEMBERSHIP.check(actor=actor, current=current, target=target, what=org)
    org.history.append(MembershipChange(
        event=MembershipEvent(move.name), previous=org.latest, membership=new,
        effective_on=effective_on, note=note, recorded_by=actor.actor))
    db.flush()
    MEMBERSHIP.record(db=db, actor=actor, move=move, current=current, target=target,
                      object_type="organisation", object_id=org.code,
                      changes={"effective_on": effective_on.isoformat()})


def cancel_planned(*, db: Session, actor: Principal, code: str, change_id: uuid.UUID) -> None:
    """Withdraw the last membership change while it is still planned."""
    _serialise_membership(db)
    org = get(db=db, actor=actor, code=code)
    policy.require(actor, Permission.MEMBERSHIP_WRITE, org)
    change = next((c for c in org.history if c.public_id == change_id), None)
    if change is None:
        raise NotFound("No such membership change of this organisation.")
    if not change.is_planned:
        raise Conflict("This change has taken effect; record a new one instead.")
    if change is not org.history[-1]:
        raise Conflict("Only the last planned change can be cancelled; cancel the later ones "
                       "first.")
    if change.previous is Membership.LEAD:  # cancelled, the nation goes on leading
        _check_one_lead(db, org, change.effective_on)
    org.history.remove(change)
    db.delete(change)
    db.flush()
    audit.record(db=db, actor=actor, action="membership.cancelled", object_type="organisation",
                 object_id=org.code,
                 changes={"state": [_state(change.membership), _state(change.previous)],
                          "effective_on": change.effective_on.isoformat()})


def create(*, db: Session, actor: Principal, data: OrganisationIn) -> Organisation:
    """Add an organisation; a nation may join the project in the same step."""
    policy.require(actor, Permission.ORGANISATIONS_WRITE)
    if data.membership is not None:
        _serialise_membership(db)
    if db.scalar(select(Organisation).where(func.lower(Organisation.code) == data.code.lower())):
        raise Conflict(f"An organisation with the code '{data.code}' exists already.")
    org = Organisation(code=data.code, name=data.name.strip(), kind=data.kind)
    db.add(org)
    db.flush()
    audit.record(db=db, actor=actor, action="organisation.create", object_type="organisation",
                 object_id=org.code,
                 changes={"name": [None, org.name], "kind": [None, org.kind.value]})
    _record_membership(db=db, actor=actor, org=org, new=data.membership,
                       effective_on=data.effective_on, note="")
    if data.contact is not None:
        _change_contact(db=db, actor=actor, org=org, contact=data.contact)
    return org


def _card(org: Organisation) -> dict[str, str | None]:
    values = {field: getattr(org, column) for field, column in CONTACT_COLUMNS.items()}
    return {field: getattr(value, "value", value) for field, value in values.items()}


def _change_contact(*, db: Session, actor: Principal, org: Organisation,
                    contact: ContactIn | None) -> None:
    """Set the fields of the card that were sent (all of them cleared for ``None``)."""
    before = _card(org)
    for field in contact.model_fields_set if contact is not None else CONTACT_COLUMNS:
        setattr(org, CONTACT_COLUMNS[field],
                getattr(contact, field) if contact is not None else None)
    changes = audit.diff(before, _card(org), personal=CONTACT_PERSONAL)
    if changes:
        db.flush()
        audit.record(db=db, actor=actor, action="organisation.contact",
                     object_type="organisation", object_id=org.code, changes=changes)


def update(*, db: Session, actor: Principal, code: str, data: OrganisationPatch) -> Organisation:
    """Rename, change the membership with a dated history entry (planned if dated later), or
    change the contact card; each part sent is checked against its own permission."""
    sent = data.model_fields_set
    if sent & CENTRAL_FIELDS:
        policy.require(actor, Permission.ORGANISATIONS_WRITE,
                       refusal=f"Your role ({actor.role.value}) may change only the contact "
                               "card." if policy.may(actor, Permission.ORGANISATIONS_CONTACT)
                       else None)
    if "membership" in sent:
        _serialise_membership(db)
    org = get(db=db, actor=actor, code=code)
    policy.require(actor, Permission.ORGANISATIONS_CONTACT, org)
    if data.name is not None and data.name.strip() != org.name:
        previous, org.name = org.name, data.name.strip()
        audit.record(db=db, actor=actor, action="organisation.update", object_type="organisation",
                     object_id=org.code, changes={"name": [previous, org.name]})
    if "membership" in data.model_fields_set:
        _record_membership(db=db, actor=actor, org=org, new=data.membership,
                           effective_on=data.effective_on, note=data.note)
    if "contact" in sent:
        _change_contact(db=db, actor=actor, org=org, contact=data.contact)
    db.flush()
    return org


def history(*, db: Session, actor: Principal, code: str) -> list[MembershipChange]:
    return list(get(db=db, actor=actor, code=code).history)


# --- institutions -------------------------------------------------------------------------------

def list_institutions(*, db: Session, actor: Principal, code: str) -> list[Institution]:
    return list(get(db=db, actor=actor, code=code).institutions)


def _institution(org: Organisation, institution_id: uuid.UUID) -> Institution:
    inst = next((i for i in org.institutions if i.public_id == institution_id), None)
    if inst is None:
        raise NotFound("No such institution in this organisation.")
    return inst


def get_institution(*, db: Session, actor: Principal, code: str,
                    institution_id: uuid.UUID) -> Institution:
    return _institution(get(db=db, actor=actor, code=code), institution_id)


def institution_of(*, db: Session, actor: Principal, org_id: int,
                   institution_id: uuid.UUID, field: str) -> Institution:
    """The institution of that organisation, or 422 on ``field`` (another part's input)."""
    org = by_id(db=db, actor=actor, org_id=org_id)
    inst = next((i for i in org.institutions if i.public_id == institution_id), None)
    if inst is None:
        raise Invalid.field(field, f"{org.name} has no institution {institution_id}.")
    return inst


def institution_by_id(*, db: Session, actor: Principal, institution_id: int) -> Institution:
    """The institution behind a reference another part holds."""
    policy.require(actor, Permission.ORGANISATIONS_READ)
    inst = db.get(Institution, institution_id)
    if inst is None:
        raise NotFound("No such institution.")
    return inst


def _unique_name(db: Session, org: Organisation, name: str, *, except_id: int | None) -> None:
    clash = db.scalar(select(Institution).where(Institution.organisation_id == org.id,
                                                func.lower(Institution.name) == name.lower(),
                                                Institution.id != (except_id or 0)))
    if clash is not None:
        raise Conflict(f"{org.name} has an institution named '{name}' already.")


def create_institution(*, db: Session, actor: Principal, code: str,
                       data: InstitutionIn) -> Institution:
    org = get(db=db, actor=actor, code=code)
    policy.require(actor, Permission.INSTITUTIONS_WRITE, org)
    name = data.name.strip()
    _unique_name(db, org, name, except_id=None)
    inst = Institution(organisation=org, name=name, kind=data.kind)
    db.add(inst)
    db.flush()
    audit.record(db=db, actor=actor, action="institution.create", object_type="institution",
                 object_id=inst.public_id, changes={"org": org.code, "name": [None, name],
                                                    "kind": [None, data.kind.value]})
    return inst


def update_institution(*, db: Session, actor: Principal, code: str,
                       institution_id: uuid.UUID, data: InstitutionPatch) -> Institution:
    org = get(db=db, actor=actor, code=code)
    policy.require(actor, Permission.INSTITUTIONS_WRITE, org)
    inst = _institution(org, institution_id)
    before = {"name": inst.name, "kind": inst.kind.value}
    if data.name is not None:
        _unique_name(db, org, data.name.strip(), except_id=inst.id)
        inst.name = data.name.strip()
    if data.kind is not None:
        inst.kind = data.kind
    db.flush()
    audit.record(db=db, actor=actor, action="institution.update", object_type="institution",
                 object_id=inst.public_id,
                 changes=audit.diff(before, {"name": inst.name, "kind": inst.kind.value}))
    return inst


def delete_institution(*, db: Session, actor: Principal, code: str,
                       institution_id: uuid.UUID) -> None:
    """Remove an institution; its experts stay in the pool (the foreign key sets theirs null)."""
    org = get(db=db, actor=actor, code=code)
    policy.require(actor, Permission.INSTITUTIONS_WRITE, org)
    inst = _institution(org, institution_id)
    public_id, name = inst.public_id, inst.name
    org.institutions.remove(inst)
    db.delete(inst)
    db.flush()
    audit.record(db=db, actor=actor, action="institution.delete", object_type="institution",
                 object_id=public_id, changes={"org": org.code, "name": [name, None]})
