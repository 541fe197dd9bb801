"""Web pages that change one expert: the edit form, withdrawing the nomination, and recording
and removing periods of unavailability (the on-call tools' most used action).

The services decide, as for the API; before showing a form or reading a posted one, a page
asks the policy the question the service will ask (``EXPERTS_WRITE`` to edit and withdraw,
``EXPERTS_AVAILABILITY`` for unavailability, a responder's own record included), so a form is
offered only to whom the service will take it from.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from crrt.access import policy
from crrt.access.policy import Permission
from crrt.access.principal import Principal
from crrt.core.errors import Conflict, Invalid
from crrt.core.http import Db, PublicIdParam
from crrt.experts import service as expert_service
from crrt.experts.schemas import ExpertOut, ExpertPatch, UnavailabilityIn
from crrt.organisations import service as org_service
from crrt.web import forms
from crrt.web.expert_pages import (
    FORM_ANCHORS,
    conflict_field,
    form_context,
    institution_problem,
    show_expert,
)
from crrt.web.i18n import N_, _, format_day
from crrt.web.session import CheckedForm, SignedIn
from crrt.web.templating import render

if TYPE_CHECKING:
    from crrt.experts.models import Expert
    from crrt.organisations.models import Organisation

router = APIRouter(prefix="/experts", include_in_schema=False)

# The service's words for an erased record, marked here so the error page shows them
# translated.
ERASED = N_("This expert was erased; an erased record cannot change.")
FIELDS = list(FORM_ANCHORS)


def _values(out: ExpertOut) -> dict[str, Any]:
    """The record as the form shows it."""
    return {"org": out.org, "user_email": "",
            "institution_id": str(out.institution_id or ""), "name": out.name,
            "email": out.email or "", "phone": out.phone or "",
            "skills": {s.skill.value: str(s.level) for s in out.skills},
            "languages": ", ".join(out.languages), "clearance": out.clearance.value,
            "deployability": [d.value for d in out.deployability],
            "time_zone": out.time_zone, "notes": out.notes, "messenger": out.messenger or "",
            "pgp_fingerprint": out.pgp_fingerprint or "",
            "clearance_expires_on": out.clearance_expires_on.isoformat()
            if out.clearance_expires_on else ""}


def _nations(db: Session, me: Principal, expert: Expert) -> list[Organisation]:
    """Where the record may go: its own nation, or any nation the viewer nominates for (an
    admin or a coordinator moves an expert whose nation changed)."""
    nation = org_service.by_id(db=db, actor=me, org_id=expert.organisation_id)
    others = expert_service.nominating_nations(db=db, actor=me)
    return others if len(others) > 1 and nation in others else [nation]


def _edit_form(request: Request, db: Session, me: Principal, expert: Expert,
               values: dict[str, Any] | None, errors: dict[str, str],
               status: int = 200) -> Response:
    out = expert_service.expert_out(db, me, expert)
    return render(request, "expert_edit.html", {
        **form_context(db, me, _nations(db, me, expert)), "expert": out,
        "values": values or _values(out), "errors": errors, "editing": True,
        "links_accounts": policy.may(me, Permission.EXPERTS_LINK_USER),
        "linked": expert.user_id is not None}, status=status)


@router.get("/{expert_id}/edit")
def edit_form(request: Request, db: Db, me: SignedIn, expert_id: PublicIdParam) -> Response:
    expert = expert_service.editable(db=db, actor=me, expert_id=expert_id)
    if expert.erased_at is not None:
        raise Conflict(ERASED)
    return _edit_form(request, db, me, expert, None, {})


def _save(db: Session, me: Principal, expert_id: uuid.UUID, data: dict[str, Any],
          errors: dict[str, str]) -> dict[str, str]:
    """Apply the edit; the problems by field, none when it is saved."""
    try:
        patch = ExpertPatch.model_validate(data)
    except ValidationError as exc:
        return {**forms.messages(exc), **errors}
    if errors:
        return errors
    try:
        expert_service.update(db=db, actor=me, expert_id=expert_id, data=patch)
    except Invalid as exc:
        db.rollback()
        return forms.messages(exc.errors) or {"_form": _(exc.detail)}
    except Conflict as exc:
        db.rollback()
        return {conflict_field(exc.detail): _(exc.detail)}
    return {}


@router.post("/{expert_id}/edit")
def save_expert(request: Request, db: Db, me: SignedIn, expert_id: PublicIdParam,
                form: CheckedForm) -> Response:
    """Save the edit; a refusal shows the form again with each problem beside its field."""
    expert = expert_service.editable(db=db, actor=me, expert_id=expert_id)
    data, shown = forms.expert_changes(form)
    nations = _nations(db, me, expert)
    if len(nations) > 1 and shown["org"]:
        data["org"] = shown["org"]  # moved to another nation, by whom may
    else:
        shown["org"] = nations[0].code
    if policy.may(me, Permission.EXPERTS_LINK_USER):
        if shown["user_email"]:
            data["user_email"] = shown["user_email"]
        elif forms.text(form, "unlink"):
            data["user_email"] = None
    problems = institution_problem(db, me, nations, shown["org"], shown["institution_id"])
    errors = _save(db, me, expert_id, data, {**forms.left_empty(shown, ("email",)), **problems})
    if not errors:
        return RedirectResponse(f"/experts/{expert_id}?saved=details", status_code=303)
    in_form_order = sorted(errors, key=lambda f: FIELDS.index(f) if f in FIELDS else -1)
    return _edit_form(request, db, me, expert, shown, {f: errors[f] for f in in_form_order},
                      status=422)


@router.get("/{expert_id}/withdraw")
def withdraw_question(request: Request, db: Db, me: SignedIn,
                      expert_id: PublicIdParam) -> Response:
    """Ask before withdrawing: the record goes for good."""
    expert = expert_service.editable(db=db, actor=me, expert_id=expert_id)
    return render(request, "expert_withdraw.html",
                  {"expert": expert_service.expert_out(db, me, expert)})


@router.post("/{expert_id}/confirm")
def confirm_current(db: Db, me: SignedIn, expert_id: PublicIdParam,
                    form: CheckedForm) -> Response:
    """Someone who manages the record says it is still right: it stops being stale."""
    expert_service.confirm_current(db=db, actor=me, expert_id=expert_id)
    return RedirectResponse(f"/experts/{expert_id}?saved=confirmed", status_code=303)


@router.post("/{expert_id}/withdraw")
def withdraw(request: Request, db: Db, me: SignedIn, expert_id: PublicIdParam,
             form: CheckedForm) -> Response:
    try:
        expert_service.withdraw(db=db, actor=me, expert_id=expert_id)
    except Conflict:  # another part still holds the record: a seat on a rotation
        db.rollback()
        expert = expert_service.editable(db=db, actor=me, expert_id=expert_id)
        return render(request, "expert_withdraw.html",
                      {"expert": expert_service.expert_out(db, me, expert), "held": True},
                      status=409)
    return RedirectResponse("/experts?withdrawn=1", status_code=303)


def _clash(db: Session, me: Principal, expert_id: uuid.UUID, exc: Conflict) -> dict[str, str]:
    """An overlap, said with the days of the period it overlaps; any other clash as the
    service words it."""
    held = next((p for p in expert_service.list_unavailability(db=db, actor=me,
                                                               expert_id=expert_id)
                 if str(p.public_id) == exc.extra.get("unavailability_id")), None)
    if held is None:
        return {"_form": _(exc.detail)}
    return {"starts_on": _("It overlaps the period %(start)s to %(end)s.",
                           start=format_day(held.starts_on), end=format_day(held.ends_on))}


@router.post("/{expert_id}/unavailability")
def record_unavailability(request: Request, db: Db, me: SignedIn, expert_id: PublicIdParam,
                          form: CheckedForm) -> Response:
    """Record a period; a refusal shows the expert's page again with the form as typed."""
    expert = expert_service.availability_editable(db=db, actor=me, expert_id=expert_id)
    data, shown = forms.period(form)
    try:
        period = UnavailabilityIn.model_validate(data)
    except ValidationError as exc:
        errors = forms.messages(exc)
    else:
        try:
            expert_service.add_unavailability(db=db, actor=me, expert_id=expert_id, data=period)
        except Conflict as exc:
            db.rollback()
            errors = _clash(db, me, expert_id, exc)
        else:
            return RedirectResponse(f"/experts/{expert_id}?saved=period#unavailability",
                                    status_code=303)
    return show_expert(request, db, me, expert, period=shown, period_errors=errors,
                       status=422)


@router.post("/{expert_id}/unavailability/{unavailability_id}/remove")
def remove_unavailability(db: Db, me: SignedIn, expert_id: PublicIdParam,
                          unavailability_id: PublicIdParam, form: CheckedForm) -> Response:
    expert_service.remove_unavailability(db=db, actor=me, expert_id=expert_id,
                                         unavailability_id=unavailability_id)
    return RedirectResponse(f"/experts/{expert_id}?saved=removed#unavailability",
                            status_code=303)
