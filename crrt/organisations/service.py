"""Organisations, their project membership over time, and their institutions."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from crrt.audit import service as audit
from crrt.auth import policy
from crrt.auth.principal import Principal
from crrt.core import clock
from crrt.core.errors import Conflict, Invalid, NotFound
from crrt.core.pagination import paginate
from crrt.organisations.enums import Membership, MembershipEvent, OrgKind
from crrt.organisations.models import Institution, MembershipChange, Organisation
from crrt.organisations.schemas import (
    InstitutionIn,
    InstitutionOut,
    InstitutionPatch,
    MembershipChangeOut,
    OrganisationIn,
    OrganisationOut,
    OrganisationPatch,
)


def organisation_out(org: Organisation) -> OrganisationOut:
    since = None
    if org.membership is not None:
        joined = [c for c in org.history if c.membership == org.membership]
        since = joined[-1].effective_on if joined else None
    return OrganisationOut(code=org.code, name=org.name, kind=org.kind,
                           membership=org.membership, member_since=since)


def history_out(change: MembershipChange) -> MembershipChangeOut:
    return MembershipChangeOut(event=change.event, previous=change.previous,
                               membership=change.membership, effective_on=change.effective_on,
                               note=change.note, recorded_at=change.recorded_at,
                               recorded_by=change.recorded_by)


def institution_out(inst: Institution) -> InstitutionOut:
    return InstitutionOut(id=inst.id, org=inst.organisation.code, name=inst.name, kind=inst.kind)


def get_by_code(db: Session, code: str, *, field: str | None = None) -> Organisation:
    """The organisation with ``code`` (nations case-insensitively), or 404 / 422 for a field."""
    org = db.scalar(select(Organisation).where(Organisation.code == code)) or \
        db.scalar(select(Organisation).where(func.upper(Organisation.code) == code.upper(),
                                             Organisation.kind == OrgKind.NATION))
    if org is None:
        if field is not None:
            raise Invalid.field(field, f"No organisation has the code '{code}'.")
        raise NotFound(f"No organisation has the code '{code}'.")
    return org


def get(*, db: Session, actor: Principal, code: str) -> Organisation:
    policy.require(actor, policy.Permission.ORGANISATIONS_READ)
    return get_by_code(db, code)


def list_organisations(*, db: Session, actor: Principal, limit: int | None, cursor: str | None,
                       kind: OrgKind | None = None, membership: Membership | None = None,
                       ) -> tuple[list[Organisation], str | None]:
    policy.require(actor, policy.Permission.ORGANISATIONS_READ)
    stmt = select(Organisation).options(selectinload(Organisation.history))
    if kind is not None:
        stmt = stmt.where(Organisation.kind == kind)
    if membership is not None:
        stmt = stmt.where(Organisation.membership == membership)
    items, next_cursor = paginate(db, stmt, Organisation.id, limit=limit, cursor=cursor)
    return list(items), next_cursor


def all_organisations(*, db: Session, actor: Principal) -> list[Organisation]:
    """Every organisation by name, for pickers and the dashboard."""
    policy.require(actor, policy.Permission.ORGANISATIONS_READ)
    return list(db.scalars(select(Organisation).options(selectinload(Organisation.history))
                           .order_by(Organisation.name)))


def _record_membership(*, db: Session, actor: Principal, org: Organisation,
                       new: Membership | None, effective_on: date | None, note: str) -> None:
    if new == org.membership:
        return
    effective_on = effective_on or clock.today()
    if org.history and effective_on < org.history[-1].effective_on:
        raise Invalid.field("effective_on", "A membership change cannot predate the last one "
                            f"({org.history[-1].effective_on.isoformat()}).")
    event = (MembershipEvent.JOINED if org.membership is None
             else MembershipEvent.LEFT if new is None else MembershipEvent.ROLE_CHANGED)
    if new is Membership.LEAD:
        current = db.scalar(select(Organisation).where(Organisation.membership == Membership.LEAD,
                                                       Organisation.id != org.id))
        if current is not None:
            raise Conflict(f"{current.name} leads the project; change its role first.",
                           lead=current.code)
    change = MembershipChange(organisation=org, event=event, previous=org.membership,
                              membership=new, effective_on=effective_on, note=note,
                              recorded_by=actor.actor)
    db.add(change)
    previous, org.membership = org.membership, new
    db.flush()
    audit.record(db=db, actor=actor, action=f"membership.{event.value}",
                 object_type="organisation", object_id=org.code,
                 changes={"membership": [previous, new],
                          "effective_on": effective_on.isoformat()})


def create(*, db: Session, actor: Principal, data: OrganisationIn) -> Organisation:
    """Add an organisation; a nation may join the project in the same step."""
    policy.require(actor, policy.Permission.ORGANISATIONS_WRITE)
    if db.scalar(select(Organisation).where(func.lower(Organisation.code) == data.code.lower())):
        raise Conflict(f"An organisation with the code '{data.code}' exists already.")
    org = Organisation(code=data.code, name=data.name.strip(), kind=data.kind, membership=None)
    db.add(org)
    db.flush()
    audit.record(db=db, actor=actor, action="organisation.create", object_type="organisation",
                 object_id=org.code,
                 changes={"name": [None, org.name], "kind": [None, org.kind.value]})
    _record_membership(db=db, actor=actor, org=org, new=data.membership,
                       effective_on=data.effective_on, note="")
    return org


def update(*, db: Session, actor: Principal, code: str, data: OrganisationPatch) -> Organisation:
    """Rename, or change the membership with a dated history entry."""
    policy.require(actor, policy.Permission.ORGANISATIONS_WRITE)
    org = get_by_code(db, code)
    if data.name is not None and data.name.strip() != org.name:
        previous, org.name = org.name, data.name.strip()
        audit.record(db=db, actor=actor, action="organisation.update", object_type="organisation",
                     object_id=org.code, changes={"name": [previous, org.name]})
    if "membership" in data.model_fields_set:
        if org.kind is not OrgKind.NATION and data.membership is not None:
            raise Invalid.field("membership", "Only a nation holds a membership in the project.")
        _record_membership(db=db, actor=actor, org=org, new=data.membership,
                           effective_on=data.effective_on, note=data.note)
    db.flush()
    return org


def history(*, db: Session, actor: Principal, code: str) -> list[MembershipChange]:
    return list(get(db=db, actor=actor, code=code).history)


def list_institutions(*, db: Session, actor: Principal, code: str) -> list[Institution]:
    return list(get(db=db, actor=actor, code=code).institutions)


def _institution(db: Session, org: Organisation, institution_id: int) -> Institution:
    inst = db.get(Institution, institution_id)
    if inst is None or inst.organisation_id != org.id:
        raise NotFound("No such institution in this organisation.")
    return inst


def find_institution(*, db: Session, organisation_id: int, institution_id: int,
                     ) -> Institution | None:
    """The institution if it belongs to that organisation; for other parts' own checks."""
    inst = db.get(Institution, institution_id)
    return inst if inst is not None and inst.organisation_id == organisation_id else None


def get_institution(*, db: Session, actor: Principal, code: str,
                    institution_id: int) -> Institution:
    return _institution(db, get(db=db, actor=actor, code=code), institution_id)


def _unique_name(db: Session, org: Organisation, name: str, *, except_id: int | None) -> None:
    clash = db.scalar(select(Institution).where(Institution.organisation_id == org.id,
                                                func.lower(Institution.name) == name.lower(),
                                                Institution.id != (except_id or 0)))
    if clash is not None:
        raise Conflict(f"{org.name} has an institution named '{name}' already.")


def create_institution(*, db: Session, actor: Principal, code: str,
                       data: InstitutionIn) -> Institution:
    org = get_by_code(db, code)
    policy.require(actor, policy.Permission.INSTITUTIONS_WRITE, org.id)
    name = data.name.strip()
    _unique_name(db, org, name, except_id=None)
    inst = Institution(organisation=org, name=name, kind=data.kind)
    db.add(inst)
    db.flush()
    audit.record(db=db, actor=actor, action="institution.create", object_type="institution",
                 object_id=inst.id, changes={"org": org.code, "name": [None, name],
                                             "kind": [None, data.kind.value]})
    return inst


def update_institution(*, db: Session, actor: Principal, code: str, institution_id: int,
                       data: InstitutionPatch) -> Institution:
    org = get_by_code(db, code)
    policy.require(actor, policy.Permission.INSTITUTIONS_WRITE, org.id)
    inst = _institution(db, org, institution_id)
    before = {"name": inst.name, "kind": inst.kind.value}
    if data.name is not None:
        _unique_name(db, org, data.name.strip(), except_id=inst.id)
        inst.name = data.name.strip()
    if data.kind is not None:
        inst.kind = data.kind
    db.flush()
    audit.record(db=db, actor=actor, action="institution.update", object_type="institution",
                 object_id=inst.id,
                 changes=audit.diff(before, {"name": inst.name, "kind": inst.kind.value}))
    return inst


def delete_institution(*, db: Session, actor: Principal, code: str, institution_id: int) -> None:
    """Remove an institution; its experts stay in the pool (the foreign key sets theirs null)."""
    org = get_by_code(db, code)
    policy.require(actor, policy.Permission.INSTITUTIONS_WRITE, org.id)
    inst = _institution(db, org, institution_id)
    inst_id, name = inst.id, inst.name
    db.delete(inst)
    db.flush()
    audit.record(db=db, actor=actor, action="institution.delete", object_type="institution",
                 object_id=inst_id, changes={"org": org.code, "name": [name, None]})
