"""Call-out pages: a responder's own call-outs in the app, and the page the call-out's e-mail
links to, where the expert answers without signing in.

The signed link is the credential: its token goes back only in the form's hidden field, the
answer is rendered in place (no redirect repeats it in an address), and the page tells the
browser to send no referrer, so the token leaves for nowhere the link did not already go.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from crrt.access.principal import Principal
from crrt.assistance import dispatch
from crrt.assistance.schemas import AnswerIn, CallOutOut
from crrt.core.errors import Conflict, Forbidden, NotFound
from crrt.core.http import Db, PublicIdParam
from crrt.experts import service as experts
from crrt.web import deployment_forms as dforms
from crrt.web import forms
from crrt.web.i18n import N_, _
from crrt.web.session import CheckedForm, OpenForm, SignedIn, Viewer
from crrt.web.templating import render

router = APIRouter(include_in_schema=False)

NO_REFERRER = {"Referrer-Policy": "no-referrer"}
SAVED = {"accepted": N_("You have accepted the call-out. The team lead and the coordination "
                        "cell will be in touch."),
         "declined": N_("You have declined the call-out. The next qualified expert is asked "
                        "in your place.")}


def _answer(form: Any, token: str | None = None) -> AnswerIn:
    return AnswerIn.model_validate({"accept": forms.text(form, "answer") == "accept",
                                    "reason": forms.text(form, "reason")[:1001],
                                    "token": token})


# --- in the app ----------------------------------------------------------------------------------

def _mine(db: Session, me: Principal) -> list[tuple[CallOutOut, bool]]:
    """The viewer's call-outs, open ones first, each named by its deployment and expert, and
    whether it still takes an answer."""
    rows = dispatch.callouts_of(db=db, actor=me)
    cards = experts.team_cards(db=db, expert_ids=[m.expert_id for _d, m, _r in rows])
    return [(CallOutOut(deployment_id=d.public_id, expert_id=cards[m.expert_id].public_id,
                        reference=r.reference or "", callout=m.callout, due_at=m.due_at,
                        answered_at=m.answered_at, mode=d.mode, location=d.location,
                        skill=m.skill, lead=m.lead), dispatch.answerable(d, m))
            for d, m, r in rows]


def _list(request: Request, db: Session, me: Principal, *, problem: str | None = None,
          errors: dict[str, str] | None = None, status: int = 200) -> Response:
    saved = SAVED.get(request.query_params.get("saved", ""))
    return render(request, "callouts.html", {
        "callouts": _mine(db, me), "problem": problem, "errors": errors or {},
        "saved": _(saved) if saved else None}, status=status)


@router.get("/callouts")
def callouts(request: Request, db: Db, me: SignedIn) -> Response:
    return _list(request, db, me)


@router.post("/callouts/{deployment_id}/{expert_id}/answer")
def answer_in_app(request: Request, db: Db, me: SignedIn, form: CheckedForm,
                  deployment_id: PublicIdParam, expert_id: PublicIdParam) -> Response:
    """Accept, or decline with a reason, signed in as the called-out expert."""
    try:
        member = dispatch.answer(db=db, actor=me, deployment_id=deployment_id,
                                 expert_id=expert_id, data=_answer(form),
                                 links=dforms.links(request))
    except ValidationError as exc:
        return _list(request, db, me, status=422, errors={
            f"reason-{deployment_id}": " ".join(dforms.messages(exc).values())})
    except Conflict as exc:
        db.rollback()
        return _list(request, db, me, problem=dforms.refusal(exc), status=409)
    return RedirectResponse(f"/callouts?saved={member.callout.value}", status_code=303)


# --- the signed link ---------------------------------------------------------------------------

def _linked(request: Request, db: Session, deployment_id: uuid.UUID, expert_id: uuid.UUID,
            token: str, *, problem: str | None = None, saved: str | None = None,
            errors: dict[str, str] | None = None, status: int = 200) -> Response:
    """The call-out as its link shows it, or only the refusal when the link is not good."""
    try:
        shown, answerable = dispatch.by_link(
            db=db, deployment_id=deployment_id, expert_id=expert_id,
            token=token if dforms.TOKEN.fullmatch(token) else "", links=dforms.links(request))
    except Forbidden:
        return render(request, "callout.html", {"c": None, "problem": _(dforms.BAD_LINK)},
                      status=403, headers=NO_REFERRER)
    return render(request, "callout.html", {
        "c": shown, "token": token, "problem": problem, "errors": errors or {},
        "saved": _(SAVED[saved]) if saved in SAVED else None,
        "open": answerable}, status=status, headers=NO_REFERRER)


@router.get("/callouts/{deployment_id}/{expert_id}")
def linked(request: Request, db: Db, me: Viewer, deployment_id: PublicIdParam,
           expert_id: PublicIdParam, token: str = "") -> Response:
    """The call-out's e-mail link: no sign-in, the token in the address authorises."""
    return _linked(request, db, deployment_id, expert_id, token[:200])


@router.post("/callouts/{deployment_id}/{expert_id}")
def answer_by_link(request: Request, db: Db, me: Viewer, form: OpenForm,
                   deployment_id: PublicIdParam, expert_id: PublicIdParam) -> Response:
    """Accept, or decline with a reason, through the signed link (signed in or not)."""
    token = forms.text(form, "token")[:200]
    if not dforms.TOKEN.fullmatch(token):
        return _linked(request, db, deployment_id, expert_id, "")
    try:
        member = dispatch.answer(db=db, actor=None, deployment_id=deployment_id,
                                 expert_id=expert_id, data=_answer(form, token),
                                 links=dforms.links(request))
    except ValidationError as exc:
        return _linked(request, db, deployment_id, expert_id, token, status=422,
                       errors={"reason": " ".join(dforms.messages(exc).values())})
    except (Forbidden, NotFound):
        db.rollback()
        return _linked(request, db, deployment_id, expert_id, "")
    except Conflict as exc:
        db.rollback()
        return _linked(request, db, deployment_id, expert_id, token, status=409,
                       problem=dforms.refusal(exc))
    return _linked(request, db, deployment_id, expert_id, token, saved=member.callout.value)
