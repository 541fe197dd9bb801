"""Deployments: reading one, its status, where and when, the mission arrangement, the report.

A deployment moves planned, deploying (the team on its way: the request's response clock is
met), deployed, completed; or cancelled from any open state, with a reason (the request then
ends "activated, not deployed"). Each move is the coordination cell's, audited. An on-site or
hybrid deployment cannot start before its mission arrangement is attached, nor without a
member who accepted the call-out. Closing asks for the final report to the requester, due a
month later and flagged when late.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from crrt.access import policy, teams
from crrt.access.enums import Role, Tlp
from crrt.access.marking import name_recipients
from crrt.access.policy import Permission
from crrt.access.principal import Principal
from crrt.assistance.enums import Callout, Clock, DeploymentState, Mode
from crrt.assistance.models import AssistanceRequest, Deployment, DeploymentMember
from crrt.assistance.schemas import (
    DeploymentOut,
    DeploymentPatch,
    MemberOut,
    MissionArrangement,
    ReportIn,
    StatusIn,
)
from crrt.audit import service as audit
from crrt.auth import service as auth
from crrt.core import clock
from crrt.core.errors import Conflict, Invalid, NotFound
from crrt.experts import service as experts
from crrt.notify import service as notify
from crrt.organisations import service as organisations
from crrt.workflow.machine import Machine, transition

KIND = "deployment"
REPORT_DAYS = 31  # the final report is due within a month of closing
S = DeploymentState
OPEN = (S.PLANNED.value, S.DEPLOYING.value, S.DEPLOYED.value)
MANAGE = Permission.DEPLOYMENTS_MANAGE
READER = Principal.system("deployments")
DEPLOYMENT = Machine("deployment", states=[s.value for s in S], transitions=[
    transition("start", sources=[S.PLANNED.value], targets=[S.DEPLOYING.value],
               permission=MANAGE),
    transition("arrive", sources=[S.DEPLOYING.value], targets=[S.DEPLOYED.value],
               permission=MANAGE),
    transition("complete", sources=[S.DEPLOYED.value], targets=[S.COMPLETED.value],
               permission=MANAGE),
    transition("cancel", sources=list(OPEN), targets=[S.CANCELLED.value], permission=MANAGE),
])


def team_key(public_id: uuid.UUID) -> str:
    return f"deployment:{public_id}"


@cache
def _teams_statement() -> Select[uuid.UUID]:
    """The deployments a person is called out on (:func:`experts.person_records`' parameters),
    built once: it runs on every request."""
    return select(Deployment.public_id).join(
        DeploymentMember, DeploymentMember.deployment_id == Deployment.id).where(
        DeploymentMember.expert_id.in_(experts.person_records()),
        DeploymentMember.active.is_(True),
        DeploymentMember.callout.in_([Callout.SENT.value, Callout.ACCEPTED.value]))


@teams.provider
def _deployments_of(db: Session, user_id: int, email: str) -> list[str]:
    """The deployments a user is called out on: their expert record is linked to the account,
    or carries the account's e-mail address. One query, without the ORM's loading."""
    rows = db.connection().execute(_teams_statement(),
                                   experts.person_of(user_id=user_id, email=email))
    return [team_key(public_id) for public_id in rows.scalars()]


def name_readers(db: Session, deployment: Deployment) -> None:
    """Who the marking lets in: the Council's and the contributing nations (AMBER); on a RED
    one, the coordinators, the person who asked, the contributing nations' POCs and the team,
    by name."""
    members = list(db.scalars(select(DeploymentMember).where(
        DeploymentMember.deployment_id == deployment.id)))
    nations = {m.organisation_id for m in members}
    if deployment.tlp is not Tlp.RED:  # the Council's nations, as on the request
        council = organisations.member_ids_on(db=db, actor=READER, day=clock.today())
        name_recipients(db, deployment, organisations=nations | set(council))
        return
    request = db.get(AssistanceRequest, deployment.request_id)
    people = set(auth.user_ids_of_role(db=db, role=Role.COORDINATOR))
    if request is not None and request.submitted_by is not None:
        people.add(request.submitted_by)
    people |= set(auth.poc_user_ids(db=db, org_ids=nations))
    people |= {e.user_id for e in experts.team_cards(
        db=db, expert_ids=[m.expert_id for m in members if m.active]).values()
        if e.user_id is not None}
    name_recipients(db, deployment, users=people)


def open_for(db: Session, actor: Principal, request: AssistanceRequest,
             team_size: int) -> Deployment:
    """The deployment an activation opens, planned, in the request's mode and place."""
    deployment = Deployment(
        request_id=request.id, organisation_id=request.organisation_id,
        tlp=Tlp.RED if request.tlp is Tlp.RED else Tlp.AMBER, team_size=team_size,
        mode=request.mode, location=request.location, sharing_key={},
        public_id=uuid.uuid4())
    deployment.team_key = team_key(deployment.public_id)
    DEPLOYMENT.start(db=db, record=deployment, state=S.PLANNED.value, object_type=KIND,
                     object_id=deployment.public_id)
    db.add(deployment)
    db.flush()
    audit.record(db=db, actor=actor, action="deployment.opened", object_type=KIND,
                 object_id=deployment.public_id,
                 changes={"request": str(request.public_id), "reference": request.reference,
                          "mode": request.mode.value, "team_size": team_size})
    return deployment


# --- reading -----------------------------------------------------------------------------------

def _by_id(db: Session, deployment_id: uuid.UUID) -> Deployment | None:
    return db.scalar(select(Deployment).where(Deployment.public_id == deployment_id))


def get(*, db: Session, actor: Principal, deployment_id: uuid.UUID,
        for_update: bool = False, for_share: bool = False) -> Deployment:
    """One deployment; out of the caller's reach it does not exist (404). ``for_update``
    locks it against every other change; ``for_share`` only against a change of its own row
    (its state), so changes of different members go side by side."""
    policy.require_some(actor, Permission.DEPLOYMENTS_READ)
    stmt = select(Deployment).where(Deployment.public_id == deployment_id)
    if for_update or for_share:
        # NO KEY UPDATE: a member added meanwhile (its key share on the deployment, by the
        # foreign key) does not wait for it, nor deadlock with it
        stmt = stmt.with_for_update(read=not for_update, key_share=for_update)
    deployment = db.scalar(stmt)
    if deployment is None:
        raise NotFound("No such deployment.")
    policy.require_visible(actor, Permission.DEPLOYMENTS_READ, deployment,
                           missing="No such deployment.")
    return deployment


def list_deployments(*, db: Session, actor: Principal, open_only: bool = False,
                     limit: int = 50) -> list[Deployment]:
    policy.require_some(actor, Permission.DEPLOYMENTS_READ)
    stmt = select(Deployment).where(policy.scope(actor, Permission.DEPLOYMENTS_READ,
                                                 Deployment))
    if open_only:
        stmt = stmt.where(Deployment.state.in_(OPEN))
    return list(db.scalars(stmt.order_by(Deployment.id.desc()).limit(max(1, min(limit, 200)))))


def of_request(db: Session, request: AssistanceRequest) -> Deployment | None:
    return db.scalar(select(Deployment).where(Deployment.request_id == request.id))


def members_of(db: Session, deployment: Deployment) -> list[DeploymentMember]:
    return list(db.scalars(select(DeploymentMember).where(
        DeploymentMember.deployment_id == deployment.id).order_by(
        DeploymentMember.active.desc(), DeploymentMember.lead.desc(), DeploymentMember.id)))


def report_late(deployment: Deployment, today: date | None = None) -> bool:
    return deployment.report_due_on is not None and deployment.report_at is None \
        and (today or clock.today()) > deployment.report_due_on


def _sees_names(actor: Principal, deployment: Deployment, org_id: int) -> bool:
    """The team's names are for the coordination cell, the member's own POC and the team."""
    if actor.role in (Role.ADMIN, Role.COORDINATOR):
        return True
    if actor.role is Role.NATIONAL_POC:
        return actor.org_id == org_id
    return deployment.team_key in actor.teams


def deployment_out(db: Session, actor: Principal, deployment: Deployment) -> DeploymentOut:
    request = db.get(AssistanceRequest, deployment.request_id)
    assert request is not None
    return DeploymentOut(
        id=deployment.public_id, request_id=request.public_id,
        reference=request.reference or "", status=S(deployment.state), mode=deployment.mode,
        location=deployment.location, starts_at=deployment.starts_at,
        ends_at=deployment.ends_at, logistics=deployment.logistics,
        team_size=deployment.team_size, arrangement=deployment.arrangement,
        sharing=deployment.sharing,
        members=members_out(db, actor, deployment, members_of(db, deployment)),
        report_due_on=deployment.report_due_on, report_late=report_late(deployment),
        report_at=deployment.report_at, reason=deployment.reason,
        created_at=deployment.created_at)


def members_out(db: Session, actor: Principal, deployment: Deployment,
                members: list[DeploymentMember]) -> list[MemberOut]:
    """Members as ``actor`` may see them (names to the cell, their own POC and the team);
    one member alone answers a consent without reading the whole team again."""
    cards = experts.team_cards(db=db, expert_ids=[m.expert_id for m in members])
    codes = {o: organisations.by_id(db=db, actor=actor, org_id=o).code
             for o in {m.organisation_id for m in members}}
    return [MemberOut(
        expert_id=cards[m.expert_id].public_id,
        name=cards[m.expert_id].name
        if _sees_names(actor, deployment, m.organisation_id) else None,
        org=codes[m.organisation_id], skill=m.skill, lead=m.lead, source=m.source,
        active=m.active, consent=m.consent, caveat=m.caveat, callout=m.callout,
        due_at=m.due_at, answered_at=m.answered_at, reason=m.reason) for m in members]


# --- the coordination cell's changes ----------------------------------------------------------

def _request_of(db: Session, deployment: Deployment) -> AssistanceRequest:
    request = db.get(AssistanceRequest, deployment.request_id)
    assert request is not None
    return request


def move(*, db: Session, actor: Principal, deployment_id: uuid.UUID,
         data: StatusIn) -> Deployment:
    """Move a deployment to ``data.status``, if the table, the role and its conditions allow."""
    deployment = get(db=db, actor=actor, deployment_id=deployment_id, for_update=True)
    target = data.status
    request = _request_of(db, deployment)
    if target is S.DEPLOYING:
        if deployment.mode is not Mode.REMOTE and not deployment.arrangement:
            raise Conflict("An on-site deployment starts only once its mission arrangement "
                           "(legal basis, scope, liability, data handling, cost terms) is "
                           "attached.")
        if not any(m.active and m.callout is Callout.ACCEPTED
                   for m in members_of(db, deployment)):
            raise Conflict("No member has accepted the call-out yet: a deployment starts "
                           "with at least one.")
    if target is S.CANCELLED and not data.reason.strip():
        raise Invalid.field("reason", "Say why the deployment is cancelled.")
    DEPLOYMENT.move(db=db, actor=actor, record=deployment, target=target.value,
                    object_type=KIND, object_id=deployment.public_id,
                    changes={"reason_given": bool(data.reason.strip())})
    now = clock.now()
    if target in (S.COMPLETED, S.CANCELLED):  # its experts may be proposed again
        db.execute(sql_update(DeploymentMember)
                   .where(DeploymentMember.deployment_id == deployment.id)
                   .values(engaged=False).execution_options(synchronize_session="fetch"))
    if target is S.DEPLOYING:
        deployment.starts_at = deployment.starts_at or now
        if not request.met.get(Clock.RESPONSE.value):
            request.met = {**request.met, Clock.RESPONSE.value: clock.iso(now)}
    elif target is S.COMPLETED:
        deployment.ends_at = deployment.ends_at or now
        deployment.report_due_on = now.date() + timedelta(days=REPORT_DAYS)
        notify.enqueue_email(
            db=db, to=request.contact_email, subject=f"crrt: {request.reference} completed",
            body=f"The deployment answering {request.reference} has completed. The team's "
                 f"final report will reach you by {deployment.report_due_on:%Y-%m-%d}.")
    elif target is S.CANCELLED:
        deployment.reason = data.reason
        _release(db, deployment)
    db.flush()
    return deployment


def _release(db: Session, deployment: Deployment) -> None:
    """A cancelled deployment's call-outs still waiting are withdrawn (their timers then find
    nothing to escalate); the team is told."""
    request = _request_of(db, deployment)
    members = members_of(db, deployment)
    cards = experts.team_cards(db=db, expert_ids=[m.expert_id for m in members])
    for m in members:
        if m.active and m.callout in (Callout.PENDING, Callout.SENT, Callout.ACCEPTED):
            expert = cards.get(m.expert_id)
            if m.callout is not Callout.PENDING and expert is not None and expert.email:
                notify.enqueue_email(db=db, to=expert.email,
                                     subject=f"crrt: {request.reference} cancelled",
                                     body=f"The deployment answering {request.reference} is "
                                          "cancelled: you are released.")
            m.withdraw("the deployment was cancelled")


def _managed(db: Session, actor: Principal, deployment_id: uuid.UUID, states: tuple[str, ...],
             otherwise: str) -> Deployment:
    """The deployment, locked, for the coordination cell's change allowed in ``states``."""
    deployment = get(db=db, actor=actor, deployment_id=deployment_id, for_update=True)
    policy.require(actor, MANAGE)
    if deployment.state not in states:
        raise Conflict(f"The deployment is {deployment.state}: {otherwise}")
    return deployment


def update(*, db: Session, actor: Principal, deployment_id: uuid.UUID,
           data: DeploymentPatch) -> Deployment:
    """Where and when the team goes, and its travel and logistics notes."""
    deployment = _managed(db, actor, deployment_id, OPEN, "it changes no more.")
    before: dict[str, Any] = {}
    for name in ("location", "starts_at", "ends_at", "logistics"):
        value = getattr(data, name)
        if value is not None and value != getattr(deployment, name):
            before[name] = name != "logistics"
            setattr(deployment, name, value)
    if deployment.starts_at and deployment.ends_at and deployment.ends_at < deployment.starts_at:
        raise Invalid.field("ends_at", "A deployment ends after it starts.")
    db.flush()
    audit.record(db=db, actor=actor, action="deployment.updated", object_type=KIND,
                 object_id=deployment.public_id, changes={"changed": sorted(before)})
    return deployment


def attach_arrangement(*, db: Session, actor: Principal, deployment_id: uuid.UUID,
                       data: MissionArrangement) -> Deployment:
    """Attach (or replace, before the team starts) the mission arrangement."""
    deployment = _managed(db, actor, deployment_id, (S.PLANNED.value,),
                          "its arrangement was settled before it started.")
    deployment.arrangement = {**data.model_dump(), "attached_at": clock.iso(clock.now())}
    db.flush()
    audit.record(db=db, actor=actor, action="deployment.arrangement", object_type=KIND,
                 object_id=deployment.public_id, changes={"legal_basis": data.legal_basis})
    return deployment


def file_report(*, db: Session, actor: Principal, deployment_id: uuid.UUID,
                data: ReportIn) -> Deployment:
    """The final report to the requester, after closing; it goes to the requester's contact."""
    deployment = _managed(db, actor, deployment_id, (S.COMPLETED.value,),
                          "the final report follows its completion.")
    if deployment.report_at is not None:
        raise Conflict("The final report has been filed already.")
    request = _request_of(db, deployment)
    deployment.report, deployment.report_at = data.summary, clock.now()
    notify.enqueue_email(db=db, to=request.contact_email,
                         subject=f"crrt: {request.reference} final report",
                         body=data.summary)
    db.flush()
    audit.record(db=db, actor=actor, action="deployment.report", object_type=KIND,
                 object_id=deployment.public_id,
                 changes={"late": report_late(deployment, deployment.report_at.date())})
    return deployment


def request_of(db: Session, deployment: Deployment) -> AssistanceRequest:
    return _request_of(db, deployment)

