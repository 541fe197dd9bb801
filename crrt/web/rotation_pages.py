"""Rotation pages: the team on duty and the published rotations, planning and comparing
drafts (each nation's share against its target drawn), publishing, replacing a member who
withdraws, the weekly duty roster, and one's own duty with its calendar address.

The services decide who may do what; a plan is solved with the request's reading session
closed, so a search of several seconds holds no lock.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from crrt.access import policy
from crrt.access.policy import Permission
from crrt.access.principal import Principal
from crrt.core import clock
from crrt.core.errors import Conflict, NotFound
from crrt.core.http import Db, PublicIdParam, public_base
from crrt.rotations import drafting, feeds, publishing, service
from crrt.rotations.schemas import MAX_PERIODS, PlanIn, PlanOut
from crrt.web import forms
from crrt.web.i18n import _
from crrt.web.session import CheckedForm, SignedIn
from crrt.web.templating import render

router = APIRouter(include_in_schema=False)

ZONES = ("Europe/Brussels", "Europe/Vilnius", "Europe/Tallinn", "Europe/Warsaw",
         "Europe/Helsinki", "Europe/Paris", "Europe/Madrid", "Europe/Athens", "UTC")
PLAN_FIELDS = ("template", "start", "periods", "period_months", "seconds", "zone")


def _first_free_day(db: Session, me: Principal) -> date:
    """Where a new plan most likely starts: the day after the last published rotation, else
    the next half-year."""
    today = clock.today()
    published = service.list_rotations(db=db, actor=me, ending_after=today)
    if published:
        return max(r.ends_on for r in published) + timedelta(days=1)
    return date(today.year, 7, 1) if today.month <= 6 else date(today.year + 1, 1, 1)


# --- the rotations and the team on duty --------------------------------------------------------

@router.get("/rotations")
def rotations_page(request: Request, db: Db, me: SignedIn) -> Response:
    on_duty = service.current(db=db, actor=me)
    listed = service.list_rotations(db=db, actor=me, ending_after=clock.today())
    plans = drafting.list_plans(db=db, actor=me, limit=20)
    return render(request, "rotations.html", {
        "current": _rotation(db, me, on_duty) if on_duty else None,
        "rotations": [_rotation(db, me, r) for r in listed],
        "plans": plans, "may_plan": policy.may(me, Permission.ROTATIONS_PLAN),
        "duty": [s for s in service.duty_of_rotation(db=db, actor=me,
                                                     rotation_id=on_duty.public_id)
                 if s.end > clock.now()][:6] if on_duty else [],
        "now": clock.now()})


def _rotation(db: Session, me: Principal, rotation: Any) -> Any:
    return service.rotation_view(db, me, rotation)


# --- planning ----------------------------------------------------------------------------------

def _plan_form(request: Request, db: Session, me: Principal, *,
               values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
               status: int = 200) -> Response:
    templates = service.list_templates(db=db, actor=me)
    policy.require(me, Permission.ROTATIONS_PLAN)
    return render(request, "rotation_plan.html", {
        "templates": [service.template_out(t) for t in templates],
        "values": values or {"template": str(templates[0].public_id) if templates else "",
                             "start": _first_free_day(db, me).isoformat(),
                             "periods": "2", "period_months": "6", "seconds": "10",
                             "zone": "Europe/Brussels"},
        "errors": errors or {}, "zones": ZONES, "max_periods": MAX_PERIODS,
        "anchors": {name: f"plan-{name}" for name in PLAN_FIELDS}}, status=status)


@router.get("/rotations/plan")
def plan_form(request: Request, db: Db, me: SignedIn) -> Response:
    return _plan_form(request, db, me)


@router.post("/rotations/plan")
def plan_submit(request: Request, db: Db, me: SignedIn, form: CheckedForm) -> Response:
    """Solve a draft and show it; the fields' problems are shown by the fields."""
    values = {name: forms.text(form, name)[:64] for name in PLAN_FIELDS}
    policy.require(me, Permission.ROTATIONS_PLAN)
    try:
        data = PlanIn.model_validate({
            "template_id": values["template"], "start": values["start"],
            "periods": values["periods"], "period_months": values["period_months"],
            "seconds": values["seconds"], "zone": values["zone"]})
    except ValidationError as exc:
        errors = {("template" if k == "template_id" else k): v
                  for k, v in forms.messages(exc).items()}
        return _plan_form(request, db, me, values=values, errors=errors, status=422)
    db.commit()  # hold nothing while the solver searches
    try:
        plan_id = drafting.draft(database=request.app.state.database, actor=me, data=data)
    except NotFound:
        return _plan_form(request, db, me, values=values, status=422,
                          errors={"template": _("Choose a team template.")})
    return RedirectResponse(f"/rotations/plans/{plan_id}", status_code=303)


def _shares(plan: PlanOut) -> list[dict[str, Any]]:
    """Each nation's seats against its target, as lengths on one scale."""
    top = max([max(s.assigned, s.target) for s in plan.metrics.nations.values()] + [1])
    return [{"org": org, "assigned": s.assigned, "target": round(s.target, 1),
             "width": round(100 * s.assigned / top, 1), "mark": round(100 * s.target / top, 1),
             "off": round(s.assigned - s.target, 1)}
            for org, s in plan.metrics.nations.items()]


def _plan_page(request: Request, db: Session, me: Principal, plan_id: uuid.UUID,
               compare: uuid.UUID | None, *, problem: str | None = None,
               status: int = 200) -> Response:
    plan = drafting.plan_out(db=db, actor=me,
                             row=drafting.get_plan(db=db, actor=me, plan_id=plan_id))
    other = drafting.plan_out(db=db, actor=me, row=drafting.get_plan(
        db=db, actor=me, plan_id=compare)) if compare and compare != plan_id else None
    choices = [p for p in drafting.list_plans(db=db, actor=me) if p.id != plan_id]
    return render(request, "rotation_plan_view.html", {
        "plans": [(plan, _shares(plan))] + ([(other, _shares(other))] if other else []),
        "plan": plan, "compare": other, "choices": choices, "problem": problem,
        "may_plan": policy.may(me, Permission.ROTATIONS_PLAN)}, status=status)


@router.get("/rotations/plans/{plan_id}")
def plan_page(request: Request, db: Db, me: SignedIn, plan_id: PublicIdParam,
              compare: uuid.UUID | None = None) -> Response:
    return _plan_page(request, db, me, plan_id, compare)


@router.post("/rotations/plans/{plan_id}/publish")
def publish(request: Request, db: Db, me: SignedIn, form: CheckedForm,
            plan_id: PublicIdParam) -> Response:
    db.commit()  # the rosters are solved with no lock held
    try:
        publishing.publish_apart(database=request.app.state.database, actor=me,
                                 plan_id=plan_id,
                                 base_url=public_base(request, or_request=False))
    except Conflict as exc:
        db.rollback()
        return _plan_page(request, db, me, plan_id, None, problem=exc.detail, status=409)
    return RedirectResponse("/rotations?published=1", status_code=303)


@router.post("/rotations/plans/{plan_id}/discard")
def discard(request: Request, db: Db, me: SignedIn, form: CheckedForm,
            plan_id: PublicIdParam) -> Response:
    try:
        drafting.discard(db=db, actor=me, plan_id=plan_id)
    except Conflict as exc:
        db.rollback()
        return _plan_page(request, db, me, plan_id, None, problem=exc.detail, status=409)
    return RedirectResponse("/rotations", status_code=303)


# --- one rotation: its team, its weekly duty, a replacement -------------------------------------

def _rotation_page(request: Request, db: Session, me: Principal, rotation_id: uuid.UUID, *,
                   replaced: tuple[list[str], list[str]] | None = None,
                   errors: dict[str, str] | None = None, status: int = 200) -> Response:
    rotation = service.get_rotation(db=db, actor=me, rotation_id=rotation_id)
    shown = _rotation(db, me, rotation)
    return render(request, "rotation.html", {
        "rotation": shown,
        "duty": service.duty_of_rotation(db=db, actor=me, rotation_id=rotation_id),
        "may_plan": policy.may(me, Permission.ROTATIONS_PLAN),
        "over": rotation.ends_on < clock.today(), "replaced": replaced,
        "errors": errors or {}, "now": clock.now()}, status=status)


@router.get("/rotations/{rotation_id}")
def rotation_page(request: Request, db: Db, me: SignedIn,
                  rotation_id: PublicIdParam) -> Response:
    return _rotation_page(request, db, me, rotation_id)


@router.post("/rotations/{rotation_id}/replace")
def replace(request: Request, db: Db, me: SignedIn, form: CheckedForm,
            rotation_id: PublicIdParam) -> Response:
    """Withdraw a member and show what the replacement changed."""
    policy.require(me, Permission.ROTATIONS_PLAN)
    reason = forms.text(form, "reason")[:200]
    try:
        expert_id = uuid.UUID(forms.text(form, "expert")[:40])
    except ValueError:
        return _rotation_page(request, db, me, rotation_id, status=422,
                              errors={"expert": _("Choose the member who withdraws.")})
    db.commit()  # the repair is solved with no lock held
    try:
        changes, unfilled = publishing.replace_apart(
            database=request.app.state.database, actor=me, rotation_id=rotation_id,
            expert_id=expert_id, reason=reason,
            base_url=public_base(request, or_request=False))
    except (Conflict, NotFound) as exc:
        db.rollback()
        return _rotation_page(request, db, me, rotation_id, status=409,
                              errors={"expert": exc.detail})
    db.expire_all()
    return _rotation_page(request, db, me, rotation_id, replaced=(changes, unfilled))


# --- one's own duty ------------------------------------------------------------------------------

def _duty_page(request: Request, db: Session, me: Principal, *, address: str | None = None,
               revoked: bool = False) -> Response:
    try:
        expert = service.own_expert(db=db, actor=me)
    except NotFound:
        return render(request, "duty.html", {"expert": None})
    return render(request, "duty.html", {
        "expert": expert,
        "shifts": service.duty_of_expert(db=db, actor=me, expert_id=expert.id,
                                         since=clock.now() - timedelta(days=7)),
        "seats": service.memberships_of(db=db, expert_id=expert.id),
        "has_feed": feeds.has_feed(db=db, actor=me), "address": address,
        "revoked": revoked, "now": clock.now()})


@router.get("/duty")
def duty_page(request: Request, db: Db, me: SignedIn) -> Response:
    return _duty_page(request, db, me)


@router.post("/duty/calendar")
def new_calendar(request: Request, db: Db, me: SignedIn, form: CheckedForm) -> Response:
    """A new secret calendar address, shown in this answer only."""
    token, _created = feeds.new_feed(db=db, actor=me)
    address = public_base(request) + feeds.FEED_PATH.format(token=token)
    return _duty_page(request, db, me, address=address)


@router.post("/duty/calendar/revoke")
def revoke_calendar(request: Request, db: Db, me: SignedIn, form: CheckedForm) -> Response:
    feeds.revoke_feed(db=db, actor=me)
    return _duty_page(request, db, me, revoked=True)
