"""Request pages: the coordinator's queue with its clocks, the requester's form and follow-up,
and the Council's forms (triage, a nation's position, the decision, whose activation opens
the deployment) on a request's page.

The services decide who may do what; a refusal is shown on the page it came from.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from crrt.access import policy
from crrt.access.enums import Tlp
from crrt.access.policy import Permission
from crrt.access.principal import Principal
from crrt.assistance import dispatch, service
from crrt.assistance.enums import (
    Channel,
    Mode,
    OtherSupport,
    Outcome,
    Position,
    RequestState,
    Service,
)
from crrt.assistance.schemas import MAX_TEAM, DecisionIn, PositionIn, RequestIn
from crrt.core import clock
from crrt.core.errors import Conflict, DomainError, Forbidden
from crrt.core.http import Db, PublicIdParam
from crrt.organisations import service as organisations
from crrt.web import deployment_forms, forms
from crrt.web.i18n import _
from crrt.web.session import CheckedForm, SignedIn
from crrt.web.templating import render

router = APIRouter(include_in_schema=False)

TEXTS = ("org", "channel", "contact_name", "contact_email", "contact_phone",
         "affected_entity", "sector", "description", "severity", "mode", "location",
         "mitigation", "tlp")
FLAGS = ("essential_entity", "cross_border", "csdp_mission")


# --- the queue ---------------------------------------------------------------------------------

@router.get("/requests")
def queue(request: Request, db: Db, me: SignedIn) -> Response:
    """The requests the viewer may read, the most urgent first, with their clocks."""
    rows = service.list_requests(db=db, actor=me, limit=100)
    return render(request, "requests.html", {
        "requests": [service.request_out(db, me, r) for r in rows],
        "may_submit": policy.may(me, Permission.REQUESTS_SUBMIT)})


# --- the form ------------------------------------------------------------------------------------

def _form_page(request: Request, db: Session, me: Principal, *, values: dict[str, Any],
               errors: dict[str, str], status: int = 200) -> Response:
    policy.require_some(me, Permission.REQUESTS_SUBMIT)
    entering = policy.may(me, Permission.REQUESTS_DECIDE)  # the coordination cell
    return render(request, "request_form.html", {
        "values": values, "errors": errors, "entering": entering,
        "orgs": organisations.all_organisations(db=db, actor=me) if entering else [],
        "channels": [c.value for c in Channel if c not in (Channel.API, Channel.WEB)],
        "services": [s.value for s in Service], "modes": [m.value for m in Mode],
        "supports": [o.value for o in OtherSupport], "tlps": list(Tlp),
        "anchors": {name: name for name in (*TEXTS, "services")}}, status=status)


def _blank() -> dict[str, Any]:
    return {**{name: "" for name in TEXTS}, **{flag: False for flag in FLAGS},
            "severity": "2", "mode": Mode.REMOTE.value, "tlp": Tlp.AMBER.value,
            "services": [], "other_support": []}


@router.get("/requests/new")
def new_form(request: Request, db: Db, me: SignedIn) -> Response:
    return _form_page(request, db, me, values=_blank(), errors={})


@router.post("/requests/new")
def submit(request: Request, db: Db, me: SignedIn, form: CheckedForm) -> Response:
    """Receive the request; every problem is shown by its field."""
    values: dict[str, Any] = {name: forms.text(form, name)[:10_001] for name in TEXTS}
    values |= {flag: bool(forms.text(form, flag)) for flag in FLAGS}
    values["services"] = [str(v)[:40] for v in form.getlist("services")][:len(Service)]
    values["other_support"] = [str(v)[:40] for v in form.getlist("other_support")][
        :len(OtherSupport)]
    entering = policy.may(me, Permission.REQUESTS_DECIDE)
    data = {k: v for k, v in values.items() if v not in ("", None)}
    for flag in FLAGS:
        data[flag] = values[flag]
    data["services"], data["other_support"] = values["services"], values["other_support"]
    if not entering:
        data.pop("org", None)
        data.pop("channel", None)
    try:
        body = RequestIn.model_validate(data)
    except ValidationError as exc:
        found = forms.messages(exc)
        if found.pop("_form", None) is not None:  # the one rule across fields
            found.setdefault("location", _("An on-site or hybrid request names its location."))
        return _form_page(request, db, me, values=values, errors=found, status=422)
    try:
        made = service.submit(db=db, actor=me, data=body, channel=Channel.WEB,
                              response_hours=request.app.state.settings.response_hours)
    except Forbidden as exc:  # an organisation that may not ask: the reason, by the field
        db.rollback()
        return _form_page(request, db, me, values=values, errors={"org": exc.detail},
                          status=403)
    return RedirectResponse(f"/requests/{made.public_id}?saved=submitted", status_code=303)


# --- one request ---------------------------------------------------------------------------------

def _request_page(request: Request, db: Session, me: Principal, request_id: uuid.UUID, *,
                  problem: str | None = None, status: int = 200) -> Response:
    found = service.get(db=db, actor=me, request_id=request_id)
    shown = service.request_out(db, me, found)
    state = RequestState(found.state)
    council = state is RequestState.COUNCIL
    return render(request, "request.html", {
        "r": shown, "problem": problem, "saved": request.query_params.get("saved"),
        "events": service.timeline(db=db, actor=me, request_id=request_id).events,
        "positions": service.positions(db=db, actor=me, request_id=request_id)
        if state in (RequestState.COUNCIL, RequestState.ACTIVATED, RequestState.DECLINED)
        else [],
        "may_decide": policy.may(me, Permission.REQUESTS_DECIDE)
        and state in (RequestState.SUBMITTED, RequestState.COUNCIL),
        "may_triage": policy.may(me, Permission.REQUESTS_DECIDE)
        and state is RequestState.SUBMITTED,
        "may_position": council and policy.may(me, Permission.COUNCIL_POSITION),
        "may_withdraw": state in (RequestState.SUBMITTED, RequestState.COUNCIL)
        and policy.may(me, Permission.REQUESTS_SUBMIT),
        "may_read_deployment": policy.may(me, Permission.DEPLOYMENTS_READ),
        "max_team": MAX_TEAM,
        "positions_choice": [p.value for p in Position],
        "outcomes": [o.value for o in Outcome], "now": clock.now()}, status=status)


@router.get("/requests/{request_id}")
def request_page(request: Request, db: Db, me: SignedIn,
                 request_id: PublicIdParam) -> Response:
    return _request_page(request, db, me, request_id)


def _act(request: Request, db: Session, me: Principal, request_id: uuid.UUID, saved: str,
         action: Any) -> Response:
    """Do ``action``; a refusal (the Council's rule, a state moved on) is shown on the page."""
    try:
        action()
    except ValidationError as exc:
        db.rollback()
        return _request_page(request, db, me, request_id, status=422,
                             problem=" ".join(forms.messages(exc).values()))
    except (Conflict, Forbidden) as exc:
        db.rollback()
        return _request_page(request, db, me, request_id, problem=exc.detail,
                             status=exc.status if isinstance(exc, DomainError) else 409)
    return RedirectResponse(f"/requests/{request_id}?saved={saved}", status_code=303)


@router.post("/requests/{request_id}/withdraw")
def withdraw(request: Request, db: Db, me: SignedIn, form: CheckedForm,
             request_id: PublicIdParam) -> Response:
    return _act(request, db, me, request_id, "withdrawn",
                lambda: service.withdraw(db=db, actor=me, request_id=request_id))


@router.post("/requests/{request_id}/triage")
def triage(request: Request, db: Db, me: SignedIn, form: CheckedForm,
           request_id: PublicIdParam) -> Response:
    return _act(request, db, me, request_id, "triaged", lambda: service.triage(
        db=db, actor=me, request_id=request_id, note=forms.text(form, "note")[:2000]))


@router.post("/requests/{request_id}/position")
def position(request: Request, db: Db, me: SignedIn, form: CheckedForm,
             request_id: PublicIdParam) -> Response:
    return _act(request, db, me, request_id, "position", lambda: service.record_position(
        db=db, actor=me, request_id=request_id, data=PositionIn.model_validate({
            "position": forms.text(form, "position")[:20],
            "comment": forms.text(form, "comment")[:2001]})))


@router.post("/requests/{request_id}/decision")
def decision(request: Request, db: Db, me: SignedIn, form: CheckedForm,
             request_id: PublicIdParam) -> Response:
    """The Council's decision; an activation opens the deployment with its team proposed."""
    return _act(request, db, me, request_id, "decided", lambda: dispatch.decide(
        db=db, actor=me, request_id=request_id, data=DecisionIn.model_validate({
            "outcome": forms.text(form, "outcome")[:20],
            "scope": forms.text(form, "scope")[:2001],
            "reason": forms.text(form, "reason")[:2001],
            **({"legal_basis": basis} if (basis := forms.text(form, "legal_basis")[:101])
               else {}),
            **({"team_size": size} if (size := forms.text(form, "team_size")[:4]) else {})}),
        rule=request.app.state.settings.council_rule, links=deployment_forms.links(request)))
