"""Routes of the rotations part: templates, commitments, plans, rotations, duty, calendars.

Access and rules live in the services and the policy; a plan is solved in the route's
worker thread, outside the request's unit of work (see :func:`crrt.rotations.drafting.draft`).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from crrt.access.caller import Me
from crrt.core import clock
from crrt.core.errors import NotFound
from crrt.core.http import AppDatabase, Db, OrgCodeParam, PublicIdParam, public_base
from crrt.rotations import drafting, feeds, publishing, service
from crrt.rotations.models import Rotation
from crrt.rotations.schemas import (
    CommitmentIn,
    CommitmentOut,
    FeedOut,
    PlanIn,
    PlanOut,
    PlanSummary,
    ReplaceIn,
    ReplaceOut,
    RotationOut,
    ShiftOut,
    TemplateIn,
    TemplateOut,
    TemplatePatch,
)

templates = APIRouter(prefix="/team-templates", tags=["rotations"])
router = APIRouter(prefix="/rotations", tags=["rotations"])
other = APIRouter(tags=["rotations"])
ICS = "text/calendar; charset=utf-8"
FeedToken = Annotated[str, Path(min_length=20, max_length=80, pattern=r"^[A-Za-z0-9_-]+$")]


def _ics(body: bytes, name: str) -> Response:
    return Response(body, media_type=ICS,
                    headers={"Content-Disposition": f'inline; filename="{name}.ics"'})


# --- templates ---------------------------------------------------------------------------------

@templates.get("")
def list_templates(db: Db, me: Me) -> list[TemplateOut]:
    return [service.template_out(t) for t in service.list_templates(db=db, actor=me)]


@templates.post("", status_code=201)
def create_template(body: TemplateIn, db: Db, me: Me) -> TemplateOut:
    return service.template_out(service.create_template(db=db, actor=me, data=body))


@templates.get("/{template_id}")
def get_template(template_id: PublicIdParam, db: Db, me: Me) -> TemplateOut:
    return service.template_out(service.get_template(db=db, actor=me, template_id=template_id))


@templates.patch("/{template_id}")
def update_template(template_id: PublicIdParam, body: TemplatePatch, db: Db,
                    me: Me) -> TemplateOut:
    return service.template_out(service.update_template(db=db, actor=me,
                                                        template_id=template_id, data=body))


# --- commitments -------------------------------------------------------------------------------

@other.get("/commitments")
def list_commitments(db: Db, me: Me, on: date | None = None) -> list[CommitmentOut]:
    """The nations planned on a day (today by default) and the seats a year they commit."""
    return service.commitments(db=db, actor=me, day=on or clock.today())


@other.put("/commitments/{code}", status_code=204)
def set_commitment(code: OrgCodeParam, body: CommitmentIn, db: Db, me: Me) -> Response:
    service.set_commitment(db=db, actor=me, code=code, seats_per_year=body.seats_per_year)
    return Response(status_code=204)


@other.delete("/commitments/{code}", status_code=204)
def withdraw_commitment(code: OrgCodeParam, db: Db, me: Me) -> Response:
    """No stated commitment: the nation's fair share is proportional again."""
    service.set_commitment(db=db, actor=me, code=code, seats_per_year=None)
    return Response(status_code=204)


# --- plans -------------------------------------------------------------------------------------

@router.post("/plan", status_code=201)
def plan(body: PlanIn, database: AppDatabase, me: Me) -> PlanOut:
    """Solve a draft plan: teams per period, what could not be filled and why, the metrics."""
    plan_id = drafting.draft(database=database, actor=me, data=body)
    with database.session(read_only=True) as db:
        return drafting.plan_out(db=db, actor=me,
                                 row=drafting.get_plan(db=db, actor=me, plan_id=plan_id))


@router.get("/plans")
def list_plans(db: Db, me: Me) -> list[PlanSummary]:
    return drafting.list_plans(db=db, actor=me)


@router.get("/plans/{plan_id}")
def get_plan(plan_id: PublicIdParam, db: Db, me: Me) -> PlanOut:
    return drafting.plan_out(db=db, actor=me,
                             row=drafting.get_plan(db=db, actor=me, plan_id=plan_id))


@router.get("/plans/{plan_id}/check")
def check_plan(plan_id: PublicIdParam, db: Db, me: Me) -> dict[str, list[str]]:
    """Every hard rule verified again without the solver, against today's pool."""
    return {"violations": drafting.check(db=db, actor=me, plan_id=plan_id)}


@router.post("/plans/{plan_id}/publish")
def publish(plan_id: PublicIdParam, request: Request, database: AppDatabase,
            me: Me) -> list[RotationOut]:
    """Make a draft's rotations official; the rosters are solved before the write."""
    made = publishing.publish_apart(database=database, actor=me, plan_id=plan_id,
                                    base_url=public_base(request, or_request=False))
    with database.session(read_only=True) as db:
        return [service.rotation_out(db, me, service.get_rotation(
            db=db, actor=me, rotation_id=rotation_id), plan_id) for rotation_id in made]


@router.post("/plans/{plan_id}/discard", status_code=204)
def discard(plan_id: PublicIdParam, db: Db, me: Me) -> Response:
    drafting.discard(db=db, actor=me, plan_id=plan_id)
    return Response(status_code=204)


# --- rotations ---------------------------------------------------------------------------------

def _out(db: Db, me: Me, rotation: Rotation) -> RotationOut:
    return service.rotation_view(db, me, rotation)


@router.get("")
def list_rotations(db: Db, me: Me, ending_after: date | None = None) -> list[RotationOut]:
    """Published rotations, earliest first."""
    return [_out(db, me, r)
            for r in service.list_rotations(db=db, actor=me, ending_after=ending_after)]


@router.get("/current", responses={404: {"description": "No rotation is on duty today."}})
def current(db: Db, me: Me) -> RotationOut:
    """Who is on duty now."""
    rotation = service.current(db=db, actor=me)
    if rotation is None:
        raise NotFound("No published rotation is on duty today.")
    return _out(db, me, rotation)


@router.get("/{rotation_id}")
def get_rotation(rotation_id: PublicIdParam, db: Db, me: Me) -> RotationOut:
    return _out(db, me, service.get_rotation(db=db, actor=me, rotation_id=rotation_id))


@router.get("/{rotation_id}/duty")
def rotation_duty(rotation_id: PublicIdParam, db: Db, me: Me) -> list[ShiftOut]:
    """The rotation's weekly primary and backup duty officers."""
    return service.duty_of_rotation(db=db, actor=me, rotation_id=rotation_id)


@router.post("/{rotation_id}/replace")
def replace(rotation_id: PublicIdParam, body: ReplaceIn, request: Request,
            database: AppDatabase, me: Me) -> ReplaceOut:
    """Withdraw an expert; the replacement changes the fewest other seats, and says how."""
    changes, unfilled = publishing.replace_apart(
        database=database, actor=me, rotation_id=rotation_id, expert_id=body.expert_id,
        reason=body.reason, base_url=public_base(request, or_request=False))
    with database.session(read_only=True) as db:
        rotation = service.get_rotation(db=db, actor=me, rotation_id=rotation_id)
        return ReplaceOut(rotation=service.rotation_view(db, me, rotation), changes=changes,
                          unfilled=unfilled)


@router.get("/{rotation_id}/calendar.ics", response_class=Response,
            responses={200: {"content": {"text/calendar": {}}}})
def rotation_calendar(rotation_id: PublicIdParam, db: Db, me: Me) -> Response:
    return _ics(feeds.rotation_feed(db=db, actor=me, rotation_id=rotation_id), "rotation")


# --- own duty and calendars --------------------------------------------------------------------

@other.get("/me/duty")
def own_duty(db: Db, me: Me, upcoming: Annotated[bool, Query()] = True) -> list[ShiftOut]:
    """The caller's weeks of duty (upcoming ones by default)."""
    expert = service.own_expert(db=db, actor=me)
    return service.duty_of_expert(db=db, actor=me, expert_id=expert.id,
                                  since=clock.now() if upcoming else None)


@other.post("/me/calendar", status_code=201)
def new_calendar(request: Request, db: Db, me: Me) -> FeedOut:
    """A new secret address for one's duty calendar, shown once; the old one stops working."""
    token, created = feeds.new_feed(db=db, actor=me)
    return FeedOut(url=public_base(request) + feeds.FEED_PATH.format(token=token),
                   created_at=created)


@other.delete("/me/calendar", status_code=204)
def revoke_calendar(db: Db, me: Me) -> Response:
    feeds.revoke_feed(db=db, actor=me)
    return Response(status_code=204)


@other.get("/calendars/nations/{code}.ics", response_class=Response,
           responses={200: {"content": {"text/calendar": {}}}})
def nation_calendar(code: OrgCodeParam, db: Db, me: Me) -> Response:
    return _ics(feeds.nation_feed(db=db, actor=me, code=code), f"duty-{code}")


@other.get("/calendars/{token}.ics", response_class=Response,
           responses={200: {"content": {"text/calendar": {}}}})
def expert_calendar(token: FeedToken, db: Db) -> Response:
    """An expert's duty calendar; the secret address is the credential (no sign-in)."""
    return _ics(feeds.expert_feed(db=db, token=token), "duty")
