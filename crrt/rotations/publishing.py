"""Making a draft official, and changing a published team after a withdrawal.

Both work in two steps so that no solver runs under the database's write lock: the pool is
read, the plan checked and the weekly rosters (or the repair) solved in a reading session;
then one short write, serialised with every other publish and replacement, checks that
nothing it relied on moved meanwhile and writes the rows, the audit events and the notices.
The same two steps run in one session where the caller already holds one (the demo's load).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from crrt.access import policy
from crrt.access.policy import Permission
from crrt.access.principal import Principal
from crrt.audit import service as audit
from crrt.auth import service as auth
from crrt.core import clock
from crrt.core.db import Database, serialise
from crrt.core.errors import Conflict, NotFound
from crrt.experts import service as experts
from crrt.notify import service as notify
from crrt.rotations import checker, drafting, duty, replacement, service
from crrt.rotations.drafting import Setting
from crrt.rotations.enums import PlanState
from crrt.rotations.models import DutyShift, Rotation, RotationMember, RotationPlan
from crrt.rotations.problem import Assignment

if TYPE_CHECKING:
    from crrt.experts.models import Expert

LOCK = "rotations.publish"  # publishing and replacing run one at a time
ROSTER_SECONDS = 0.5  # as fair at 0.3 s as at 3 s on a 26-week, 10-member team


# --- weekly duty ---------------------------------------------------------------------------------

def roster(start: date, end: date, zone: str, members: Iterable[int],
           pool: dict[int, Expert]) -> list[duty.Shift]:
    """The weekly duty of a team from ``start`` to ``end`` (solved, not stored)."""
    people = [duty.DutyMember(i, pool[i].time_zone,
                              tuple((u.starts_on, u.ends_on) for u in pool[i].unavailability))
              for i in sorted(set(members))]
    if start > end or not people:
        return []
    return list(duty.weekly(start, end, people, zone=zone, seconds=ROSTER_SECONDS).shifts)


def _shift_rows(rotation_id: int, shifts: Iterable[duty.Shift]) -> list[DutyShift]:
    return [DutyShift(rotation_id=rotation_id, starts_at=s.start, ends_at=s.end,
                      primary_id=s.primary, backup_id=s.backup) for s in shifts]


# --- notices -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Notice:
    """One line to an expert (and, named, to their nation's POCs)."""

    expert: int
    label: str
    start: date
    end: date
    skill: str
    removed: bool = False


def _tell(db: Session, pool: dict[int, Expert], notices: Sequence[Notice],
          base_url: str) -> None:
    """One notice to each expert named (a line a seat) and one to their nations' POCs."""
    by_expert: dict[int, list[str]] = defaultdict(list)
    by_org: dict[int, list[str]] = defaultdict(list)
    for n in notices:
        said = (f"You are no longer on the rapid response team {n.label}, {n.start} to "
                f"{n.end} ({n.skill}).") if n.removed else \
            f"You are on the rapid response team {n.label}, {n.start} to {n.end}, as {n.skill}."
        by_expert[n.expert].append(said)
        expert = pool[n.expert]
        if expert.erased_at is None:
            by_org[expert.organisation_id].append(f"{expert.name}: {said}")
    link = f"\n\n{base_url.rstrip('/')}/rotations" if base_url else ""
    for expert_id, lines in by_expert.items():
        if (email := pool[expert_id].email) and pool[expert_id].erased_at is None:
            notify.enqueue_email(db=db, to=email, subject="crrt: rapid response team duty",
                                 body="\n".join(lines) + link)
    for org_id, addresses in auth.poc_addresses(db=db, org_ids=set(by_org)).items():
        for address in addresses:
            notify.enqueue_email(db=db, to=address,
                                 subject="crrt: your nation's experts on rotation",
                                 body="\n".join(sorted(by_org[org_id])) + link)


# --- publishing ----------------------------------------------------------------------------------

@dataclass
class Publishing:
    """A draft checked and its weekly rosters solved, ready to be written."""

    plan_row: int
    plan_id: uuid.UUID
    starts_on: date
    ends_on: date
    found: Setting
    rotations: list[dict[str, Any]]
    zone: str
    rosters: list[list[duty.Shift]] = field(default_factory=list)


def _overlap(db: Session, first: date, last: date) -> None:
    label = db.scalar(select(Rotation.label).where(Rotation.starts_on <= last,
                                                   Rotation.ends_on >= first))
    if label is not None:
        raise Conflict(f"Published rotation {label} overlaps this plan's horizon.")


def _draft_row(db: Session, actor: Principal, plan_id: uuid.UUID) -> RotationPlan:
    row = drafting.get_plan(db=db, actor=actor, plan_id=plan_id)
    policy.require(actor, Permission.ROTATIONS_PLAN)
    if row.state is not PlanState.DRAFT:
        raise Conflict(f"The plan is {row.state.value}; only a draft can be published.")
    return row


def prepare_publish(db: Session, actor: Principal, plan_id: uuid.UUID) -> Publishing:
    """Check a draft against today's pool and solve its rosters; nothing is written."""
    row = _draft_row(db, actor, plan_id)
    found = drafting.setting(db, actor, drafting.template_of(db, row), row.starts_on,
                             row.periods, row.period_months)
    broken = drafting.named(found, checker.violations(
        found.problem, drafting.stored_plan(found, row.result)))
    if broken:
        raise Conflict("The pool changed since this draft was made; plan again. "
                       + " ".join(broken[:5]), violations=broken[:50])
    last = found.problem.periods[-1].end
    _overlap(db, row.starts_on, last)
    drafted = list(row.result["rotations"])
    zone = row.result["zone"]
    rosters = [roster(date.fromisoformat(r["start"]), date.fromisoformat(r["end"]), zone,
                      (m["expert"] for m in r["members"]), found.experts) for r in drafted]
    return Publishing(row.id, row.public_id, row.starts_on, last, found, drafted, zone, rosters)


def apply_publish(db: Session, actor: Principal, ready: Publishing,
                  base_url: str = "") -> list[Rotation]:
    """Write what :func:`prepare_publish` made, if the draft is still a draft and nothing
    published meanwhile overlaps it."""
    serialise(db, LOCK)
    row = _draft_row(db, actor, ready.plan_id)
    _overlap(db, ready.starts_on, ready.ends_on)
    pool = ready.found.experts
    rotations = []
    for number, drafted in enumerate(ready.rotations):
        rotation = Rotation(plan_id=row.id, number=number, label=drafted["label"],
                            starts_on=date.fromisoformat(drafted["start"]),
                            ends_on=date.fromisoformat(drafted["end"]), zone=ready.zone)
        rotation.members = [RotationMember(
            expert_id=m["expert"], organisation_id=pool[m["expert"]].organisation_id,
            slot=m["slot"], slot_skill=m["slot_skill"], lead=m["lead"])
            for m in drafted["members"]]
        db.add(rotation)
        rotations.append(rotation)
    db.flush()
    for rotation, shifts in zip(rotations, ready.rosters, strict=True):
        db.add_all(_shift_rows(rotation.id, shifts))
    row.state, row.published_at = PlanState.PUBLISHED, clock.now()
    audit.record(db=db, actor=actor, action="rotation_plan.published",
                 object_type="rotation_plan", object_id=row.public_id,
                 changes={"rotations": [str(r.public_id) for r in rotations],
                          "seats": sum(len(r.members) for r in rotations)})
    _tell(db, pool, [Notice(m.expert_id, r.label, r.starts_on, r.ends_on, m.slot_skill)
                     for r in rotations for m in r.members], base_url)
    return rotations


def publish(*, db: Session, actor: Principal, plan_id: uuid.UUID,
            base_url: str = "") -> list[Rotation]:
    """Publish in the caller's session (both steps in one transaction)."""
    return apply_publish(db, actor, prepare_publish(db, actor, plan_id), base_url)


def publish_apart(*, database: Database, actor: Principal, plan_id: uuid.UUID,
                  base_url: str = "") -> list[uuid.UUID]:
    """Publish with the solving outside the write: a reading session, then a short write.
    Returns the new rotations' ids."""
    with database.session(read_only=True) as db:
        ready = prepare_publish(db, actor, plan_id)
    with database.session() as db:
        return [r.public_id for r in apply_publish(db, actor, ready, base_url)]


# --- replacing after a withdrawal ----------------------------------------------------------------

Seat = tuple[int, int, int]  # (period, expert, slot)


@dataclass
class Replacing:
    """A repair solved against the team as it stood, ready to be written."""

    rotation_id: uuid.UUID
    expert: int
    found: Setting
    before: set[Seat]
    removed: list[Assignment]
    added: list[Assignment]
    changes: list[str]
    unfilled: list[str]
    changed_seats: int


def prepare_replace(db: Session, actor: Principal, rotation_id: uuid.UUID,
                    expert_id: uuid.UUID) -> Replacing:
    """Solve the repair that changes the fewest seats; nothing is written. Rotations already
    over stay as they were; experts no longer in the pool leave the seats still to serve."""
    policy.require(actor, Permission.ROTATIONS_PLAN)
    rotation = service.get_rotation(db=db, actor=actor, rotation_id=rotation_id)
    if rotation.ends_on < clock.today():
        raise Conflict(f"Rotation {rotation.label} is over.")
    expert = experts.by_public_id(db=db, expert_id=expert_id)
    if expert is None or not any(m.expert_id == expert.id and m.withdrawn_at is None
                                 for m in rotation.members):
        raise NotFound("That expert is not on this rotation.")
    row = db.get(RotationPlan, rotation.plan_id)
    assert row is not None
    rotations = drafting.rotations_of(db, row)
    over = sum(1 for r in rotations if r.ends_on < clock.today())
    found = drafting.setting(db, actor, drafting.template_of(db, row), row.starts_on,
                             row.periods, row.period_months,
                             seated=drafting.seated_in(rotations), open_from=over)
    before = drafting.standing_plan(found, rotations)
    result = replacement.replace(found.problem, before, period=rotation.number,
                                 expert=expert.id, frozen_before=over)
    old = {(a.period, a.expert, a.slot): a for a in before.assignments}
    new = {(a.period, a.expert, a.slot): a for a in result.plan.assignments}
    return Replacing(
        rotation_id=rotation_id, expert=expert.id, found=found, before=set(old),
        removed=[old[k] for k in sorted(old.keys() - new.keys())],
        added=[new[k] for k in sorted(new.keys() - old.keys())],
        changes=drafting.named(found, list(result.changes)),
        unfilled=drafting.named(found, [u.reason for u in result.plan.unfilled
                                        if u.period == rotation.number]),
        changed_seats=len(old.keys() ^ new.keys()))


def apply_replace(db: Session, actor: Principal, ready: Replacing, reason: str = "",
                  base_url: str = "") -> Rotation:
    """Write a repair, if the plan's teams still stand as it was solved against."""
    serialise(db, LOCK)
    policy.require(actor, Permission.ROTATIONS_PLAN)
    rotation = service.get_rotation(db=db, actor=actor, rotation_id=ready.rotation_id)
    row = db.get(RotationPlan, rotation.plan_id)
    assert row is not None
    rotations = {r.number: r for r in drafting.rotations_of(db, row)}
    standing = {(r.number, m.expert_id, m.slot) for r in rotations.values()
                for m in r.members if m.withdrawn_at is None}
    if standing != ready.before:
        raise Conflict("The team changed while the replacement was being found; try again.")
    now, pool = clock.now(), ready.found.experts
    slots = ready.found.problem.template.slots
    touched: set[int] = set()
    for a in ready.removed:
        member = next(m for m in rotations[a.period].members
                      if m.expert_id == a.expert and m.slot == a.slot and m.withdrawn_at is None)
        member.withdrawn_at = now
        member.reason = reason if (a.period, a.expert) == (rotation.number, ready.expert) \
            else "Changed by the replacement of a withdrawn member."
        touched.add(a.period)
    for a in ready.added:
        rotations[a.period].members.append(RotationMember(
            rotation_id=rotations[a.period].id, expert_id=a.expert,
            organisation_id=pool[a.expert].organisation_id, slot=a.slot,
            slot_skill=slots[a.slot].skill, lead=a.lead))
        touched.add(a.period)
    db.flush()
    gone = {a.expert for a in ready.removed}
    for number in sorted(touched):
        _redo_duty(db, rotations[number], pool, gone, now)
    audit.record(db=db, actor=actor, action="rotation.replaced", object_type="rotation",
                 object_id=rotation.public_id,
                 changes={"withdrawn": str(pool[ready.expert].public_id),
                          "reason_given": bool(reason),
                          "added": [str(pool[a.expert].public_id) for a in ready.added],
                          "changed_seats": ready.changed_seats})
    _tell(db, pool, [Notice(a.expert, rotations[a.period].label, rotations[a.period].starts_on,
                            rotations[a.period].ends_on, slots[a.slot].skill, removed=True)
                     for a in ready.removed]
          + [Notice(a.expert, rotations[a.period].label, rotations[a.period].starts_on,
                    rotations[a.period].ends_on, slots[a.slot].skill) for a in ready.added],
          base_url)
    return rotation


def replace(*, db: Session, actor: Principal, rotation_id: uuid.UUID, expert_id: uuid.UUID,
            reason: str = "", base_url: str = "") -> tuple[Rotation, list[str], list[str]]:
    """Replace in the caller's session; returns the rotation, the changes in words and what
    could not be filled."""
    ready = prepare_replace(db, actor, rotation_id, expert_id)
    return apply_replace(db, actor, ready, reason, base_url), ready.changes, ready.unfilled


def replace_apart(*, database: Database, actor: Principal, rotation_id: uuid.UUID,
                  expert_id: uuid.UUID, reason: str = "",
                  base_url: str = "") -> tuple[list[str], list[str]]:
    """The same with the repair solved outside the write; returns the changes in words and
    what could not be filled."""
    with database.session(read_only=True) as db:
        ready = prepare_replace(db, actor, rotation_id, expert_id)
    with database.session() as db:
        apply_replace(db, actor, ready, reason, base_url)
    return ready.changes, ready.unfilled


def _redo_duty(db: Session, rotation: Rotation, pool: dict[int, Expert], gone: set[int],
               now: datetime) -> None:
    """Weekly duty again from the next hand-over on. The week under way keeps its officers,
    except one who left the team: another member free today takes that role."""
    members = [m.expert_id for m in rotation.members if m.withdrawn_at is None]
    kept = [s for s in rotation.shifts if s.starts_at <= now]
    for s in rotation.shifts:
        if s.starts_at > now:
            db.delete(s)
    for s in kept:
        if s.ends_at > now:
            _stand_in(s, members, pool, gone, now)
    db.flush()
    since = kept[-1].ends_at.astimezone(ZoneInfo(rotation.zone)).date() if kept \
        else rotation.starts_on
    db.expire(rotation, ["shifts"])
    db.add_all(_shift_rows(rotation.id, roster(since, rotation.ends_on, rotation.zone,
                                               members, pool)))


def _stand_in(shift: DutyShift, members: list[int], pool: dict[int, Expert], gone: set[int],
              now: datetime) -> None:
    today = now.date()
    free = [i for i in members if i not in gone and not any(
        u.starts_on <= today <= u.ends_on for u in pool[i].unavailability)]
    if shift.primary_id in gone:
        shift.primary_id = shift.backup_id if shift.backup_id not in gone else None
        shift.backup_id = None
    if shift.backup_id in gone:
        shift.backup_id = None
    for role in ("primary_id", "backup_id"):
        if getattr(shift, role) is None:
            other = shift.backup_id if role == "primary_id" else shift.primary_id
            pick = next((i for i in free if i != other), None)
            setattr(shift, role, pick)
