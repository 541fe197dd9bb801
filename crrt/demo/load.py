"""Load the demo picture through the services, so it is audited and checked like real input.

Idempotent: what exists already (by organisation code, institution name, user or expert email)
is left as it is, so running it twice changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy.orm import Session

from crrt.access.enums import Role
from crrt.access.principal import Principal
from crrt.assistance import service as assistance
from crrt.assistance.enums import Channel
from crrt.assistance.schemas import RequestIn
from crrt.auth import service as auth
from crrt.auth.schemas import UserIn
from crrt.core import clock
from crrt.demo import data
from crrt.experts import service as experts
from crrt.experts.enums import Deployability
from crrt.experts.schemas import ExpertIn, SkillLevel, UnavailabilityIn
from crrt.intel import service as intel
from crrt.intel.schemas import CollectionIn
from crrt.organisations import service as organisations
from crrt.organisations.enums import InstitutionKind, Membership, OrgKind
from crrt.organisations.schemas import (
    ContactIn,
    InstitutionIn,
    OrganisationIn,
    OrganisationPatch,
)
from crrt.rotations import drafting, publishing
from crrt.rotations import service as rotations
from crrt.rotations.schemas import PlanIn, TemplateIn

DEMO = Principal.system("demo")


@dataclass
class Summary:
    organisations: int = 0
    institutions: int = 0
    users: int = 0
    experts: int = 0
    rotations: int = 0
    requests: int = 0
    collections: int = 0

    def __str__(self) -> str:
        added = (f"{self.organisations} organisations, {self.institutions} institutions, "
                 f"{self.users} users, {self.experts} experts, {self.rotations} rotations, "
                 f"{self.requests} requests, {self.collections} intel collections")
        return f"demo data loaded: {added} added" if any(vars(self).values()) \
            else "demo data already present: nothing added"


def is_empty(db: Session) -> bool:
    """Whether the database holds no organisation yet (``make run`` loads the demo then)."""
    return not organisations.all_organisations(db=db, actor=DEMO)


def _organisations(db: Session, summary: Summary) -> None:
    existing = {o.code for o in organisations.all_organisations(db=db, actor=DEMO)}
    earlier: dict[str, list[dict[str, str]]] = {}
    for step in data.MEMBERSHIP_HISTORY:
        earlier.setdefault(step["code"], []).append(step)
    for row in data.ORGANISATIONS:
        if row["code"] in existing:
            continue
        steps = earlier.get(row["code"], [])
        first = steps[0] if steps else row
        organisations.create(db=db, actor=DEMO, data=OrganisationIn(
            code=row["code"], name=row["name"], kind=OrgKind(row["kind"]),
            membership=Membership(first["membership"]) if first["membership"] else None,
            effective_on=date.fromisoformat(first["effective_on"])
            if first.get("effective_on") else None,
            contact=ContactIn.model_validate(data.CONTACTS[row["code"]])))
        for step in [*steps[1:], row] if steps else []:
            organisations.update(db=db, actor=DEMO, code=row["code"], data=OrganisationPatch(
                membership=Membership(step["membership"]) if step["membership"] else None,
                effective_on=date.fromisoformat(step["effective_on"]),
                note=step.get("note", "")))
        for step in (p for p in data.PLANNED_MEMBERSHIP if p["code"] == row["code"]):
            organisations.update(db=db, actor=DEMO, code=row["code"], data=OrganisationPatch(
                membership=Membership(step["membership"]) if step["membership"] else None,
                effective_on=date.fromisoformat(step["effective_on"]), note=step["note"]))
        summary.organisations += 1


def _institutions(db: Session, summary: Summary) -> dict[tuple[str, str], uuid.UUID]:
    ids: dict[tuple[str, str], uuid.UUID] = {}
    for row in data.INSTITUTIONS:
        known = {i.name: i.public_id for i in
                 organisations.list_institutions(db=db, actor=DEMO, code=row["org"])}
        if row["name"] not in known:
            inst = organisations.create_institution(db=db, actor=DEMO, code=row["org"], data=(
                InstitutionIn(name=row["name"], kind=InstitutionKind(row["kind"]))))
            known[row["name"]] = inst.public_id
            summary.institutions += 1
        ids[(row["org"], row["name"])] = known[row["name"]]
    return ids


def _users(db: Session, summary: Summary) -> None:
    for row in data.USERS:
        if auth.find_by_email(db=db, actor=DEMO, email=row["email"]) is None:
            auth.create_user(db=db, actor=DEMO, data=UserIn(
                email=row["email"], name=row["name"], role=Role(row["role"]), org=row["org"],
                password=data.DEMO_PASSWORD))
            summary.users += 1


def _moved(day: str) -> date:
    """A date of the demo's calendar moved to the day it is loaded (see ``DEMO_TODAY``)."""
    return date.fromisoformat(day) + (clock.today() - data.DEMO_TODAY)


def _experts(db: Session, summary: Summary,
             institutions: dict[tuple[str, str], uuid.UUID]) -> None:
    accounts = {u["expert_email"]: u["email"] for u in data.USERS if u["expert_email"]}
    for row in data.EXPERTS:
        if experts.find_by_email(db=db, actor=DEMO, org=row["org"],
                                 email=row["email"]) is not None:
            continue
        deployability = [d for d, on in ((Deployability.REMOTE, row["remote"]),
                                         (Deployability.ON_SITE, row["on_site"])) if on]
        expires = row["clearance_expires_on"]
        expert = experts.nominate(db=db, actor=DEMO, data=ExpertIn(
            org=row["org"],
            institution_id=institutions.get((row["org"], row["institution"] or "")),
            name=row["name"], email=row["email"], phone=row["phone"],
            skills=[SkillLevel(skill=s, level=lvl) for s, lvl in row["skills"].items()],
            languages=row["languages"], clearance=row["clearance"],
            deployability=deployability, time_zone=row["time_zone"],
            messenger=row["messenger"], pgp_fingerprint=row["pgp_fingerprint"],
            clearance_expires_on=_moved(expires) if expires else None,
            user_email=accounts.get(row["email"])))
        if row["last_verified"]:  # a record its nation has not confirmed for over a year
            expert.verified_at = datetime.combine(_moved(row["last_verified"]), time(9),
                                                  tzinfo=UTC)
        for period in row["unavailability"]:
            experts.add_unavailability(db=db, actor=DEMO, expert_id=expert.public_id, data=(
                UnavailabilityIn(starts_on=_moved(period["starts_on"]),
                                 ends_on=_moved(period["ends_on"]),
                                 reason=period["reason"])))
        summary.experts += 1


def load(db: Session) -> Summary:
    """Add whatever of the demo picture is missing; return what was added."""
    summary = Summary()
    _organisations(db, summary)
    institutions = _institutions(db, summary)
    _users(db, summary)
    _experts(db, summary, institutions)
    _rotations(db, summary)
    _requests(db, summary)
    _collections(db, summary)
    return summary


def _collections(db: Session, summary: Summary) -> None:
    """The community's sharing group: TLP:GREEN, every participating nation reads and writes
    (today's lead and participants)."""
    coordinator = _demo_user(db, "coordinator@crrt.example")
    if any(c.title == data.COMMUNITY["title"]
           for c in intel.list_collections(db=db, actor=coordinator)):
        return
    nations = organisations.members_on(db=db, actor=DEMO, day=clock.today())
    intel.create_collection(db=db, actor=coordinator, data=CollectionIn(
        **data.COMMUNITY, members=sorted(o.code for o in nations)))
    summary.collections += 1


def _demo_user(db: Session, email: str) -> Principal:
    user = auth.find_by_email(db=db, actor=DEMO, email=email)
    assert user is not None, f"the demo's users include {email}"
    return auth.principal_of(db, user)


def _requests(db: Session, summary: Summary) -> None:
    """Two requests for assistance: one waiting for triage, one before the Council (the
    request pages' queue, clocks and positions)."""
    coordinator = _demo_user(db, "coordinator@crrt.example")
    if assistance.list_requests(db=db, actor=coordinator, limit=1):
        return
    for row in data.REQUESTS:
        actor = _demo_user(db, row["by"])
        made = assistance.submit(db=db, actor=actor, data=RequestIn.model_validate(row["ask"]),
                                 channel=Channel.WEB)
        if row["council"]:
            assistance.triage(db=db, actor=coordinator, request_id=made.public_id)
        summary.requests += 1


def _rotations(db: Session, summary: Summary) -> None:
    """The standard team template, and a published plan from the current half-year on (two
    teams, their weekly duty): what the rotation pages show."""
    if any(t.name == data.TEMPLATE["name"] for t in rotations.list_templates(db=db,
                                                                           actor=DEMO)):
        return
    template = rotations.create_template(db=db, actor=DEMO,
                                         data=TemplateIn.model_validate(data.TEMPLATE))
    today = clock.today()
    start = date(today.year, 1 if today.month <= 6 else 7, 1)
    plan = drafting.draft_in(db=db, actor=DEMO, data=PlanIn(
        template_id=template.public_id, start=start, periods=2, seconds=5,
        zone="Europe/Vilnius"))
    summary.rotations += len(publishing.publish(db=db, actor=DEMO, plan_id=plan.public_id))


def logins() -> str:
    """The demo accounts, for ``make run`` to print."""
    width = max(len(u["email"]) for u in data.USERS)
    lines = [f"demo logins (password: {data.DEMO_PASSWORD})"]
    lines += [f"  {u['email']:<{width}}  {u['role']:<13} {u['org']}" for u in data.USERS]
    return "\n".join(lines)
