"""The expert pool: nominations, edits, availability and the pool's statistics.

Every read is scoped by :mod:`crrt.access.policy` (a POC sees its nation's experts, a responder
only their own record) and every change writes an audit event whose personal fields say only
that they changed, which is what keeps the audit chain valid after an expert is erased. The
nation and institution of an expert are read through the organisations part's service, and a
linked account through the accounts part's. Spreadsheet import is :mod:`crrt.experts.importer`;
what the pool holds about a person, for export and erasure, is :mod:`crrt.experts.personal_data`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import ColumnElement, Select, String, bindparam, exists, func, or_, select
from sqlalchemy.orm import Session, lazyload

from crrt.access import policy
from crrt.access.policy import Permission
from crrt.access.principal import Principal
from crrt.audit import service as audit
from crrt.auth import service as auth
from crrt.core import clock
from crrt.core.errors import Conflict, Invalid, NotFound
from crrt.core.pagination import DEFAULT_LIMIT, paginate, paginate_sorted
from crrt.experts.enums import Clearance, Deployability, Skill
from crrt.experts.models import Expert, ExpertLanguage, ExpertSkill, Unavailability
from crrt.experts.schemas import (
    ExpertFilter,
    ExpertIn,
    ExpertOut,
    ExpertPatch,
    SkillLevel,
    UnavailabilityIn,
    UnavailabilityOut,
)
from crrt.organisations import service as organisations
from crrt.organisations.enums import OrgKind
from crrt.privacy import service as privacy

if TYPE_CHECKING:
    from crrt.organisations.models import Organisation

PERSONAL = ("name", "email", "phone", "notes", "user", "languages", "time_zone", "messenger",
            "pgp_fingerprint")
# A record no one who manages it has confirmed for this long is stale (shown, counted).
STALE_AFTER = timedelta(days=365)


def is_stale(verified_at: datetime | None, now: datetime) -> bool:
    return verified_at is None or verified_at < now - STALE_AFTER


# --- reading ---------------------------------------------------------------------------------

def deployability_of(expert: Expert) -> list[Deployability]:
    return [d for d, on in ((Deployability.REMOTE, expert.remote),
                            (Deployability.ON_SITE, expert.on_site)) if on]


def unavailable_on(expert: Expert, day: date) -> bool:
    return any(u.starts_on <= day <= u.ends_on for u in expert.unavailability)


def unavailability_out(period: Unavailability) -> UnavailabilityOut:
    return UnavailabilityOut(id=period.public_id, starts_on=period.starts_on,
                             ends_on=period.ends_on, reason=period.reason)


def _nation_of(db: Session, actor: Principal, expert: Expert) -> Organisation:
    return organisations.by_id(db=db, actor=actor, org_id=expert.organisation_id)


def expert_out(db: Session, actor: Principal, expert: Expert) -> ExpertOut:
    org = _nation_of(db, actor, expert)
    inst = organisations.institution_by_id(db=db, actor=actor,
                                           institution_id=expert.institution_id) \
        if expert.institution_id is not None else None
    return ExpertOut(
        id=expert.public_id, org=org.code, org_name=org.name,
        institution_id=inst.public_id if inst else None,
        institution=inst.name if inst else None,
        name=expert.name, email=expert.email, phone=expert.phone,
        skills=[SkillLevel(skill=s.skill, level=s.level)
                for s in sorted(expert.skills, key=lambda s: s.skill.value)],
        languages=sorted(lang.code for lang in expert.languages), clearance=expert.clearance,
        deployability=deployability_of(expert), time_zone=expert.time_zone, notes=expert.notes,
        messenger=expert.messenger, pgp_fingerprint=expert.pgp_fingerprint,
        clearance_expires_on=expert.clearance_expires_on,
        unavailability=[unavailability_out(u)
                        for u in sorted(expert.unavailability, key=lambda u: u.starts_on)],
        available_today=not unavailable_on(expert, clock.today()),
        verified_at=expert.verified_at, stale=is_stale(expert.verified_at, clock.now()),
        created_at=expert.created_at, updated_at=expert.updated_at,
        erased=expert.erased_at is not None)


def audit_fields(db: Session, actor: Principal, expert: Expert) -> dict[str, Any]:
    """The expert as the audit log compares it; personal keys are masked by :data:`PERSONAL`."""
    inst = organisations.institution_by_id(db=db, actor=actor,
                                           institution_id=expert.institution_id) \
        if expert.institution_id is not None else None
    return {"org": _nation_of(db, actor, expert).code,
            "institution_id": str(inst.public_id) if inst else None,
            "name": expert.name, "email": expert.email, "phone": expert.phone,
            "notes": expert.notes, "user": expert.user_id,
            "skills": {s.skill.value: s.level for s in expert.skills},
            "languages": sorted(lang.code for lang in expert.languages),
            "clearance": expert.clearance.value,
            "deployability": [d.value for d in deployability_of(expert)],
            "time_zone": expert.time_zone, "messenger": expert.messenger,
            "pgp_fingerprint": expert.pgp_fingerprint,
            "clearance_expires_on": expert.clearance_expires_on.isoformat()
            if expert.clearance_expires_on else None}


def _load(db: Session, expert_id: uuid.UUID) -> Expert:
    expert = db.scalar(select(Expert).where(Expert.public_id == expert_id))
    if expert is None:
        raise NotFound("No such expert.")
    return expert


def get(*, db: Session, actor: Principal, expert_id: uuid.UUID) -> Expert:
    """One expert; outside the actor's scope it does not exist (404)."""
    policy.require_some(actor, Permission.EXPERTS_READ)
    expert = _load(db, expert_id)
    policy.require_visible(actor, Permission.EXPERTS_READ, expert, missing="No such expert.")
    return expert


def zone_of_user(*, db: Session, user_id: int) -> str | None:
    """The time zone of the expert record linked to an account (the pages' default for that
    person; it is their own record, so no one else's scope is asked)."""
    return db.scalar(select(Expert.time_zone).where(Expert.user_id == user_id,
                                                    Expert.erased_at.is_(None)).limit(1))


def _org_filter(db: Session, actor: Principal, code: str) -> int:
    return organisations.get(db=db, actor=actor, code=code, field="org").id


Query = TypeVar("Query", bound=Select[Any])


def filter_values(db: Session, actor: Principal, filters: ExpertFilter) -> dict[str, Any]:
    """The criteria of ``filters`` by the name of the bound parameter each takes: the nation's
    code resolved to its id, a clearance to the levels it admits, a search to a LIKE pattern.
    The keys alone give the statement's shape, so :func:`narrowed` builds one statement per
    shape and a request binds only its values."""
    values: dict[str, Any] = {}
    if not filters.include_erased:
        values["current"] = None
    if filters.org is not None:
        try:
            values["org"] = _org_filter(db, actor, filters.org)
        except Invalid as exc:
            raise Invalid.field(["query", "org"], exc.detail) from exc
    if filters.skill is not None:
        values["skill"] = filters.skill
    if filters.min_level is not None:
        values["min_level"] = filters.min_level
    if filters.language is not None:
        values["language"] = filters.language
    if filters.clearance is not None:
        values["clearance"] = [c for c in Clearance if c.rank >= filters.clearance.rank]
        if filters.clearance is not Clearance.NONE:  # an expired clearance is none held
            values["cleared_through"] = filters.available_until or filters.available_on \
                or clock.today()
    if filters.deployability is not None:
        values[filters.deployability.value] = None
    if filters.available_until is not None:
        values["available_from"] = filters.available_on or clock.today()
        values["available_until"] = filters.available_until
    elif filters.available_on is not None:
        values["available_on"] = filters.available_on
    if filters.stale is not None:
        values["stale" if filters.stale else "fresh"] = clock.now() - STALE_AFTER
    if filters.q:
        escaped = filters.q.lower().replace("/", "//").replace("%", "/%").replace("_", "/_")
        values["q"] = f"%{escaped}%"
    return values


def narrowed(stmt: Query, values: dict[str, Any], *, placeholders: bool = False) -> Query:
    """``stmt`` (on the experts table) narrowed by the criteria named in ``values`` (see
    :func:`filter_values`), each value a bound parameter of that name. With ``placeholders``
    the parameters carry no value and must each be given when the statement runs (a
    statement built once per shape): one left out is an error, never a silent NULL."""
    def bound(name: str, column: Any, **kwargs: Any) -> Any:
        if placeholders:
            return bindparam(name, type_=column.type, required=True, **kwargs)
        return bindparam(name, values[name], type_=column.type, **kwargs)

    if "current" in values:
        stmt = stmt.where(Expert.erased_at.is_(None))
    if "org" in values:
        stmt = stmt.where(Expert.organisation_id == bound("org", Expert.organisation_id))
    if "skill" in values or "min_level" in values:
        conditions: list[ColumnElement[bool]] = [ExpertSkill.expert_id == Expert.id]
        if "skill" in values:
            conditions.append(ExpertSkill.skill == bound("skill", ExpertSkill.skill))
        if "min_level" in values:
            conditions.append(ExpertSkill.level >= bound("min_level", ExpertSkill.level))
        stmt = stmt.where(exists().where(*conditions))
    if "language" in values:
        stmt = stmt.where(exists().where(ExpertLanguage.expert_id == Expert.id,
                                         ExpertLanguage.code == bound("language",
                                                                      ExpertLanguage.code)))
    if "clearance" in values:
        stmt = stmt.where(Expert.clearance.in_(bound("clearance", Expert.clearance,
                                                     expanding=True)))
    if "cleared_through" in values:
        stmt = stmt.where(or_(Expert.clearance_expires_on.is_(None),
                              Expert.clearance_expires_on >= bound(
                                  "cleared_through", Expert.clearance_expires_on)))
    if Deployability.REMOTE.value in values:
        stmt = stmt.where(Expert.remote.is_(True))
    if Deployability.ON_SITE.value in values:
        stmt = stmt.where(Expert.on_site.is_(True))
    if "available_on" in values:
        day = bound("available_on", Unavailability.starts_on)
        stmt = stmt.where(~exists().where(Unavailability.expert_id == Expert.id,
                                          Unavailability.starts_on <= day,
                                          Unavailability.ends_on >= day))
    if "available_until" in values:
        first = bound("available_from", Unavailability.ends_on)
        last = bound("available_until", Unavailability.starts_on)
        stmt = stmt.where(~exists().where(Unavailability.expert_id == Expert.id,
                                          Unavailability.starts_on <= last,
                                          Unavailability.ends_on >= first))
    if "stale" in values:
        stmt = stmt.where(or_(Expert.verified_at.is_(None),
                              Expert.verified_at < bound("stale", Expert.verified_at)))
    if "fresh" in values:
        stmt = stmt.where(Expert.verified_at >= bound("fresh", Expert.verified_at))
    if "q" in values:
        stmt = stmt.where(func.lower(Expert.name).like(bound("q", Expert.name), escape="/"))
    return stmt


def filtered(db: Session, actor: Principal, stmt: Query, filters: ExpertFilter) -> Query:
    """``stmt`` (on the experts table) narrowed by ``filters``; the list and its hot read
    share it."""
    return narrowed(stmt, filter_values(db, actor, filters))


def list_experts(*, db: Session, actor: Principal, filters: ExpertFilter, limit: int | None,
                 cursor: str | None, by_name: bool | None = None,
                 ) -> tuple[list[Expert], str | None]:
    """The experts the actor may see that match ``filters``, one page at a time: in the order
    they were nominated, or by name (``by_name`` True: A to Z, False: Z to A)."""
    policy.require_some(actor, Permission.EXPERTS_READ)
    stmt = filtered(db, actor, select(Expert).where(
        policy.scope(actor, Permission.EXPERTS_READ, Expert)), filters)
    if by_name is None:
        items, next_cursor = paginate(db, stmt, Expert.id, limit=limit, cursor=cursor)
    else:
        items, next_cursor = paginate_sorted(db, stmt, Expert.name, Expert.id,
                                             descending=not by_name,
                                             limit=limit or DEFAULT_LIMIT, cursor=cursor)
    return list(items), next_cursor


def count_experts(*, db: Session, actor: Principal, filters: ExpertFilter) -> int:
    """How many experts the actor sees match ``filters`` (all pages together)."""
    policy.require_some(actor, Permission.EXPERTS_READ)
    stmt = select(func.count(Expert.id)).where(policy.scope(actor, Permission.EXPERTS_READ,
                                                            Expert))
    return db.scalar(filtered(db, actor, stmt, filters)) or 0


def find_by_email(*, db: Session, actor: Principal, org: str, email: str) -> Expert | None:
    """The nation's current (not erased) nomination with that email, if the actor sees it."""
    nation_id = organisations.get(db=db, actor=actor, code=org).id
    expert = _same_email(db, nation_id, email)
    if expert is None or not policy.allows(actor, Permission.EXPERTS_READ, expert):
        return None
    return expert


def counts_by_nation(*, db: Session, actor: Principal) -> list[tuple[str, str, int]]:
    """Experts in the pool per nation (the lead and participants listed even with none), by
    name."""
    policy.require(actor, Permission.DASHBOARD_POOL)
    counted = dict(db.execute(
        select(Expert.organisation_id, func.count(Expert.id))
        .where(Expert.erased_at.is_(None), policy.scope(actor, Permission.EXPERTS_READ, Expert))
        .group_by(Expert.organisation_id)).all())
    members = organisations.members_on(db=db, actor=actor, day=clock.today())
    shown = {o.id for o in members if policy.allows(actor, Permission.POOL_READ, o)}
    rows = []
    for org_id in shown | set(counted):
        org = organisations.by_id(db=db, actor=actor, org_id=org_id)
        rows.append((org.code, org.name, counted.get(org_id, 0)))
    return sorted(rows, key=lambda row: (row[1].lower(), row[0]))


def counts_by_skill(*, db: Session, actor: Principal) -> list[tuple[Skill, int]]:
    """Experts holding each skill (at any level), every skill of the taxonomy listed."""
    policy.require(actor, Permission.DASHBOARD_POOL)
    rows = db.execute(
        select(ExpertSkill.skill, func.count(ExpertSkill.expert_id))
        .join(Expert, Expert.id == ExpertSkill.expert_id)
        .where(Expert.erased_at.is_(None), policy.scope(actor, Permission.EXPERTS_READ, Expert))
        .group_by(ExpertSkill.skill)).all()
    counts = {Skill(skill): n for skill, n in rows}
    return [(skill, counts.get(skill, 0)) for skill in Skill]


@dataclass(frozen=True)
class Deployable:
    """How many experts of a skill no unavailability keeps from a span of days."""

    skill: Skill
    any_level: int
    expert_level: int
    on_site: int
    cleared: int  # an EU clearance valid through the last day


def deployable_by_skill(*, db: Session, actor: Principal, first: date,
                        last: date) -> list[Deployable]:
    """Per skill, the experts the actor sees who are free every day from ``first`` to
    ``last``: at any level, at expert level (3), ready to go on site, and holding an EU
    clearance valid through ``last``. Every skill of the taxonomy is listed, none free
    included."""
    policy.require(actor, Permission.DASHBOARD_POOL)
    away = exists().where(Unavailability.expert_id == Expert.id,
                          Unavailability.starts_on <= last, Unavailability.ends_on >= first)
    rows = db.execute(
        select(ExpertSkill.skill, func.count(ExpertSkill.expert_id),
               func.count(ExpertSkill.expert_id).filter(ExpertSkill.level == 3),
               func.count(ExpertSkill.expert_id).filter(Expert.on_site.is_(True)),
               func.count(ExpertSkill.expert_id).filter(
                   Expert.clearance != Clearance.NONE,
                   or_(Expert.clearance_expires_on.is_(None),
                       Expert.clearance_expires_on >= last)))
        .join(Expert, Expert.id == ExpertSkill.expert_id)
        .where(Expert.erased_at.is_(None), ~away,
               policy.scope(actor, Permission.EXPERTS_READ, Expert))
        .group_by(ExpertSkill.skill)).all()
    found = {Skill(skill): tuple(counts) for skill, *counts in rows}
    return [Deployable(skill, *found.get(skill, (0, 0, 0, 0))) for skill in Skill]


@dataclass(frozen=True)
class Away:
    """An unavailability period as the dashboard lists it."""

    expert_id: uuid.UUID
    name: str
    org: str
    starts_on: date
    ends_on: date


def unavailability_starting(*, db: Session, actor: Principal, first: date, last: date,
                            limit: int = 50) -> list[Away]:
    """Periods starting from ``first`` to ``last`` of the experts the actor sees (erased ones
    aside), soonest first, at most ``limit``."""
    policy.require_some(actor, Permission.EXPERTS_READ)
    orgs = organisations.names()
    rows = db.execute(
        select(Expert.public_id, Expert.name, orgs.c.code, Unavailability.starts_on,
               Unavailability.ends_on)
        .join(Expert, Expert.id == Unavailability.expert_id)
        .join(orgs, orgs.c.id == Expert.organisation_id)
        .where(Expert.erased_at.is_(None), Unavailability.starts_on >= first,
               Unavailability.starts_on <= last,
               policy.scope(actor, Permission.EXPERTS_READ, Expert))
        .order_by(Unavailability.starts_on, Expert.name).limit(limit)).all()
    return [Away(*row) for row in rows]


# --- writing ---------------------------------------------------------------------------------

def nation(db: Session, actor: Principal, code: str) -> Organisation:
    """The nominating nation for ``code``; anything else is a 422 on the ``org`` field."""
    org = organisations.get(db=db, actor=actor, code=code, field="org")
    if org.kind is not OrgKind.NATION:
        raise Invalid.field("org", f"{org.name} is not a nation; only nations nominate experts.")
    return org


def nominating_nations(*, db: Session, actor: Principal) -> list[Organisation]:
    """The nations the actor may nominate experts for, by name."""
    return [o for o in organisations.all_organisations(db=db, actor=actor)
            if o.kind is OrgKind.NATION and policy.allows(actor, Permission.EXPERTS_WRITE, o)]


def _institution(db: Session, actor: Principal, org: Organisation,
                 institution_id: uuid.UUID | None) -> int | None:
    if institution_id is None:
        return None
    return organisations.institution_of(db=db, actor=actor, org_id=org.id,
                                        institution_id=institution_id, field="institution_id").id


def _same_email(db: Session, org_id: int, email: str, *,
                except_id: int | None = None) -> Expert | None:
    """The organisation's (not erased) expert with ``email``, any case."""
    return db.scalar(select(Expert).where(Expert.organisation_id == org_id,
                                          Expert.email == email.strip().lower(),
                                          Expert.erased_at.is_(None),
                                          Expert.id != (except_id or 0)))


def _check_email_free(db: Session, org: Organisation, email: str, except_id: int | None) -> None:
    clash = _same_email(db, org.id, email, except_id=except_id)
    if clash is not None:
        raise Conflict(f"{org.name} has nominated an expert with the email {email} already.",
                       expert_id=str(clash.public_id))


def _linked_user(db: Session, actor: Principal, org: Organisation, email: str,
                 except_id: int | None) -> int:
    policy.require(actor, Permission.EXPERTS_LINK_USER)
    user = auth.find_by_email(db=db, actor=actor, email=email)
    if user is None:
        raise Invalid.field("user_email", f"No user has the email {email}.")
    if user.organisation_id != org.id:
        raise Invalid.field("user_email", f"That user does not belong to {org.name}.")
    taken = db.scalar(select(Expert.public_id).where(Expert.user_id == user.id,
                                                     Expert.id != (except_id or 0)))
    if taken is not None:
        raise Conflict("That user is linked to another expert record already.",
                       expert_id=str(taken))
    return user.id


def _set_skills(expert: Expert, skills: list[SkillLevel]) -> None:
    wanted = {s.skill: s.level for s in skills}
    for held in list(expert.skills):
        if held.skill not in wanted:
            expert.skills.remove(held)
        else:
            held.level = wanted.pop(held.skill)
    expert.skills.extend(ExpertSkill(skill=skill, level=level) for skill, level in wanted.items())


def _set_languages(expert: Expert, codes: list[str]) -> None:
    wanted = list(dict.fromkeys(codes))
    for held in list(expert.languages):
        if held.code in wanted:
            wanted.remove(held.code)
        else:
            expert.languages.remove(held)
    expert.languages.extend(ExpertLanguage(code=code) for code in wanted)


def _set_deployability(expert: Expert, values: list[Deployability]) -> None:
    expert.remote = Deployability.REMOTE in values
    expert.on_site = Deployability.ON_SITE in values


def create_expert(*, db: Session, actor: Principal, org: Organisation, data: ExpertIn) -> Expert:
    """Nominate into ``org`` once its permission was checked (the importer shares this)."""
    email = str(data.email).strip().lower()
    _check_email_free(db, org, email, None)
    institution_id = _institution(db, actor, org, data.institution_id)
    user_id = _linked_user(db, actor, org, str(data.user_email), None) \
        if data.user_email is not None else None
    now = clock.now()
    expert = Expert(organisation_id=org.id, institution_id=institution_id, user_id=user_id,
                    name=data.name, email=email, phone=data.phone, clearance=data.clearance,
                    time_zone=data.time_zone, notes=data.notes, messenger=data.messenger,
                    pgp_fingerprint=data.pgp_fingerprint,
                    clearance_expires_on=data.clearance_expires_on, created_at=now,
                    updated_at=now, verified_at=now)
    _set_deployability(expert, data.deployability)
    _set_skills(expert, data.skills)
    _set_languages(expert, data.languages)
    db.add(expert)
    db.flush()
    audit.record(db=db, actor=actor, action="expert.nominate", object_type="expert",
                 object_id=expert.public_id,
                 changes=audit.diff({}, audit_fields(db, actor, expert), personal=PERSONAL))
    return expert


def nominate(*, db: Session, actor: Principal, data: ExpertIn) -> Expert:
    """Add an expert to the pool: a POC for its own nation, admins and coordinators for any."""
    org = nation(db, actor, data.org)
    policy.require(actor, Permission.EXPERTS_WRITE, org)
    return create_expert(db=db, actor=actor, org=org, data=data)


def editable(*, db: Session, actor: Principal, expert_id: uuid.UUID) -> Expert:
    """The expert, if the actor may edit and withdraw it (404 outside its scope, 403 within)."""
    expert = get(db=db, actor=actor, expert_id=expert_id)
    policy.require(actor, Permission.EXPERTS_WRITE, expert)
    return expert


def _not_erased(expert: Expert) -> None:
    if expert.erased_at is not None:
        raise Conflict("This expert was erased; an erased record cannot change.")


def change_expert(*, db: Session, actor: Principal, expert: Expert, data: ExpertPatch) -> Expert:
    """Apply ``data`` to an expert whose permission was checked (the importer shares this)."""
    _not_erased(expert)
    before = audit_fields(db, actor, expert)
    sent = data.model_fields_set
    org = _nation_of(db, actor, expert)
    if data.org is not None:
        org = nation(db, actor, data.org)
        if org.id != expert.organisation_id:
            policy.require(actor, Permission.EXPERTS_WRITE, org)
    moved = org.id != expert.organisation_id
    email = str(data.email).strip().lower() if data.email is not None else expert.email
    if email and (email != expert.email or moved):
        _check_email_free(db, org, email, expert.id)
    if "institution_id" in sent:
        expert.institution_id = _institution(db, actor, org, data.institution_id)
    elif moved:
        expert.institution_id = None
    if "user_email" in sent and data.user_email is not None:
        expert.user_id = _linked_user(db, actor, org, str(data.user_email), expert.id)
    elif expert.user_id is not None and ("user_email" in sent or moved):
        policy.require(actor, Permission.EXPERTS_LINK_USER)
        expert.user_id = None
    expert.organisation_id, expert.email = org.id, email
    for key in ("name", "clearance", "time_zone"):
        if getattr(data, key) is not None:
            setattr(expert, key, getattr(data, key))
    for key in ("phone", "messenger", "pgp_fingerprint", "clearance_expires_on"):
        if key in sent:
            setattr(expert, key, getattr(data, key))
    if "notes" in sent:
        expert.notes = data.notes or ""
    if data.skills is not None:
        _set_skills(expert, data.skills)
    if data.languages is not None:
        _set_languages(expert, data.languages)
    if data.deployability is not None:
        _set_deployability(expert, data.deployability)
    db.flush()
    changes = audit.diff(before, audit_fields(db, actor, expert), personal=PERSONAL)
    if changes:
        # whoever changes a record has looked at it: it counts as confirmed current
        expert.updated_at = expert.verified_at = clock.now()
        audit.record(db=db, actor=actor, action="expert.update", object_type="expert",
                     object_id=expert.public_id, changes=changes)
    return expert


def update(*, db: Session, actor: Principal, expert_id: uuid.UUID, data: ExpertPatch) -> Expert:
    """Edit an expert; moving to another nation needs write permission on both."""
    expert = editable(db=db, actor=actor, expert_id=expert_id)
    return change_expert(db=db, actor=actor, expert=expert, data=data)


def confirm_current(*, db: Session, actor: Principal, expert_id: uuid.UUID) -> Expert:
    """Someone who manages the record confirms it is still right (the yearly check that keeps
    a pool trustworthy); audited."""
    expert = editable(db=db, actor=actor, expert_id=expert_id)
    _not_erased(expert)
    expert.verified_at = clock.now()
    audit.record(db=db, actor=actor, action="expert.confirm", object_type="expert",
                 object_id=expert.public_id, changes={})
    return expert


def stale_count(*, db: Session, actor: Principal) -> int:
    """How many records the actor sees that no one confirmed current for a year."""
    policy.require(actor, Permission.DASHBOARD_POOL)
    return db.scalar(select(func.count(Expert.id)).where(
        Expert.erased_at.is_(None), policy.scope(actor, Permission.EXPERTS_READ, Expert),
        or_(Expert.verified_at.is_(None),
            Expert.verified_at < clock.now() - STALE_AFTER))) or 0


# What holds an expert's record in place: parts above this one (a rotation's seat) register a
# check that names why a withdrawal must wait, or None (see crrt.rotations.personal_data).
Hold = Callable[[Session, Expert], str | None]
_holds: list[Hold] = []


def holds_record(check: Hold) -> Hold:
    """Register a check asked before a nomination is withdrawn."""
    if check not in _holds:
        _holds.append(check)
    return check


def withdraw(*, db: Session, actor: Principal, expert_id: uuid.UUID) -> None:
    """The nation withdraws the nomination: the record goes (its audit trail stays). A record
    another part still needs (a seat on a rotation not over) is kept, and the answer says why."""
    expert = editable(db=db, actor=actor, expert_id=expert_id)
    for check in _holds:
        if (reason := check(db, expert)) is not None:
            raise Conflict(reason)
    public_id, org_code = expert.public_id, _nation_of(db, actor, expert).code
    db.delete(expert)
    db.flush()
    audit.record(db=db, actor=actor, action="expert.withdraw", object_type="expert",
                 object_id=public_id, changes={"org": org_code})


def list_unavailability(*, db: Session, actor: Principal,
                        expert_id: uuid.UUID) -> list[Unavailability]:
    return list(get(db=db, actor=actor, expert_id=expert_id).unavailability)


def availability_editable(*, db: Session, actor: Principal, expert_id: uuid.UUID) -> Expert:
    """The expert, if the actor may record its unavailability and it is not erased."""
    expert = get(db=db, actor=actor, expert_id=expert_id)
    policy.require(actor, Permission.EXPERTS_AVAILABILITY, expert)
    _not_erased(expert)
    return expert


def add_unavailability(*, db: Session, actor: Principal, expert_id: uuid.UUID,
                       data: UnavailabilityIn) -> Unavailability:
    """Mark a period the expert cannot be called out; periods of one expert never overlap."""
    expert = availability_editable(db=db, actor=actor, expert_id=expert_id)
    for held in expert.unavailability:
        if held.starts_on <= data.ends_on and held.ends_on >= data.starts_on:
            raise Conflict(f"It overlaps the period {held.starts_on} to {held.ends_on}.",
                           unavailability_id=str(held.public_id))
    period = Unavailability(starts_on=data.starts_on, ends_on=data.ends_on,
                            reason=data.reason.strip())
    expert.unavailability.append(period)
    db.flush()
    audit.record(db=db, actor=actor, action="expert.unavailability.add", object_type="expert",
                 object_id=expert.public_id,
                 changes={"unavailability_id": str(period.public_id), "period": audit.PERSONAL,
                          **({"reason": audit.PERSONAL} if period.reason else {})})
    return period


def remove_unavailability(*, db: Session, actor: Principal, expert_id: uuid.UUID,
                          unavailability_id: uuid.UUID) -> None:
    expert = availability_editable(db=db, actor=actor, expert_id=expert_id)
    period = next((u for u in expert.unavailability if u.public_id == unavailability_id), None)
    if period is None:
        raise NotFound("This expert has no such unavailability period.")
    expert.unavailability.remove(period)
    db.flush()  # the row lock before the audit head's, the order every write path keeps
    audit.record(db=db, actor=actor, action="expert.unavailability.remove", object_type="expert",
                 object_id=expert.public_id,
                 changes={"unavailability_id": str(unavailability_id), "period": audit.PERSONAL})


# --- the person behind a record ----------------------------------------------------------------

def _person(expert: Expert, *, with_account: bool) -> privacy.Person:
    return privacy.Person(
        expert_ids=frozenset([expert.id]),
        user_ids=frozenset([expert.user_id]) if with_account and expert.user_id else frozenset())


def export_personal_data(*, db: Session, actor: Principal,
                         expert_id: uuid.UUID) -> dict[str, Any]:
    """Everything every part holds about the expert and the linked account (right of access)."""
    expert = get(db=db, actor=actor, expert_id=expert_id)
    policy.require(actor, Permission.EXPERTS_PERSONAL_DATA, expert)
    return privacy.export_person(db=db, actor=actor, person=_person(expert, with_account=True),
                                 object_type="expert", object_id=expert.public_id)


def erase(*, db: Session, actor: Principal, expert_id: uuid.UUID) -> Expert:
    """Erase the expert from every part that holds data about them (right to erasure); the
    account, if one is linked, is unlinked and kept (administrators close accounts)."""
    expert = get(db=db, actor=actor, expert_id=expert_id)
    policy.require(actor, Permission.EXPERTS_PERSONAL_DATA, expert)
    if expert.erased_at is not None:
        raise Conflict("This expert was erased already.")
    privacy.erase_person(db=db, actor=actor, person=_person(expert, with_account=False),
                         object_type="expert", object_id=expert.public_id)
    return expert


# --- for the rotations part --------------------------------------------------------------------

def roster_pool(*, db: Session, actor: Principal, org_ids: Collection[int]) -> list[Expert]:
    """The nominated (not erased) experts of the nations a plan may draw on, with their
    skills, languages and unavailability loaded: what the planner is given."""
    policy.require_some(actor, Permission.EXPERTS_READ)
    if not org_ids:
        return []
    stmt = select(Expert).where(Expert.erased_at.is_(None),
                                Expert.organisation_id.in_(list(org_ids)),
                                policy.scope(actor, Permission.EXPERTS_READ, Expert))
    return list(db.scalars(stmt.order_by(Expert.id)))


# A card or a candidate is the expert's own columns: skills, languages and absences (loaded
# with every Expert otherwise, three more queries) only if something reads them.
CARD_ONLY = (lazyload(Expert.skills), lazyload(Expert.languages),
             lazyload(Expert.unavailability))


def team_cards(*, db: Session, expert_ids: Collection[int]) -> dict[int, Expert]:
    """Experts by id, as a team's roster shows them to whoever may read the team (the
    rotations part asks its own permission first): name, nation, zone, contact."""
    if not expert_ids:
        return {}
    rows = db.scalars(select(Expert).options(*CARD_ONLY).where(Expert.id.in_(list(expert_ids))))
    return {e.id: e for e in rows}


def by_public_id(*, db: Session, expert_id: uuid.UUID) -> Expert | None:
    """An expert by public id, unscoped: the rotations part decides who may name one."""
    return db.scalar(select(Expert).where(Expert.public_id == expert_id))


def own_record(*, db: Session, user_id: int) -> Expert | None:
    """The expert record linked to an account: that person's own."""
    return db.scalar(select(Expert).where(Expert.user_id == user_id,
                                          Expert.erased_at.is_(None)).limit(1))


def best_for(*, db: Session, skill: Skill | None, day: date, remote: bool, on_site: bool,
             among: Collection[int] | None = None, org_ids: Collection[int] | None = None,
             excluded: Select[Any] | None = None, taken: Collection[int] = (),
             skip_locked: bool = False) -> Expert | None:
    """The most skilled expert with ``skill`` (any, if None) who can serve ``day``: deployable
    remotely or on site as asked (either, when both), not erased, not away, among ``among``
    (experts) or of ``org_ids`` (nations), neither ``excluded`` (a query of expert ids) nor
    ``taken``. Dispatch asks this seat by seat, with ``skip_locked``: the expert comes locked
    until the transaction ends, and one another transaction holds is passed over."""
    ways = [Expert.remote.is_(True)] if remote else []
    ways += [Expert.on_site.is_(True)] if on_site else []
    away = exists().where(Unavailability.expert_id == Expert.id,
                          Unavailability.starts_on <= day, Unavailability.ends_on >= day)
    stmt = select(Expert).options(*CARD_ONLY).where(Expert.erased_at.is_(None), or_(*ways),
                                                    ~away)
    if excluded is not None:
        stmt = stmt.where(Expert.id.not_in(excluded))
    if taken:
        stmt = stmt.where(Expert.id.not_in(sorted(taken)))
    if among is not None:
        stmt = stmt.where(Expert.id.in_(sorted(among)))
    if org_ids is not None:
        stmt = stmt.where(Expert.organisation_id.in_(sorted(org_ids)))
    if skill is None:
        stmt = stmt.order_by(Expert.id)
    else:
        stmt = stmt.join(ExpertSkill, (ExpertSkill.expert_id == Expert.id)
                         & (ExpertSkill.skill == skill)
                         ).order_by(ExpertSkill.level.desc(), Expert.id)
    if skip_locked:
        stmt = stmt.with_for_update(skip_locked=True, of=Expert)
    return db.scalar(stmt.limit(1))


@cache
def person_records() -> Select[int]:
    """The ids of the expert records that are a person's own: linked to their account, or
    carrying its e-mail address (a call-out reaches the person either way), as a query to
    put inside another. Built once (a query of every request): its parameters are
    :func:`person_of`'s."""
    return select(Expert.id).where(
        (Expert.user_id == bindparam("user_id"))
        | (func.lower(Expert.email) == bindparam("email", type_=String)),
        Expert.erased_at.is_(None))


def person_of(*, user_id: int | None, email: str | None) -> dict[str, Any]:
    """The parameters of :func:`person_records` for an account: its id and its address in
    lower case (None for neither: then nothing matches)."""
    return {"user_id": user_id, "email": email.lower() if email else None}


def ids_of_person(*, db: Session, user_id: int | None, email: str | None) -> list[int]:
    """The ids of :func:`person_records`."""
    return list(db.scalars(person_records(), person_of(user_id=user_id, email=email)))
