"""Deployment pages: the list, and one deployment with its team, each nation's consent, the
coordination cell's forms (status, logistics, the mission arrangement, the final report) and
the costs with their sharing.

The services decide who may do what and when; a page asks the policy the question the service
will ask before offering a form, and a refusal is shown by the field it concerns, or at the
top of the page, with nothing changed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from crrt.access import policy
from crrt.access.policy import Permission
from crrt.access.principal import Principal
from crrt.assistance import costs, deployments, dispatch
from crrt.assistance.enums import Callout, Consent, CostKind, DeploymentState, Sharing
from crrt.assistance.schemas import (
    ConsentIn,
    CostIn,
    DeploymentOut,
    DeploymentPatch,
    MissionArrangement,
    ReportIn,
    SharingIn,
    StatusIn,
)
from crrt.core import clock
from crrt.core.errors import Conflict, Invalid
from crrt.core.http import Db, PublicIdParam
from crrt.organisations import service as organisations
from crrt.web import deployment_forms as dforms
from crrt.web import forms, i18n
from crrt.web.i18n import N_, _
from crrt.web.session import CheckedForm, SignedIn
from crrt.web.templating import render

router = APIRouter(include_in_schema=False)

MANAGE = Permission.DEPLOYMENTS_MANAGE
OPEN = {DeploymentState(s) for s in deployments.OPEN}
# The confirmations a deployment's page shows after a change (?saved=...), and where.
SAVED = {
    "consent": ("consent", N_("Your nation's answer is recorded; a confirmed expert is "
                              "called out now.")),
    "status": ("status", N_("The deployment's state is changed.")),
    "logistics": ("logistics", N_("The logistics are saved.")),
    "arrangement": ("arrangement", N_("The mission arrangement is attached.")),
    "report": ("report", N_("The final report is filed and sent to the requester.")),
    "cost": ("costs", N_("The cost is recorded.")),
    "sharing": ("costs", N_("The sharing of the costs is saved.")),
}


def team_counts(d: DeploymentOut) -> dict[str, int]:
    """How far the team is: members proposed (still in), and those who accepted."""
    active = [m for m in d.members if m.active]
    return {"proposed": len(active), "size": d.team_size,
            "accepted": sum(m.callout is Callout.ACCEPTED for m in active)}


# --- the list ----------------------------------------------------------------------------------

@router.get("/deployments")
def deployments_page(request: Request, db: Db, me: SignedIn) -> Response:
    """The deployments the viewer may read, the newest first, with how far each team is."""
    shown = [deployments.deployment_out(db, me, d)
             for d in deployments.list_deployments(db=db, actor=me, limit=100)]
    return render(request, "deployments.html", {
        "deployments": [(d, team_counts(d)) for d in shown]})


# --- one deployment ----------------------------------------------------------------------------

def _consent_rows(db: Session, me: Principal, d: DeploymentOut) -> list[Any]:
    """The members awaiting the viewer's consent: of a nation whose POC the viewer is."""
    if d.status not in OPEN or not policy.may(me, Permission.DEPLOYMENTS_CONSENT):
        return []
    waiting = [m for m in d.members if m.active and m.consent is Consent.PENDING]
    nations = {code: organisations.get(db=db, actor=me, code=code)
               for code in {m.org for m in waiting}}
    return [m for m in waiting
            if policy.allows(me, Permission.DEPLOYMENTS_CONSENT, nations[m.org])]


def _payers(db: Session, me: Principal) -> list[Any]:
    """The nations whose costs the viewer may record (its own, or any for the cell)."""
    if not policy.may(me, Permission.COSTS_WRITE):
        return []
    return [o for o in organisations.all_organisations(db=db, actor=me)
            if policy.allows(me, Permission.COSTS_WRITE, o)]


def _defaults(d: DeploymentOut, money: Any, payers: list[Any], zone: str) -> dict[str, str]:
    """What the forms hold before anything is typed: the deployment as it stands."""
    terms = d.arrangement or {}
    return {
        "location": d.location, "logistics": d.logistics,
        "starts_at": dforms.local_input(d.starts_at, zone),
        "ends_at": dforms.local_input(d.ends_at, zone),
        **{name: str(terms.get(name, "")) for name in dforms.ARRANGEMENT},
        "kind": CostKind.TRAVEL.value, "amount": "", "currency": "EUR", "description": "",
        "paid_by": payers[0].code if len(payers) == 1 else "",
        "policy": money.sharing.value,
        "key": ", ".join(f"{code} {share.normalize():f}" for code, share in money.key.items()),
        "summary": "", "reason": ""}


def _page(request: Request, db: Session, me: Principal, deployment_id: uuid.UUID, *,
          values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
          problem: str | None = None, status: int = 200) -> Response:
    found = deployments.get(db=db, actor=me, deployment_id=deployment_id)
    d = deployments.deployment_out(db, me, found)
    money = costs.costs(db=db, actor=me, deployment_id=deployment_id)
    payers = _payers(db, me)
    managing = policy.may(me, MANAGE)
    saved = SAVED.get(request.query_params.get("saved", ""))
    return render(request, "deployment.html", {
        "d": d, "counts": team_counts(d), "money": money, "problem": problem,
        "saved": (saved[0], _(saved[1])) if saved else None,
        "values": {**_defaults(d, money, payers, i18n.current().zone), **(values or {})},
        "errors": errors or {}, "anchors": {name: name for name in errors or {}},
        "consents": _consent_rows(db, me, d), "payers": payers,
        "may_read_request": policy.may(me, Permission.REQUESTS_READ),
        "may_manage": managing, "open": d.status in OPEN,
        "moves": sorted({t for move in deployments.DEPLOYMENT.moves_from(d.status.value)
                         for t in move.targets} - {DeploymentState.CANCELLED.value},
                        key=[s.value for s in DeploymentState].index) if managing else [],
        "may_cancel": managing and d.status in OPEN,
        "may_share": managing, "kinds": [k.value for k in CostKind],
        "policies": [p.value for p in Sharing], "now": clock.now()}, status=status)


@router.get("/deployments/{deployment_id}")
def deployment_page(request: Request, db: Db, me: SignedIn,
                    deployment_id: PublicIdParam) -> Response:
    return _page(request, db, me, deployment_id)


def _act(request: Request, db: Session, me: Principal, deployment_id: uuid.UUID, saved: str,
         action: Callable[[], object], *, values: dict[str, str] | None = None,
         errors: dict[str, str] | None = None,
         field_of: Callable[[str], str] = lambda name: name) -> Response:
    """Do ``action`` unless the form's own reading found ``errors``; a refusal shows the page
    again, the problem by its field (``field_of`` names it on the page) or at the top."""
    problem = None
    if not errors:
        try:
            action()
        except (ValidationError, Invalid) as exc:
            db.rollback()
            errors = dforms.messages(exc)
        except Conflict as exc:
            db.rollback()
            problem = dforms.refusal(exc)
        else:
            anchor = SAVED[saved][0]
            return RedirectResponse(f"/deployments/{deployment_id}?saved={saved}#{anchor}",
                                    status_code=303)
    errors = {field_of(k): v for k, v in (errors or {}).items()}
    if "_form" in errors:  # a rule across the form's fields that no field owns
        problem = problem or errors.pop("_form")
    return _page(request, db, me, deployment_id, values=values, errors=errors, problem=problem,
                 status=409 if problem and not errors else 422)


@router.post("/deployments/{deployment_id}/consent")
def give_consent(request: Request, db: Db, me: SignedIn, form: CheckedForm,
                 deployment_id: PublicIdParam) -> Response:
    """A nation's POC confirms (with any caveat) or declines one of its experts."""
    policy.require_some(me, Permission.DEPLOYMENTS_CONSENT)
    expert, caveat = forms.text(form, "expert_id")[:40], forms.text(form, "caveat")[:1001]
    data = {"expert_id": expert, "consent": forms.text(form, "consent") == "confirm",
            "caveat": caveat}
    return _act(request, db, me, deployment_id, "consent", lambda: dispatch.consent(
        db=db, actor=me, deployment_id=deployment_id, data=ConsentIn.model_validate(data),
        links=dforms.links(request)), values={f"caveat-{expert}": caveat},
        field_of=lambda name: f"caveat-{expert}" if name == "caveat" else name)


@router.post("/deployments/{deployment_id}/status")
def move(request: Request, db: Db, me: SignedIn, form: CheckedForm,
         deployment_id: PublicIdParam) -> Response:
    """On to the next state, or cancelled with a reason."""
    policy.require(me, MANAGE)
    data = {"status": forms.text(form, "status")[:20], "reason": forms.text(form, "reason")[:2001]}
    return _act(request, db, me, deployment_id, "status", lambda: deployments.move(
        db=db, actor=me, deployment_id=deployment_id, data=StatusIn.model_validate(data)),
        values={"reason": data["reason"]})


@router.post("/deployments/{deployment_id}/logistics")
def logistics(request: Request, db: Db, me: SignedIn, form: CheckedForm,
              deployment_id: PublicIdParam) -> Response:
    """Where and when the team goes, and its travel and logistics notes."""
    policy.require(me, MANAGE)
    shown, data, errors = dforms.logistics(form, i18n.current().zone)
    return _act(request, db, me, deployment_id, "logistics", lambda: deployments.update(
        db=db, actor=me, deployment_id=deployment_id,
        data=DeploymentPatch.model_validate(data)), values=shown, errors=errors)


@router.post("/deployments/{deployment_id}/arrangement")
def arrangement(request: Request, db: Db, me: SignedIn, form: CheckedForm,
                deployment_id: PublicIdParam) -> Response:
    """The mission arrangement: legal basis, scope, liability, data handling, cost terms."""
    policy.require(me, MANAGE)
    shown = dforms.texts(form, dforms.ARRANGEMENT)
    data = {k: v for k, v in shown.items() if v or k != "legal_basis"}  # else the MoU
    return _act(request, db, me, deployment_id, "arrangement", lambda: (
        deployments.attach_arrangement(db=db, actor=me, deployment_id=deployment_id,
                                       data=MissionArrangement.model_validate(data))),
        values=shown)


@router.post("/deployments/{deployment_id}/report")
def report(request: Request, db: Db, me: SignedIn, form: CheckedForm,
           deployment_id: PublicIdParam) -> Response:
    """The final report to the requester, after the deployment's completion."""
    policy.require(me, MANAGE)
    shown = dforms.texts(form, ("summary",), limit=10_001)
    return _act(request, db, me, deployment_id, "report", lambda: deployments.file_report(
        db=db, actor=me, deployment_id=deployment_id, data=ReportIn.model_validate(shown)),
        values=shown)


@router.post("/deployments/{deployment_id}/costs")
def add_cost(request: Request, db: Db, me: SignedIn, form: CheckedForm,
             deployment_id: PublicIdParam) -> Response:
    """A cost as paid: its kind, amount and currency, and the nation that paid it."""
    policy.require_some(me, Permission.COSTS_WRITE)
    shown = dforms.texts(form, dforms.COST, limit=201)
    data = {**shown, "currency": shown["currency"].upper()}
    return _act(request, db, me, deployment_id, "cost", lambda: costs.add(
        db=db, actor=me, deployment_id=deployment_id, data=CostIn.model_validate(data)),
        values=shown)


@router.post("/deployments/{deployment_id}/sharing")
def sharing(request: Request, db: Db, me: SignedIn, form: CheckedForm,
            deployment_id: PublicIdParam) -> Response:
    """Who bears the costs; a common budget takes each nation's share."""
    policy.require(me, MANAGE)
    shown = dforms.texts(form, dforms.SHARING, limit=2001)
    key = dforms.sharing_key(shown["key"])
    errors = {"key": _(dforms.FIELD_MESSAGES["key"])} if key is None else {}
    return _act(request, db, me, deployment_id, "sharing", lambda: costs.set_sharing(
        db=db, actor=me, deployment_id=deployment_id,
        data=SharingIn.model_validate({"policy": shown["policy"], "key": key})),
        values=shown, errors=errors)
