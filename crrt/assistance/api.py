"""Routes of requests for assistance; access and rules live in the service and the policy."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response, UploadFile

from crrt.access.caller import Me, optional_principal
from crrt.access.principal import Principal
from crrt.assistance import attachments, costs, deployments, dispatch, service
from crrt.assistance.enums import Channel
from crrt.assistance.models import RequestAttachment
from crrt.assistance.schemas import (
    AnswerIn,
    ArrangementIn,
    ArrangementOut,
    AttachmentOut,
    CallOutOut,
    ConsentIn,
    CostIn,
    CostOut,
    CostsOut,
    DecisionIn,
    DeploymentOut,
    DeploymentPatch,
    MemberOut,
    MissionArrangement,
    OverrideIn,
    PositionIn,
    PositionOut,
    ReportIn,
    RequestIn,
    RequestOut,
    SharingIn,
    StatusIn,
    TimelineOut,
    TriageIn,
)
from crrt.core.files import store_for
from crrt.core.http import Db, OrgCodeParam, PublicIdParam, body_limit, public_base

router = APIRouter(prefix="/requests", tags=["requests"])
arrangements = APIRouter(tags=["requests"])
deployment_routes = APIRouter(prefix="/deployments", tags=["deployments"])
callouts = APIRouter(prefix="/callouts", tags=["deployments"])
Caller = Annotated[Principal | None, Depends(optional_principal)]


def links(request: Request) -> dispatch.Links:
    """The notices' links and the call-outs' signing key and wait, from the settings."""
    settings = request.app.state.settings
    return dispatch.Links(base=public_base(request), secret=settings.resolved_secret_key(),
                          callout_minutes=settings.callout_minutes)


@router.post("", status_code=201)
def submit(body: RequestIn, request: Request, db: Db, me: Me) -> RequestOut:
    """Ask for assistance: `status: submitted`, `received_at` and `response_due_at` (received
    plus CRRT_RESPONSE_HOURS, 72 by default) come back with the clocks."""
    made = service.submit(db=db, actor=me, data=body, channel=Channel.API,
                          response_hours=request.app.state.settings.response_hours)
    return service.request_out(db, me, made)


@router.get("")
def list_requests(db: Db, me: Me, open: Annotated[bool, Query()] = False,
                  limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[RequestOut]:
    """The requests the caller may read, the most urgent first."""
    return [service.request_out(db, me, r)
            for r in service.list_requests(db=db, actor=me, open_only=open, limit=limit)]


@router.get("/{request_id}")
def get_request(request_id: PublicIdParam, db: Db, me: Me) -> RequestOut:
    return service.request_out(db, me, service.get(db=db, actor=me, request_id=request_id))


def _attachment_out(row: RequestAttachment) -> AttachmentOut:
    return AttachmentOut(id=row.public_id, filename=row.filename,
                         content_type=row.content_type, size=row.size, sha256=row.sha256,
                         uploaded_at=row.uploaded_at)


@router.post("/{request_id}/attachments", status_code=201)
@body_limit(attachments.MAX_UPLOAD)
def attach(request_id: PublicIdParam, file: UploadFile, request: Request, db: Db,
           me: Me) -> AttachmentOut:
    """Attach a file (at most 25 MiB, 20 a request): the requester or a coordinator."""
    content = file.file.read(attachments.MAX_BYTES + 1)
    return _attachment_out(attachments.add(
        db=db, actor=me, request_id=request_id, filename=file.filename,
        content_type=file.content_type, content=content,
        store=store_for(request.app.state.settings)))


@router.get("/{request_id}/attachments")
def list_attachments(request_id: PublicIdParam, db: Db, me: Me) -> list[AttachmentOut]:
    return [_attachment_out(a) for a in attachments.list_for(db=db, actor=me,
                                                             request_id=request_id)]


@router.get("/{request_id}/attachments/{attachment_id}",
            responses={200: {"content": {"application/octet-stream": {}}}})
def download(request_id: PublicIdParam, attachment_id: PublicIdParam, request: Request,
             db: Db, me: Me) -> Response:
    """The file as a download (never shown inline: it came from outside)."""
    row = attachments.get(db=db, actor=me, request_id=request_id, attachment_id=attachment_id)
    with store_for(request.app.state.settings).open(row.sha256) as handle:
        data = handle.read()
    return Response(data, media_type="application/octet-stream", headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(row.filename)}",
        "X-Content-Type-Options": "nosniff"})


@router.get("/{request_id}/timeline")
def timeline(request_id: PublicIdParam, db: Db, me: Me) -> TimelineOut:
    """Every event about the request, oldest first, and its clocks."""
    return service.timeline(db=db, actor=me, request_id=request_id)


@router.post("/{request_id}/withdraw")
def withdraw(request_id: PublicIdParam, db: Db, me: Me) -> RequestOut:
    """The requester withdraws a request not yet triaged."""
    return service.request_out(db, me, service.withdraw(db=db, actor=me,
                                                        request_id=request_id))


@router.post("/{request_id}/triage")
def triage(request_id: PublicIdParam, body: TriageIn, db: Db, me: Me) -> RequestOut:
    """Triaged: the triage clock is met and the CRRT Council opens."""
    return service.request_out(db, me, service.triage(db=db, actor=me, request_id=request_id,
                                                      note=body.note))


@router.post("/{request_id}/priority")
def override(request_id: PublicIdParam, body: OverrideIn, db: Db, me: Me) -> RequestOut:
    """A coordinator's rank for the request, with its rationale (`priority: null` clears it)."""
    return service.request_out(db, me, service.override(db=db, actor=me,
                                                        request_id=request_id, data=body))


@router.get("/{request_id}/positions")
def positions(request_id: PublicIdParam, db: Db, me: Me) -> list[PositionOut]:
    """Every Council member's position, or none yet."""
    return service.positions(db=db, actor=me, request_id=request_id)


@router.post("/{request_id}/positions")
def record_position(request_id: PublicIdParam, body: PositionIn, db: Db,
                    me: Me) -> list[PositionOut]:
    """A participating nation's position, by its POC, while the Council sits."""
    service.record_position(db=db, actor=me, request_id=request_id, data=body)
    return service.positions(db=db, actor=me, request_id=request_id)


@router.post("/{request_id}/decision")
def decide(request_id: PublicIdParam, body: DecisionIn, request: Request, db: Db,
           me: Me) -> RequestOut:
    """The Council's decision, recorded by a coordinator: `activate` (its rule met, by
    default no participant objecting) or `decline` (with a reason). An activation answers
    with the proposed team's `deployment_id`; the contributing nations are asked to consent."""
    decided, _ = dispatch.decide(db=db, actor=me, request_id=request_id, data=body,
                                 rule=request.app.state.settings.council_rule,
                                 links=links(request))
    return service.request_out(db, me, decided)


@arrangements.get("/organisations/{code}/arrangements")
def list_arrangements(code: OrgCodeParam, db: Db, me: Me) -> list[ArrangementOut]:
    return [service.arrangement_out(db, me, a)
            for a in service.arrangements(db=db, actor=me, code=code)]


@arrangements.post("/organisations/{code}/arrangements", status_code=201)
def add_arrangement(code: OrgCodeParam, body: ArrangementIn, db: Db, me: Me) -> ArrangementOut:
    """File a partner's arrangement with the project: with one in force, it may ask."""
    return service.arrangement_out(db, me, service.add_arrangement(db=db, actor=me, code=code,
                                                                   data=body))


# --- deployments -------------------------------------------------------------------------------

@deployment_routes.get("")
def list_deployments(db: Db, me: Me, open: Annotated[bool, Query()] = False,
                     limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[DeploymentOut]:
    """The deployments the caller may read, the newest first."""
    return [deployments.deployment_out(db, me, d) for d in deployments.list_deployments(
        db=db, actor=me, open_only=open, limit=limit)]


@deployment_routes.get("/{deployment_id}")
def get_deployment(deployment_id: PublicIdParam, db: Db, me: Me) -> DeploymentOut:
    """A deployment with its members, each with the nation's consent and the call-out."""
    return deployments.deployment_out(db, me, deployments.get(db=db, actor=me,
                                                              deployment_id=deployment_id))


@deployment_routes.patch("/{deployment_id}")
def update_deployment(deployment_id: PublicIdParam, body: DeploymentPatch, db: Db,
                      me: Me) -> DeploymentOut:
    """Where and when, travel and logistics notes (the coordination cell)."""
    return deployments.deployment_out(db, me, deployments.update(
        db=db, actor=me, deployment_id=deployment_id, data=body))


@deployment_routes.post("/{deployment_id}/status")
def move_deployment(deployment_id: PublicIdParam, body: StatusIn, db: Db,
                    me: Me) -> DeploymentOut:
    """planned → deploying → deployed → completed, or cancelled with a reason."""
    return deployments.deployment_out(db, me, deployments.move(
        db=db, actor=me, deployment_id=deployment_id, data=body))


@deployment_routes.put("/{deployment_id}/arrangement")
def attach_arrangement(deployment_id: PublicIdParam, body: MissionArrangement, db: Db,
                       me: Me) -> DeploymentOut:
    """The mission arrangement an on-site deployment needs before it starts."""
    return deployments.deployment_out(db, me, deployments.attach_arrangement(
        db=db, actor=me, deployment_id=deployment_id, data=body))


@deployment_routes.post("/{deployment_id}/report")
def file_report(deployment_id: PublicIdParam, body: ReportIn, db: Db, me: Me) -> DeploymentOut:
    """The final report to the requester, due within a month of closing."""
    return deployments.deployment_out(db, me, deployments.file_report(
        db=db, actor=me, deployment_id=deployment_id, data=body))


@deployment_routes.post("/{deployment_id}/consents")
def give_consent(deployment_id: PublicIdParam, body: ConsentIn, request: Request, db: Db,
                 me: Me) -> MemberOut:
    """A nation's POC confirms (with any caveat) or declines one of its experts."""
    member = dispatch.consent(db=db, actor=me, deployment_id=deployment_id, data=body,
                              links=links(request))
    deployment = deployments.get(db=db, actor=me, deployment_id=deployment_id)
    return deployments.members_out(db, me, deployment, [member])[0]


@deployment_routes.post("/{deployment_id}/callouts/{expert_id}/answer")
def answer_callout(deployment_id: PublicIdParam, expert_id: PublicIdParam, body: AnswerIn,
                   request: Request, db: Db, caller: Caller) -> CallOutOut:
    """The called-out expert accepts or declines: signed in, or with the call-out's `token`."""
    member = dispatch.answer(db=db, actor=caller, deployment_id=deployment_id,
                             expert_id=expert_id, data=body, links=links(request))
    return CallOutOut(deployment_id=deployment_id, expert_id=expert_id,
                      callout=member.callout, answered_at=member.answered_at)


@deployment_routes.get("/{deployment_id}/costs")
def list_costs(deployment_id: PublicIdParam, db: Db, me: Me) -> CostsOut:
    """The cost items, what each nation paid, the totals and what each owes."""
    return costs.costs(db=db, actor=me, deployment_id=deployment_id)


@deployment_routes.post("/{deployment_id}/costs", status_code=201)
def add_cost(deployment_id: PublicIdParam, body: CostIn, db: Db, me: Me) -> CostOut:
    item = costs.add(db=db, actor=me, deployment_id=deployment_id, data=body)
    return CostOut(id=item.public_id, kind=item.kind, amount=item.amount,
                   currency=item.currency, paid_by=body.paid_by.upper(),
                   description=item.description, added_at=item.added_at)


@deployment_routes.delete("/{deployment_id}/costs/{item_id}", status_code=204)
def remove_cost(deployment_id: PublicIdParam, item_id: PublicIdParam, db: Db,
                me: Me) -> Response:
    costs.remove(db=db, actor=me, deployment_id=deployment_id, item_id=item_id)
    return Response(status_code=204)


@deployment_routes.put("/{deployment_id}/cost-sharing")
def set_sharing(deployment_id: PublicIdParam, body: SharingIn, db: Db, me: Me) -> CostsOut:
    """Who bears the costs: the requester, each nation what it paid, or a common budget."""
    costs.set_sharing(db=db, actor=me, deployment_id=deployment_id, data=body)
    return costs.costs(db=db, actor=me, deployment_id=deployment_id)


@callouts.get("")
def my_callouts(db: Db, me: Me) -> list[CallOutOut]:
    """The caller's own call-outs (an expert's account), open ones first."""
    return [CallOutOut(deployment_id=d.public_id, expert_id=None, reference=r.reference or "",
                       callout=m.callout, due_at=m.due_at, answered_at=m.answered_at,
                       mode=d.mode, location=d.location, skill=m.skill, lead=m.lead)
            for d, m, r in dispatch.callouts_of(db=db, actor=me)]
