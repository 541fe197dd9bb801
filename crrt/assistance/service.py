"""Requests for assistance: who may ask, the intake, the SLA clocks and their alerts.

A request is received with three clocks counted from its receipt: triage and decision, whose
targets depend on its severity, and the response (a team on its way), 72 hours by default.
A warning before each target and its breach reach the coordinators through the outbox, as
deadlines of the request's state machine run by the workers. Whether an organisation may ask
at all is decided here, on the day it asks: a participant, another EU member state, an EU
institution or CSDP mission, or a partner with an arrangement in force.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from crrt.access import policy
from crrt.access.enums import Role, Tlp
from crrt.access.marking import name_recipients
from crrt.access.policy import Permission
from crrt.access.principal import Principal
from crrt.assistance.enums import (
    Category,
    Channel,
    Clock,
    DeploymentState,
    Outcome,
    Position,
    RequestState,
)
from crrt.assistance.models import Arrangement, AssistanceRequest, CouncilPosition, Deployment
from crrt.assistance.schemas import (
    ArrangementIn,
    ArrangementOut,
    ClockOut,
    DecisionIn,
    DecisionOut,
    OverrideIn,
    OverrideOut,
    PositionIn,
    PositionOut,
    RequestIn,
    RequestOut,
    TimelineEvent,
    TimelineOut,
)
from crrt.audit import service as audit
from crrt.auth import service as auth
from crrt.core import clock
from crrt.core.errors import Conflict, Forbidden, Invalid, NotFound
from crrt.experts import service as experts
from crrt.notify import service as notify
from crrt.organisations import service as organisations
from crrt.organisations.enums import Membership, OrgKind
from crrt.rotations import service as rotations
from crrt.workflow.machine import Deadline, Machine, transition

if TYPE_CHECKING:
    from crrt.organisations.models import Organisation

# The EU's member states (ISO 3166-1 alpha-2): a nation outside the project that is one may
# still ask; any other asks as a partner, under an arrangement.
EU_MEMBER_STATES = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE",
    "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"})
# Hours from receipt to triage and to the Council's decision, by severity (4 the gravest);
# the response target (a team on its way) is the same for all: RESPONSE_HOURS, configurable.
TRIAGE_HOURS = {4: 1, 3: 2, 2: 4, 1: 8, 0: 24}
DECISION_HOURS = {4: 12, 3: 24, 2: 36, 1: 48, 0: 48}
RESPONSE_HOURS = 72
WARN_SHARE = 0.2                    # warn when a fifth of a clock's time is left ...
WARN_AT_LEAST = timedelta(minutes=30)  # ... and never later than half an hour before
KIND = "assistance_request"


# --- the clocks --------------------------------------------------------------------------------

def _due(request: AssistanceRequest, which: Clock) -> datetime:
    return {Clock.TRIAGE: request.triage_due_at, Clock.DECISION: request.decision_due_at,
            Clock.RESPONSE: request.response_due_at}[which]


def warn_at(request: AssistanceRequest, which: Clock) -> datetime:
    due = _due(request, which)
    lead = max((due - request.received_at) * WARN_SHARE, WARN_AT_LEAST)
    return max(due - lead, request.received_at)


STOPPED = (RequestState.WITHDRAWN.value, RequestState.DECLINED.value)


def clocks_of(request: AssistanceRequest, now: datetime | None = None) -> list[ClockOut]:
    """Each clock as it stands at ``now``; a withdrawn or declined request's clocks stop."""
    now = now or clock.now()
    out = []
    for which in Clock:
        due = clock.as_utc(_due(request, which))
        met = request.met.get(which.value)
        met_at = datetime.fromisoformat(met) if met else None
        if met_at is not None:
            state = "met" if met_at <= due else "met_late"
            left = int((due - met_at).total_seconds())
        elif request.state in STOPPED:
            state, left = "stopped", int((due - clock.as_utc(request.state_since))
                                         .total_seconds())
        else:
            left = int((due - now).total_seconds())
            state = "breached" if left < 0 else "due_soon" \
                if now >= clock.as_utc(warn_at(request, which)) else "running"
        out.append(ClockOut(name=which, due_at=due, met_at=met_at, state=state,
                            seconds_left=left))
    return out


def _after(which: Clock, warning: bool) -> Any:
    def after(request: AssistanceRequest) -> timedelta:
        moment = warn_at(request, which) if warning else _due(request, which)
        return clock.as_utc(moment) - clock.as_utc(request.state_since)
    return after


def _load(db: Session, key: str) -> AssistanceRequest | None:
    return db.scalar(select(AssistanceRequest).where(
        AssistanceRequest.public_id == uuid.UUID(key)))


# Each clock still running in a state has its warning and its breach queued there.
RUNNING = {RequestState.SUBMITTED: tuple(Clock),
           RequestState.COUNCIL: (Clock.DECISION, Clock.RESPONSE),
           RequestState.ACTIVATED: (Clock.RESPONSE,)}
REQUEST = Machine(
    "request", states=[s.value for s in RequestState],
    transitions=[
        transition("triage", sources=[RequestState.SUBMITTED.value],
                   targets=[RequestState.COUNCIL.value],
                   permission=Permission.REQUESTS_DECIDE),
        transition("activate", sources=[RequestState.COUNCIL.value],
                   targets=[RequestState.ACTIVATED.value],
                   permission=Permission.REQUESTS_DECIDE),
        transition("decline", sources=[RequestState.SUBMITTED.value, RequestState.COUNCIL.value],
                   targets=[RequestState.DECLINED.value],
                   permission=Permission.REQUESTS_DECIDE),
        transition("withdraw", sources=[RequestState.SUBMITTED.value,
                                        RequestState.COUNCIL.value],
                   targets=[RequestState.WITHDRAWN.value],
                   permission=Permission.REQUESTS_SUBMIT),
    ],
    deadlines=[Deadline(state.value, _after(which, warning),
                        f"{which.value}_{'warning' if warning else 'breach'}")
               for state, clocks in RUNNING.items() for which in clocks
               for warning in (True, False)],
    loader=_load)


@REQUEST.on_expiry
def _alert(db: Session, record: Any, deadline: Deadline) -> None:
    """A clock nearly or already out: every active coordinator is told."""
    request: AssistanceRequest = record
    which, kind = deadline.name.rsplit("_", 1)
    alerts = dict(request.met.get("alerts", {}))
    if request.met.get(which) or deadline.name in alerts:
        return  # met, or told already (a clock runs on through several states)
    alerts[deadline.name] = clock.iso(clock.now())
    request.met = {**request.met, "alerts": alerts}
    due = clock.as_utc(_due(request, Clock(which)))
    said = (f"{request.reference}: the {which} target is due at {due:%Y-%m-%d %H:%M} UTC."
            if kind == "warning" else
            f"{request.reference}: the {which} target was due at {due:%Y-%m-%d %H:%M} UTC and "
            "is breached.")
    _tell_coordinators(db, f"crrt: {request.reference} {which} "
                           f"{'due soon' if kind == 'warning' else 'breached'}", said)


def on_receipt(db: Session) -> list[str]:
    """Whom a new request alerts: the coordinators of the lead nation and of the nation
    leading the rotation on duty; every coordinator when neither has one."""
    reader = policy_reader()
    nations = {o.id for o in organisations.members_on(
        db=db, actor=reader, day=clock.today(), memberships=(Membership.LEAD,))}
    rotation = rotations.current(db=db, actor=reader)
    if rotation is not None:
        leads = [e for e, lead in rotations.seated(db=db, rotation=rotation).items() if lead]
        nations |= {e.organisation_id for e in experts.team_cards(db=db, expert_ids=leads)
                    .values()}
    return auth.addresses_of_role(db=db, role=Role.COORDINATOR, org_ids=nations) \
        or auth.addresses_of_role(db=db, role=Role.COORDINATOR)


def _tell_coordinators(db: Session, subject: str, body: str) -> None:
    for address in auth.addresses_of_role(db=db, role=Role.COORDINATOR):
        notify.enqueue_email(db=db, to=address, subject=subject, body=body)


# --- who may ask -------------------------------------------------------------------------------

def arrangement_in_force(db: Session, org_id: int, day: date) -> Arrangement | None:
    return db.scalar(select(Arrangement).where(
        Arrangement.organisation_id == org_id, Arrangement.signed_on <= day,
        (Arrangement.expires_on.is_(None)) | (Arrangement.expires_on >= day))
        .order_by(Arrangement.signed_on.desc()).limit(1))


def category_of(db: Session, org: Organisation, day: date, *, csdp: bool) -> Category:
    """How ``org`` may ask on ``day``, or a refusal that says why it may not."""
    if org.kind is OrgKind.NATION:
        if org.membership_on(day) in (Membership.LEAD, Membership.PARTICIPANT):
            return Category.PARTICIPANT
        if org.code in EU_MEMBER_STATES:
            return Category.MEMBER_STATE
    elif org.kind is OrgKind.EU_INSTITUTION:
        return Category.CSDP_MISSION if csdp else Category.EU_INSTITUTION
    if arrangement_in_force(db, org.id, day) is not None:
        return Category.PARTNER
    raise Forbidden(f"{org.name} has no arrangement with the project in force: a partner asks "
                    "under an arrangement on file with the coordination cell.")


# --- intake ------------------------------------------------------------------------------------

def _priority(request: AssistanceRequest) -> int:
    """Concurrent requests, ranked: severity first, then an essential entity, spill-over
    across borders, and a requester that could not mitigate on its own."""
    return (request.severity * 100 + 30 * request.essential_entity
            + 20 * request.cross_border + 10 * (not request.mitigation))


def submit(*, db: Session, actor: Principal, data: RequestIn, channel: Channel,
           response_hours: int = RESPONSE_HOURS) -> AssistanceRequest:
    """Receive a request: checked for eligibility, its clocks started, the coordinators told.

    A requester asks for its own organisation; a coordinator enters a request received by
    phone or e-mail, naming the organisation and the channel.
    """
    if data.org is None:
        if actor.org_code is None:
            raise Invalid.field("org", "Name the requesting organisation.")
        org = organisations.get(db=db, actor=actor, code=actor.org_code)
    else:
        org = organisations.get(db=db, actor=actor, code=data.org, field="org")
    policy.require(actor, Permission.REQUESTS_SUBMIT, org)
    if actor.role is Role.COORDINATOR:
        if data.channel is None:
            raise Invalid.field("channel", "Say how the request was received (phone, email).")
        channel = data.channel
    now = clock.now()
    category = category_of(db, org, now.date(), csdp=data.csdp_mission)
    request = AssistanceRequest(
        organisation_id=org.id, category=category, channel=channel,
        submitted_by=actor.user_id, contact_name=data.contact_name,
        contact_email=str(data.contact_email), contact_phone=data.contact_phone,
        affected_entity=data.affected_entity, sector=data.sector,
        essential_entity=data.essential_entity, description=data.description,
        severity=data.severity, services=[s.value for s in data.services], mode=data.mode,
        location=data.location, mitigation=data.mitigation,
        other_support=[o.value for o in data.other_support], cross_border=data.cross_border,
        tlp=data.tlp, received_at=now,
        triage_due_at=now + timedelta(hours=TRIAGE_HOURS[data.severity]),
        decision_due_at=now + timedelta(hours=DECISION_HOURS[data.severity]),
        response_due_at=now + timedelta(hours=response_hours), met={})
    request.state, request.state_since = RequestState.SUBMITTED.value, now
    db.add(request)
    db.flush()
    request.reference = f"RFA-{now:%Y}-{request.id:05d}"
    REQUEST.start(db=db, record=request, state=RequestState.SUBMITTED.value, object_type=KIND,
                  object_id=request.public_id)
    _name_readers(db, request)
    audit.record(db=db, actor=actor, action="request.submitted", object_type=KIND,
                 object_id=request.public_id, changes={
                     "reference": request.reference, "org": org.code,
                     "category": category.value, "channel": channel.value,
                     "severity": data.severity, "services": request.services,
                     "mode": data.mode.value, "tlp": data.tlp.value,
                     "contact": "(personal data)"})
    body = (f"{request.reference} from {org.name} ({category.value}), severity "
            f"{data.severity}, {data.tlp.label}. Response due "
            f"{request.response_due_at:%Y-%m-%d %H:%M} UTC.")
    for address in on_receipt(db):
        notify.enqueue_email(db=db, to=address, subject=f"crrt: new request "
                             f"{request.reference} (severity {data.severity})", body=body)
    return request


def _name_readers(db: Session, request: AssistanceRequest, *, council: bool = False) -> None:
    """Who the marking lets in beyond the requester and the coordinators: on an AMBER request
    the participating nations, whose POCs take part in the Council; on a RED one, only the
    person who asked and the coordinators, by name, and once it is before the Council
    (``council``), the Council's POCs by name too: they cannot decide on what they cannot
    read."""
    if request.tlp is Tlp.AMBER:
        members = organisations.members_on(db=db, actor=policy_reader(), day=clock.today())
        name_recipients(db, request, organisations=[o.id for o in members])
    elif request.tlp is Tlp.RED:
        people = auth.user_ids_of_role(db=db, role=Role.COORDINATOR)
        if request.submitted_by is not None:
            people.append(request.submitted_by)
        if council:
            people += auth.poc_user_ids(db=db, org_ids=[
                o.id for o in council_members(db, clock.today())])
        name_recipients(db, request, users=people)


def policy_reader() -> Principal:
    return Principal.system("requests")


# --- reading -----------------------------------------------------------------------------------

def _by_id(db: Session, request_id: uuid.UUID) -> AssistanceRequest | None:
    return db.scalar(select(AssistanceRequest).where(AssistanceRequest.public_id == request_id))


def get(*, db: Session, actor: Principal, request_id: uuid.UUID) -> AssistanceRequest:
    """One request; out of the caller's reach it does not exist (404)."""
    policy.require_some(actor, Permission.REQUESTS_READ)
    request = _by_id(db, request_id)
    if request is None:
        raise NotFound("No such request.")
    policy.require_visible(actor, Permission.REQUESTS_READ, request, missing="No such request.")
    return request


def list_requests(*, db: Session, actor: Principal, open_only: bool = False,
                  limit: int = 50) -> list[AssistanceRequest]:
    """The requests the caller may read: the most urgent first (priority, then time left)."""
    policy.require_some(actor, Permission.REQUESTS_READ)
    stmt = select(AssistanceRequest).where(
        policy.scope(actor, Permission.REQUESTS_READ, AssistanceRequest))
    if open_only:
        stmt = stmt.where(AssistanceRequest.state == RequestState.SUBMITTED.value)
    # the coordinator's override, else the computed rank (its terms weighed as _priority
    # weighs them), then the time left
    r = AssistanceRequest
    computed = (r.severity * 100 + case((r.essential_entity.is_(True), 30), else_=0)
                + case((r.cross_border.is_(True), 20), else_=0)
                + case((r.mitigation == "", 10), else_=0))
    return list(db.scalars(stmt.order_by(
        func.coalesce(r.priority_override, computed).desc(), r.response_due_at, r.id)
        .limit(max(1, min(limit, 200)))))


def request_out(db: Session, actor: Principal, request: AssistanceRequest) -> RequestOut:
    org = organisations.by_id(db=db, actor=actor, org_id=request.organisation_id)
    return RequestOut(
        id=request.public_id, reference=request.reference or "", status=RequestState(
            request.state), org=org.code, org_name=org.name, category=request.category,
        channel=request.channel, contact_name=request.contact_name,
        contact_email=request.contact_email, contact_phone=request.contact_phone,
        affected_entity=request.affected_entity, sector=request.sector,
        essential_entity=request.essential_entity, description=request.description,
        severity=request.severity, services=request.services, mode=request.mode,
        location=request.location, mitigation=request.mitigation,
        other_support=request.other_support, cross_border=request.cross_border,
        tlp=request.tlp, received_at=request.received_at,
        response_due_at=request.response_due_at, clocks=clocks_of(request),
        decision=decision_of(request), computed_priority=_priority(request),
        priority=_priority(request) if request.priority_override is None
        else request.priority_override,
        override=None if request.priority_override is None else OverrideOut(
            priority=request.priority_override, rationale=request.priority_rationale),
        **_deployment_of(db, request))


def _deployment_of(db: Session, request: AssistanceRequest) -> dict[str, Any]:
    """The deployment answering the request, as its answer names it."""
    row = db.execute(select(Deployment.public_id, Deployment.state, Deployment.reason).where(
        Deployment.request_id == request.id)).first()
    if row is None:
        return {}
    cancelled = row.state == DeploymentState.CANCELLED.value
    return {"deployment_id": row.public_id, "deployment_status": DeploymentState(row.state),
            "not_deployed_reason": row.reason if cancelled else ""}


def timeline(*, db: Session, actor: Principal, request_id: uuid.UUID) -> TimelineOut:
    """Every event about a request and the deployment answering it, oldest first, with its
    clocks."""
    request = get(db=db, actor=actor, request_id=request_id)
    events = audit.events_about(db=db, object_type=KIND, object_id=request.public_id)
    deployment = db.scalar(select(Deployment.public_id).where(
        Deployment.request_id == request.id))
    if deployment is not None:
        events = sorted(events + audit.events_about(db=db, object_type="deployment",
                                                    object_id=deployment),
                        key=lambda e: e.seq)
    return TimelineOut(request=request.public_id, clocks=clocks_of(request), events=[
        TimelineEvent(at=e.at, action=e.action, actor=e.actor, changes=dict(e.changes or {}))
        for e in events])


def withdraw(*, db: Session, actor: Principal, request_id: uuid.UUID) -> AssistanceRequest:
    """The requester withdraws a request not yet triaged; its clocks stop."""
    request = get(db=db, actor=actor, request_id=request_id)
    org = organisations.by_id(db=db, actor=actor, org_id=request.organisation_id)
    REQUEST.move(db=db, actor=actor, record=request, target=RequestState.WITHDRAWN.value,
                 object_type=KIND, object_id=request.public_id, what=org)
    return request


def override(*, db: Session, actor: Principal, request_id: uuid.UUID,
             data: OverrideIn) -> AssistanceRequest:
    """A coordinator ranks a request above or below its computed rank, saying why; the
    override and its rationale are recorded and audited (null puts the computed rank back)."""
    request = get(db=db, actor=actor, request_id=request_id)
    policy.require(actor, Permission.REQUESTS_DECIDE)
    before = request.priority_override
    request.priority_override = data.priority
    request.priority_rationale = data.rationale if data.priority is not None else ""
    db.flush()
    audit.record(db=db, actor=actor, action="request.ranked", object_type=KIND,
                 object_id=request.public_id,
                 changes={"priority": [before, data.priority], "computed": _priority(request),
                          "rationale": data.rationale})
    return request


# --- triage and the Council -------------------------------------------------------------------

def _met(request: AssistanceRequest, which: Clock) -> None:
    request.met = {**request.met, which.value: clock.iso(clock.now())}


def council_members(db: Session, day: date) -> list[Organisation]:
    """The nations whose POCs sit in the Council on ``day``: the lead and the participants."""
    return organisations.members_on(db=db, actor=policy_reader(), day=day)


def triage(*, db: Session, actor: Principal, request_id: uuid.UUID,
           note: str = "") -> AssistanceRequest:
    """The coordination cell has triaged the request: its triage clock is met and the Council
    opens; the participating nations' POCs are asked for their positions."""
    request = get(db=db, actor=actor, request_id=request_id)
    REQUEST.move(db=db, actor=actor, record=request, target=RequestState.COUNCIL.value,
                 object_type=KIND, object_id=request.public_id,
                 changes={"note_given": bool(note.strip())})
    _met(request, Clock.TRIAGE)
    _name_readers(db, request, council=True)
    members = council_members(db, clock.today())
    due = clock.as_utc(request.decision_due_at)
    for addresses in auth.poc_addresses(db=db, org_ids=[o.id for o in members]).values():
        for address in addresses:
            notify.enqueue_email(
                db=db, to=address, subject=f"crrt: {request.reference} is before the Council",
                body=f"{request.reference} (severity {request.severity}) is before the CRRT "
                     f"Council: record your nation's position before {due:%Y-%m-%d %H:%M} UTC.")
    return request


def record_position(*, db: Session, actor: Principal, request_id: uuid.UUID,
                    data: PositionIn) -> CouncilPosition:
    """A participating nation's position, by its POC, while the Council sits; a later word
    replaces an earlier one."""
    request = get(db=db, actor=actor, request_id=request_id)
    if actor.org_code is None:
        raise Forbidden("Only a participating nation's point of contact records a position.")
    org = organisations.get(db=db, actor=actor, code=actor.org_code)
    policy.require(actor, Permission.COUNCIL_POSITION, org)
    if request.state != RequestState.COUNCIL.value:
        raise Conflict(f"{request.reference} is {request.state}: positions are recorded while "
                       "the Council sits.")
    if org.id not in {o.id for o in council_members(db, clock.today())}:
        raise Forbidden(f"{org.name} does not sit in the Council (only the lead and the "
                        "participants do).")
    row = db.scalar(select(CouncilPosition).where(CouncilPosition.request_id == request.id,
                                                  CouncilPosition.organisation_id == org.id))
    before = row.position.value if row else None
    if row is None:
        row = CouncilPosition(request_id=request.id, organisation_id=org.id)
        db.add(row)
    row.position, row.comment = data.position, data.comment
    row.recorded_by, row.recorded_at = actor.user_id, clock.now()
    db.flush()
    audit.record(db=db, actor=actor, action="request.position", object_type=KIND,
                 object_id=request.public_id,
                 changes={"org": org.code, "position": [before, data.position.value],
                          "comment_given": bool(data.comment.strip())})
    return row


def positions(*, db: Session, actor: Principal, request_id: uuid.UUID) -> list[PositionOut]:
    """Every Council member with its position, or none yet."""
    request = get(db=db, actor=actor, request_id=request_id)
    given = {p.organisation_id: p for p in db.scalars(
        select(CouncilPosition).where(CouncilPosition.request_id == request.id))}
    members = {o.id: o for o in council_members(db, clock.today())}
    for org_id in set(given) - set(members):  # a nation that gave its word, then left
        members[org_id] = organisations.by_id(db=db, actor=actor, org_id=org_id)
    return [PositionOut(org=o.code, org_name=o.name,
                        position=given[o.id].position if o.id in given else None,
                        comment=given[o.id].comment if o.id in given else "",
                        recorded_at=given[o.id].recorded_at if o.id in given else None)
            for o in sorted(members.values(), key=lambda o: o.code)]


def decide(*, db: Session, actor: Principal, request_id: uuid.UUID, data: DecisionIn,
           rule: str = "no_objection") -> AssistanceRequest:
    """The coordinator records the Council's decision. An activation needs the rule met
    (by default: no participant objects); a decline needs a reason. The requester's contact,
    the coordinators and the Council are told."""
    request = get(db=db, actor=actor, request_id=request_id)
    if data.outcome is Outcome.ACTIVATE:
        given = list(db.scalars(select(CouncilPosition).where(
            CouncilPosition.request_id == request.id)))
        objecting = [p for p in given if p.position is Position.OBJECT]
        support = sum(1 for p in given if p.position is Position.SUPPORT)
        if objecting and (rule == "no_objection" or len(objecting) >= support):
            codes = sorted(organisations.by_id(db=db, actor=actor, org_id=p.organisation_id)
                           .code for p in objecting)
            raise Conflict(f"The Council's rule ({rule.replace('_', ' ')}) is not met: "
                           f"{', '.join(codes)} object.", objecting=codes)
    target = RequestState.ACTIVATED if data.outcome is Outcome.ACTIVATE \
        else RequestState.DECLINED
    REQUEST.move(db=db, actor=actor, record=request, target=target.value, object_type=KIND,
                 object_id=request.public_id,
                 changes={"outcome": data.outcome.value, "legal_basis": data.legal_basis})
    request.outcome, request.legal_basis = data.outcome, data.legal_basis
    request.scope, request.reason, request.decided_at = data.scope, data.reason, clock.now()
    if not request.met.get(Clock.TRIAGE.value):  # decided straight away: triaged with it
        _met(request, Clock.TRIAGE)
    _met(request, Clock.DECISION)
    said = (f"{request.reference}: the CRRT Council decided to {data.outcome.value} "
            f"({data.legal_basis}).")
    notify.enqueue_email(db=db, to=request.contact_email,
                         subject=f"crrt: {request.reference} {target.value}",
                         body=said + (f"\n\n{data.reason}" if data.reason else ""))
    _tell_coordinators(db, f"crrt: {request.reference} {target.value}", said)
    return request


def decision_of(request: AssistanceRequest) -> DecisionOut | None:
    if request.outcome is None or request.decided_at is None:
        return None
    return DecisionOut(outcome=request.outcome, legal_basis=request.legal_basis or "",
                       scope=request.scope or "", reason=request.reason or "",
                       decided_at=request.decided_at)


# --- arrangements ------------------------------------------------------------------------------

def arrangement_out(db: Session, actor: Principal, row: Arrangement) -> ArrangementOut:
    org = organisations.by_id(db=db, actor=actor, org_id=row.organisation_id)
    today = clock.today()
    return ArrangementOut(id=row.public_id, org=org.code, reference=row.reference,
                          signed_on=row.signed_on, expires_on=row.expires_on,
                          in_force=row.signed_on <= today and (row.expires_on is None
                                                               or row.expires_on >= today))


def arrangements(*, db: Session, actor: Principal, code: str) -> list[Arrangement]:
    policy.require(actor, Permission.ARRANGEMENTS_MANAGE)
    org = organisations.get(db=db, actor=actor, code=code)
    return list(db.scalars(select(Arrangement).where(Arrangement.organisation_id == org.id)
                           .order_by(Arrangement.signed_on)))


def add_arrangement(*, db: Session, actor: Principal, code: str,
                    data: ArrangementIn) -> Arrangement:
    """File an organisation's arrangement with the project (a partner asks under one)."""
    policy.require(actor, Permission.ARRANGEMENTS_MANAGE)
    org = organisations.get(db=db, actor=actor, code=code)
    row = Arrangement(organisation_id=org.id, reference=data.reference,
                      signed_on=data.signed_on, expires_on=data.expires_on)
    db.add(row)
    db.flush()
    audit.record(db=db, actor=actor, action="arrangement.filed", object_type="organisation",
                 object_id=org.code, changes={"arrangement": str(row.public_id),
                                              "signed_on": data.signed_on.isoformat()})
    return row

