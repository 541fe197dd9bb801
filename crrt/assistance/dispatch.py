"""Dispatch: the activated request's team, the nations' consent, the call-outs and escalation.

On activation a deployment opens with a proposed team (:mod:`crrt.assistance.team`) and each
contributing nation's POCs are asked to confirm or decline their experts. A confirmed expert is
called out at once: by e-mail with a signed link to answer, by a signed webhook to the nation's
endpoints, and in the app. Every notice is written to the outbox in the same transaction as
the change, so nothing goes out for a change that rolled back.

Each call-out has a timer in the database (a task run by ``crrt worker`` when due; on
PostgreSQL several workers share the tasks with ``SKIP LOCKED``). Silence until the call-out is
due escalates it, along a ladder: the next qualified candidate is proposed in the silent
member's place (their nation asked to consent), the team lead is told, and the coordinators
are told when no candidate is left or the lead is the one silent. A decline, by the nation or
the expert, brings the next candidate the same way.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from crrt.experts.models import Expert

from crrt.access import policy
from crrt.access.enums import Role
from crrt.access.policy import Permission
from crrt.access.principal import Principal
from crrt.access.resource import Resource
from crrt.assistance import deployments, service, team
from crrt.assistance.enums import Callout, Consent, Outcome
from crrt.assistance.models import AssistanceRequest, Deployment, DeploymentMember
from crrt.assistance.schemas import AnswerIn, CallOutOut, ConsentIn, DecisionIn
from crrt.audit import service as audit
from crrt.auth import service as auth
from crrt.core import clock
from crrt.core.errors import Conflict, Forbidden, NotFound, Unauthenticated
from crrt.experts import service as experts
from crrt.experts.enums import Skill
from crrt.jobs import service as jobs
from crrt.notify import service as notify
from crrt.notify import webhooks
from crrt.organisations import service as organisations

CALLOUT_TASK = "assistance.callout_due"
PLATFORM = Principal.system("dispatch")
KIND = deployments.KIND


class Links:
    """Where the notices' links point, the signing key, and the time a call-out waits."""

    def __init__(self, *, base: str, secret: str, callout_minutes: int) -> None:
        self.base, self.secret = base.rstrip("/"), secret
        self.wait = timedelta(minutes=callout_minutes)

    def token(self, member: DeploymentMember) -> str:
        """The signed link's token: good for this call-out only (its attempt)."""
        said = f"callout:{member.id}:{member.expert_id}:{member.attempt}".encode()
        return hmac.new(self.secret.encode(), said, hashlib.sha256).hexdigest()

    def answer_url(self, deployment: Deployment, expert: Expert,
                   member: DeploymentMember) -> str:
        return (f"{self.base}/callouts/{deployment.public_id}/{expert.public_id}"
                f"?token={self.token(member)}")


# --- activation --------------------------------------------------------------------------------

def decide(*, db: Session, actor: Principal, request_id: uuid.UUID, data: DecisionIn,
           rule: str, links: Links) -> tuple[AssistanceRequest, Deployment | None]:
    """Record the Council's decision; an activation opens a deployment with its team
    proposed and the contributing nations asked for consent."""
    request = service.decide(db=db, actor=actor, request_id=request_id, data=data, rule=rule)
    if data.outcome is not Outcome.ACTIVATE:
        return request, None
    deployment = deployments.open_for(db, actor, request, data.team_size)
    empty = team.propose(db, deployment, request.services)
    deployments.name_readers(db, deployment)
    audit.record(db=db, actor=actor, action="deployment.proposed", object_type=KIND,
                 object_id=deployment.public_id,
                 changes={"members": len(deployments.members_of(db, deployment)),
                          "unfilled": [s.value for s in empty]})
    if empty:
        _tell_coordinators(db, f"crrt: {request.reference} team short",
                           f"{request.reference}: no qualified, available expert for "
                           f"{', '.join(s.value for s in empty)}.")
    _ask_consent(db, request, deployment, deployments.members_of(db, deployment), links)
    return request, deployment


def _tell_coordinators(db: Session, subject: str, body: str) -> None:
    for address in auth.addresses_of_role(db=db, role=Role.COORDINATOR):
        notify.enqueue_email(db=db, to=address, subject=subject, body=body)


def _ask_consent(db: Session, request: AssistanceRequest, deployment: Deployment,
                 members: list[DeploymentMember], links: Links) -> None:
    """Each nation with members awaiting its consent: its POCs are asked, once per nation."""
    waiting: dict[int, int] = defaultdict(int)
    for m in members:
        if m.active and m.consent is Consent.PENDING:
            waiting[m.organisation_id] += 1
    where = f"{links.base}/deployments/{deployment.public_id}" if links.base else \
        "crrt (Deployments)"
    for org_id, addresses in auth.poc_addresses(db=db, org_ids=list(waiting)).items():
        for address in addresses:
            notify.enqueue_email(
                db=db, to=address, subject=f"crrt: {request.reference} asks for your experts",
                body=f"{request.reference} (severity {request.severity}, "
                     f"{request.mode.value.replace('_', ' ')}) was activated. "
                     f"{waiting[org_id]} of your nation's experts are proposed for the team: "
                     f"confirm or decline each at {where}.")


# --- consent -----------------------------------------------------------------------------------

def _member(db: Session, deployment: Deployment, expert_id: uuid.UUID) -> DeploymentMember:
    expert = experts.by_public_id(db=db, expert_id=expert_id)
    member = None if expert is None else db.scalar(
        select(DeploymentMember).where(DeploymentMember.deployment_id == deployment.id,
                                       DeploymentMember.expert_id == expert.id)
        .with_for_update())
    if member is None:
        raise NotFound("No such member of this deployment.")
    return member


def consent(*, db: Session, actor: Principal, deployment_id: uuid.UUID, data: ConsentIn,
            links: Links) -> DeploymentMember:
    """A nation's POC confirms or declines one of its experts. A confirmed expert is called
    out at once; a declined one is replaced by the next qualified candidate."""
    deployment = deployments.get(db=db, actor=actor, deployment_id=deployment_id,
                                 for_share=True)
    member = _member(db, deployment, data.expert_id)
    org = organisations.by_id(db=db, actor=actor, org_id=member.organisation_id)
    policy.require(actor, Permission.DEPLOYMENTS_CONSENT, org,
                   refusal="Only the expert's own nation's POC gives its consent.")
    if deployment.state not in deployments.OPEN:
        raise Conflict(f"The deployment is {deployment.state}.")
    if not member.active or member.consent is not Consent.PENDING:
        raise Conflict(f"Consent for this expert was given already ({member.consent.value})"
                       if member.active else "This expert is no longer proposed.",
                       consent=member.consent.value)
    request = deployments.request_of(db, deployment)
    member.consent = Consent.CONFIRMED if data.consent else Consent.DECLINED
    member.caveat, member.consent_at = data.caveat, clock.now()
    audit.record(db=db, actor=actor, action="deployment.consent", object_type=KIND,
                 object_id=deployment.public_id,
                 changes={"expert": str(data.expert_id), "org": org.code,
                          "consent": member.consent.value, "caveat_given": bool(data.caveat)})
    if data.consent:
        call_out(db, request, deployment, member, links)
    else:
        member.withdraw(f"declined by {org.code}")
        replace(db, request, deployment, member, links)
    db.flush()
    return member


# --- call-outs ---------------------------------------------------------------------------------

def call_out(db: Session, request: AssistanceRequest, deployment: Deployment,
             member: DeploymentMember, links: Links) -> None:
    """Call a confirmed member out: e-mail with the signed link, the nation's webhooks, the
    app; and the timer that escalates silence."""
    expert = experts.team_cards(db=db, expert_ids=[member.expert_id])[member.expert_id]
    now = clock.now()
    member.callout, member.attempt = Callout.SENT, member.attempt + 1
    member.sent_at, member.due_at = now, now + links.wait
    db.flush()
    url = links.answer_url(deployment, expert, member) if links.base else ""
    due = f"{member.due_at:%Y-%m-%d %H:%M} UTC"
    if expert.email:
        notify.enqueue_email(
            db=db, to=expert.email,
            subject=f"crrt call-out: {request.reference} (severity {request.severity})",
            body=f"You are called out for {request.reference}: "
                 f"{request.mode.value.replace('_', ' ')}"
                 f"{', ' + deployment.location if deployment.location else ''}, as "
                 f"{member.skill.replace('_', ' ')}"
                 f"{' (team lead)' if member.lead else ''}.\n\nAnswer by {due}: "
                 + (f"accept or decline at {url}" if url else "in crrt, under Call-outs")
                 + (f"\n\nYour nation's caveat: {member.caveat}" if member.caveat else ""),
            urgent=True)
    for endpoint in webhooks.list_endpoints(db=db, actor=PLATFORM,
                                            organisation_id=member.organisation_id):
        if endpoint.active:
            notify.enqueue_webhook(db=db, endpoint_public_id=endpoint.public_id,
                                   event="deployment.callout", data={
                                       "deployment_id": str(deployment.public_id),
                                       "reference": request.reference,
                                       "expert_id": str(expert.public_id),
                                       "due_at": clock.iso(member.due_at),
                                       "answer_url": url}, urgent=True)
    jobs.schedule(db=db, name=CALLOUT_TASK, at=member.due_at,
                  payload={"member": member.id, "attempt": member.attempt})
    audit.record(db=db, actor=PLATFORM, action="deployment.callout", object_type=KIND,
                 object_id=deployment.public_id,
                 changes={"expert": str(expert.public_id), "attempt": member.attempt,
                          "due_at": clock.iso(member.due_at)})


def _own(actor: Principal, expert: Expert) -> Resource:
    """The expert's record as the policy sees it: the caller's own when the account is
    linked to it or carries its e-mail address."""
    mine = actor.user_id is not None and (
        expert.user_id == actor.user_id or (expert.email or "").lower() == actor.email.lower())
    return Resource(kind="expert", subject_user_id=actor.user_id if mine else expert.user_id)


def answer(*, db: Session, actor: Principal | None, deployment_id: uuid.UUID,
           expert_id: uuid.UUID, data: AnswerIn, links: Links) -> DeploymentMember:
    """A called-out expert accepts or declines (with a reason): signed in as themself, or
    through the signed link of the call-out, which is good for that call-out only."""
    deployment = db.scalar(select(Deployment).where(Deployment.public_id == deployment_id)
                           .with_for_update(key_share=True))
    expert = experts.by_public_id(db=db, expert_id=expert_id)
    if deployment is None or expert is None:
        raise NotFound("No such call-out.")
    member = db.scalar(select(DeploymentMember).where(
        DeploymentMember.deployment_id == deployment.id,
        DeploymentMember.expert_id == expert.id).with_for_update())
    if member is None:
        raise NotFound("No such call-out.")
    if data.token is not None:
        if not hmac.compare_digest(data.token.encode(), links.token(member).encode()):
            raise Forbidden("This link is not good for this call-out (an older one, or "
                            "altered).")
        who = PLATFORM
    elif actor is None:
        raise Unauthenticated("Sign in, or use the link in your call-out.")
    else:
        policy.require(actor, Permission.CALLOUTS_ANSWER, _own(actor, expert),
                       refusal="Only the called-out expert answers a call-out.")
        who = actor
    if member.callout is not Callout.SENT or not member.active:
        raise Conflict({Callout.ACCEPTED: "You have accepted this call-out already.",
                        Callout.DECLINED: "You have declined this call-out already.",
                        Callout.ESCALATED: "This call-out went unanswered and was passed on "
                                           "to another expert.",
                        }.get(member.callout, "This call-out is not open."),
                       callout=member.callout.value)
    request = deployments.request_of(db, deployment)
    member.answered_at = clock.now()
    member.callout = Callout.ACCEPTED if data.accept else Callout.DECLINED
    member.reason = data.reason
    if not data.accept:
        member.withdraw(data.reason)
    audit.record(db=db, actor=who, action="deployment.answer", object_type=KIND,
                 object_id=deployment.public_id,
                 changes={"expert": str(expert.public_id), "accept": data.accept,
                          "signed_link": data.token is not None,
                          "reason_given": bool(data.reason)})
    if not data.accept:
        replace(db, request, deployment, member, links)
    elif _complete(db, deployment):
        _tell_coordinators(db, f"crrt: {request.reference} team complete",
                           f"{request.reference}: every member of the team has accepted. "
                           "The deployment may start.")
    db.flush()
    return member


def by_link(*, db: Session, deployment_id: uuid.UUID, expert_id: uuid.UUID, token: str,
            links: Links) -> tuple[CallOutOut, bool]:
    """The call-out its signed link opens, shown without signing in, and whether it still
    takes an answer: the link is the credential, so a wrong one learns nothing, not even
    whether the call-out exists."""
    refusal = Forbidden("This link is not good for this call-out (an older one, or altered).")
    deployment = db.scalar(select(Deployment).where(Deployment.public_id == deployment_id))
    expert = experts.by_public_id(db=db, expert_id=expert_id)
    member = None if deployment is None or expert is None else db.scalar(
        select(DeploymentMember).where(DeploymentMember.deployment_id == deployment.id,
                                       DeploymentMember.expert_id == expert.id))
    if deployment is None or member is None or \
            not hmac.compare_digest(token.encode(), links.token(member).encode()):
        raise refusal
    request = deployments.request_of(db, deployment)
    return CallOutOut(deployment_id=deployment_id, expert_id=expert_id,
                      reference=request.reference or "", callout=member.callout,
                      due_at=member.due_at, answered_at=member.answered_at,
                      mode=deployment.mode, location=deployment.location, skill=member.skill,
                      lead=member.lead), answerable(deployment, member)


def answerable(deployment: Deployment, member: DeploymentMember) -> bool:
    """Whether a call-out still takes an answer: sent, its member still on the team, the
    deployment not closed."""
    return member.callout is Callout.SENT and member.active \
        and deployment.state in deployments.OPEN


def _complete(db: Session, deployment: Deployment) -> bool:
    active = [m for m in deployments.members_of(db, deployment) if m.active]
    return bool(active) and all(m.callout is Callout.ACCEPTED for m in active)


# --- replacement and escalation ---------------------------------------------------------------

def replace(db: Session, request: AssistanceRequest, deployment: Deployment,
            gone: DeploymentMember, links: Links) -> DeploymentMember | None:
    """Propose the next qualified candidate for ``gone``'s seat, and ask its nation; the
    team lead hears of it, and the coordinators when nobody is left."""
    new = team.seat(db, deployment, Skill(gone.skill), taken=set(), lead=gone.lead)
    found = new is not None
    if new is not None:
        _ask_consent(db, request, deployment, [new], links)
        deployments.name_readers(db, deployment)
    audit.record(db=db, actor=PLATFORM, action="deployment.replacement", object_type=KIND,
                 object_id=deployment.public_id,
                 changes={"skill": gone.skill, "found": found,
                          "why": gone.callout.value if gone.consent is Consent.CONFIRMED
                          else "consent_declined"})
    what = f"{request.reference}: a {gone.skill.replace('_', ' ')} seat is open again " \
           f"({gone.reason or gone.callout.value})"
    lead = _accepted_lead(db, deployment)
    if lead is not None and lead.id != gone.id and lead.email:
        notify.enqueue_email(db=db, to=lead.email, subject=f"crrt: {request.reference} team",
                             body=what + (": the next candidate is being asked." if found
                                          else ": no qualified candidate is left."))
    if not found or gone.lead:
        _tell_coordinators(db, f"crrt: {request.reference} seat open",
                           what + (": the next candidate is being asked." if found
                                   else ": no qualified candidate is left."))
    return new


def _accepted_lead(db: Session, deployment: Deployment) -> Expert | None:
    for m in deployments.members_of(db, deployment):
        if m.active and m.lead and m.callout is Callout.ACCEPTED:
            return experts.team_cards(db=db, expert_ids=[m.expert_id])[m.expert_id]
    return None


def escalate(db: Session, *, member_id: int, attempt: int, links: Links) -> str:
    """A call-out's timer came due: if it is still unanswered, pass the seat on."""
    member = db.scalar(select(DeploymentMember).where(DeploymentMember.id == member_id)
                       .with_for_update())
    if member is None or member.attempt != attempt or member.callout is not Callout.SENT \
            or not member.active:
        return "answered"
    deployment = db.get(Deployment, member.deployment_id)
    assert deployment is not None
    if deployment.state not in deployments.OPEN:
        return "closed"
    request = deployments.request_of(db, deployment)
    now = clock.now()
    member.callout, member.escalated_at = Callout.ESCALATED, now
    member.withdraw("no answer in time")
    audit.record(db=db, actor=PLATFORM, action="deployment.escalated", object_type=KIND,
                 object_id=deployment.public_id,
                 changes={"member": member.id, "due_at": clock.iso(member.due_at or now),
                          "late_seconds": round(_late(member, now), 3)})
    replace(db, request, deployment, member, links)
    db.flush()
    return "escalated"


def _late(member: DeploymentMember, now: datetime) -> float:
    return (now - clock.as_utc(member.due_at)).total_seconds() if member.due_at else 0.0


def callouts_of(*, db: Session, actor: Principal) -> list[tuple[Deployment, DeploymentMember,
                                                                 AssistanceRequest]]:
    """The caller's call-outs, in the app: open ones first, then the answered."""
    policy.require_some(actor, Permission.CALLOUTS_ANSWER)
    own = experts.ids_of_person(db=db, user_id=actor.user_id, email=actor.email)
    rows = db.execute(select(Deployment, DeploymentMember, AssistanceRequest)
                      .join(DeploymentMember, DeploymentMember.deployment_id == Deployment.id)
                      .join(AssistanceRequest, AssistanceRequest.id == Deployment.request_id)
                      .where(DeploymentMember.expert_id.in_(own),
                             DeploymentMember.callout != Callout.PENDING.value)
                      .order_by((DeploymentMember.callout == Callout.SENT.value).desc(),
                                DeploymentMember.sent_at.desc()).limit(100)).all()
    return [(d, m, r) for d, m, r in rows]

