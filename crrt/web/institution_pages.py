"""Web pages that add, change and remove a nation's institutions (its CSIRT, cyber command,
university...): for its POC, admins and coordinators, as the service's ``INSTITUTIONS_WRITE``
rule says, asked before a form is offered.

Removing an institution is never refused: its experts stay in the pool without one, and the
form says so before the button.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from crrt.access import policy
from crrt.access.policy import Permission
from crrt.access.principal import Principal
from crrt.core.errors import Conflict
from crrt.core.http import Db, PublicIdParam
from crrt.organisations import service as org_service
from crrt.organisations.enums import InstitutionKind
from crrt.organisations.schemas import InstitutionIn, InstitutionPatch
from crrt.web import organisation_forms as org_forms
from crrt.web.i18n import N_, _
from crrt.web.session import CheckedForm, SignedIn
from crrt.web.templating import render

if TYPE_CHECKING:
    from crrt.organisations.models import Institution, Organisation

router = APIRouter(include_in_schema=False)

ANCHORS = {name: name for name in org_forms.INSTITUTION_FIELDS}
NAME_MISSING = N_("Enter the institution's name.")


def _writable(db: Session, me: Principal, code: str) -> Organisation:
    org = org_service.get(db=db, actor=me, code=code)
    policy.require(me, Permission.INSTITUTIONS_WRITE, org,
                   refusal=_("You may change the institutions of your own nation only.")
                   if policy.may(me, Permission.INSTITUTIONS_WRITE) else None)
    return org


def _form(request: Request, org: Organisation, values: dict[str, str], errors: dict[str, str],
          institution: Institution | None = None, status: int = 200) -> Response:
    return render(request, "institution_form.html", {
        "org": org_service.organisation_out(org), "values": values, "errors": errors,
        "anchors": ANCHORS, "kinds": list(InstitutionKind),
        "institution": org_service.institution_out(institution) if institution else None},
        status=status)


def _messages(exc: ValidationError | Conflict, org: Organisation,
              name: str) -> dict[str, str]:
    if isinstance(exc, Conflict):
        return {"name": _("%(org)s has an institution named '%(name)s' already.",
                          org=org.name, name=name)}
    found = org_forms.field_messages(exc)
    if "kind" in found:
        found["kind"] = _("Choose the kind of institution.")
    return found


def _left_empty(shown: dict[str, str]) -> dict[str, str]:
    return {} if shown["name"] else {"name": _(NAME_MISSING)}


def _saved(org: Organisation) -> Response:
    return RedirectResponse(f"/organisations/{org.code}?saved=institution#institutions",
                            status_code=303)


@router.get("/{code}/institutions/new")
def new_form(request: Request, db: Db, me: SignedIn, code: str) -> Response:
    org = _writable(db, me, code)
    return _form(request, org, {"name": "", "kind": InstitutionKind.CSIRT.value}, {})


@router.post("/{code}/institutions/new")
def create(request: Request, db: Db, me: SignedIn, code: str, form: CheckedForm) -> Response:
    org = _writable(db, me, code)
    shown = org_forms.values(form, org_forms.INSTITUTION_FIELDS)
    data: dict[str, Any] = {k: v for k, v in shown.items() if v}
    try:
        org_service.create_institution(db=db, actor=me, code=code,
                                       data=InstitutionIn.model_validate(data))
    except (ValidationError, Conflict) as exc:
        if isinstance(exc, Conflict):
            db.rollback()
        errors = {**_messages(exc, org, shown["name"]), **_left_empty(shown)}
        return _form(request, org, shown, errors, status=422)
    return _saved(org)


@router.get("/{code}/institutions/{institution_id}/edit")
def edit_form(request: Request, db: Db, me: SignedIn, code: str,
              institution_id: PublicIdParam) -> Response:
    org = _writable(db, me, code)
    inst = org_service.get_institution(db=db, actor=me, code=code,
                                       institution_id=institution_id)
    return _form(request, org, {"name": inst.name, "kind": inst.kind.value}, {},
                 institution=inst)


@router.post("/{code}/institutions/{institution_id}/edit")
def save(request: Request, db: Db, me: SignedIn, code: str, institution_id: PublicIdParam,
         form: CheckedForm) -> Response:
    org = _writable(db, me, code)
    inst = org_service.get_institution(db=db, actor=me, code=code,
                                       institution_id=institution_id)
    shown = org_forms.values(form, org_forms.INSTITUTION_FIELDS)
    errors = _left_empty(shown)
    try:
        patch = InstitutionPatch.model_validate({k: v for k, v in shown.items() if v})
    except ValidationError as exc:
        errors = {**_messages(exc, org, shown["name"]), **errors}
    if not errors:
        try:
            org_service.update_institution(db=db, actor=me, code=code,
                                           institution_id=institution_id, data=patch)
        except Conflict as exc:
            db.rollback()
            errors = _messages(exc, org, shown["name"])
        else:
            return _saved(org)
    return _form(request, org, shown, errors, institution=inst, status=422)


@router.post("/{code}/institutions/{institution_id}/delete")
def delete(db: Db, me: SignedIn, code: str, institution_id: PublicIdParam,
           form: CheckedForm) -> Response:
    org = _writable(db, me, code)
    org_service.delete_institution(db=db, actor=me, code=code, institution_id=institution_id)
    return RedirectResponse(f"/organisations/{org.code}?saved=removed#institutions",
                            status_code=303)
