"""Routes of requests for assistance; access and rules live in the service and the policy."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from crrt.access.caller import Me
from crrt.assistance import service
from crrt.assistance.enums import Channel
from crrt.assistance.schemas import (
    ArrangementIn,
    ArrangementOut,
    DecisionIn,
    PositionIn,
    PositionOut,
    RequestIn,
    RequestOut,
    TimelineOut,
    TriageIn,
)
from crrt.core.http import Db, OrgCodeParam, PublicIdParam

router = APIRouter(prefix="/requests", tags=["requests"])
arrangements = APIRouter(tags=["requests"])


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
    default no participant objecting) or `decline` (with a reason)."""
    return service.request_out(db, me, service.decide(
        db=db, actor=me, request_id=request_id, data=body,
        rule=request.app.state.settings.council_rule))


@arrangements.get("/organisations/{code}/arrangements")
def list_arrangements(code: OrgCodeParam, db: Db, me: Me) -> list[ArrangementOut]:
    return [service.arrangement_out(db, me, a)
            for a in service.arrangements(db=db, actor=me, code=code)]


@arrangements.post("/organisations/{code}/arrangements", status_code=201)
def add_arrangement(code: OrgCodeParam, body: ArrangementIn, db: Db, me: Me) -> ArrangementOut:
    """File a partner's arrangement with the project: with one in force, it may ask."""
    return service.arrangement_out(db, me, service.add_arrangement(db=db, actor=me, code=code,
                                                                   data=body))
