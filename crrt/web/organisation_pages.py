"""Web pages of the organisations: the list, one organisation with its contact card and
membership, a new organisation, and the edit form (the name and the card).

The services decide, as for the API; a page asks the policy the question the service will ask
before offering a form (``ORGANISATIONS_WRITE`` to add and rename, ``ORGANISATIONS_CONTACT``
for the card, which a POC keeps for its own nation, ``MEMBERSHIP_WRITE`` for the membership),
and sends only the fields the viewer may change. Institutions are
:mod:`crrt.web.institution_pages`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from crrt.access import policy
from crrt.access.enums import Tlp
from crrt.access.policy import Permission
from crrt.access.principal import Principal
from crrt.core import clock
from crrt.core.errors import Conflict, Invalid
from crrt.core.http import Db, PublicIdParam
from crrt.organisations import service as org_service
from crrt.organisations.enums import Membership, OrgKind
from crrt.organisations.schemas import OrganisationIn, OrganisationPatch
from crrt.web import organisation_forms as org_forms
from crrt.web.i18n import N_, _
from crrt.web.institution_pages import router as institution_router
from crrt.web.session import CheckedForm, SignedIn
from crrt.web.templating import inline_label, render

if TYPE_CHECKING:
    from crrt.organisations.models import Organisation

router = APIRouter(prefix="/organisations", include_in_schema=False)

MEMBERSHIPS = [*(m.value for m in Membership), org_forms.NO_MEMBERSHIP]
KINDS = [kind.value for kind in OrgKind]
# The confirmations an organisation's page shows after a change (?saved=...), and where.
SAVED = {
    "created": ("top", N_("The organisation is added.")),
    "details": ("contact", N_("Your changes are saved.")),
    "membership": ("membership", N_("The membership change is recorded.")),
    "planned": ("membership", N_("The membership change is recorded; it takes effect on its "
                                 "day.")),
    "cancelled": ("membership", N_("The planned change is cancelled.")),
    "institution": ("institutions", N_("The institution is saved.")),
    "removed": ("institutions", N_("The institution is removed; its experts stay in the "
                                   "pool.")),
}
EDIT_ANCHORS = {name: name for name in ("name", *org_forms.CONTACT_FIELDS)}
MEMBERSHIP_ANCHORS = {name: name for name in org_forms.MEMBERSHIP_FIELDS}
NEW_ANCHORS = {name: name for name in org_forms.NEW_FIELDS}


# --- the list and a new organisation ------------------------------------------------------------

@router.get("")
def organisations(request: Request, db: Db, me: SignedIn, kind: str | None = None,
                  membership: str | None = None) -> Response:
    kind, membership = kind or None, membership or None
    if kind is not None and kind not in KINDS:
        raise Invalid.field(["query", "kind"],
                            _("'%(kind)s' is not a kind of organisation.", kind=kind))
    if membership is not None and membership not in MEMBERSHIPS:
        raise Invalid.field(["query", "membership"],
                            _("'%(membership)s' is not a membership.", membership=membership))
    rows = []
    for org in org_service.all_organisations(db=db, actor=me):
        out = org_service.organisation_out(org)
        held = out.membership.value if out.membership else org_forms.NO_MEMBERSHIP
        if (kind and out.kind.value != kind) or (membership and held != membership):
            continue
        rows.append(out)
    return render(request, "organisations.html", {
        "organisations": rows, "kind": kind or "", "membership": membership or "",
        "kinds": KINDS, "memberships": MEMBERSHIPS,
        "may_add": policy.may(me, Permission.ORGANISATIONS_WRITE)})


def _new_form(request: Request, values: dict[str, str], errors: dict[str, str],
              status: int = 200) -> Response:
    return render(request, "organisation_new.html", {
        "values": values, "errors": errors, "anchors": NEW_ANCHORS, "kinds": KINDS,
        "memberships": MEMBERSHIPS, "today": clock.today()}, status=status)


@router.get("/new")
def new_form(request: Request, me: SignedIn) -> Response:
    policy.require(me, Permission.ORGANISATIONS_WRITE)
    blank = dict.fromkeys(org_forms.NEW_FIELDS, "")
    return _new_form(request, {**blank, "kind": OrgKind.NATION.value,
                               "membership": org_forms.NO_MEMBERSHIP,
                               "effective_on": clock.today().isoformat()}, {})


@router.post("/new")
def create(request: Request, db: Db, me: SignedIn, form: CheckedForm) -> Response:
    """Add an organisation; a refusal shows the form again with each problem by its field."""
    policy.require(me, Permission.ORGANISATIONS_WRITE)
    data, shown = org_forms.new_organisation(form)
    try:
        org = org_service.create(db=db, actor=me, data=OrganisationIn.model_validate(data))
    except ValidationError as exc:
        errors = org_forms.creation_messages(exc, shown)
    except (Conflict, Invalid) as exc:
        db.rollback()
        errors = {"code": _("An organisation with the code '%(code)s' exists already.",
                            code=data["code"])} if not exc.extra \
            else org_forms.membership_refusal(db, me, exc, None)
    else:
        return RedirectResponse(f"/organisations/{org.code}?saved=created", status_code=303)
    ordered = {f: errors[f] for f in sorted(errors, key=_order(org_forms.NEW_FIELDS))}
    return _new_form(request, shown, ordered, status=422)


def _order(fields: tuple[str, ...]) -> Any:
    return lambda field: fields.index(field) if field in fields else -1


# --- one organisation ---------------------------------------------------------------------------

def _moves(org: Organisation) -> list[tuple[str, str]]:
    """The membership changes that may be recorded next, worded as what they do."""
    latest = org.latest
    moves = [(m.value, _("Join as %(membership)s", membership=inline_label(m)) if latest is None
              else _("Change role to %(membership)s", membership=inline_label(m)))
             for m in Membership if m is not latest]
    if latest is not None:
        moves.append((org_forms.NO_MEMBERSHIP, _("Leave the project")))
    return moves


def show(request: Request, db: Session, me: Principal, org: Organisation, *,
         saved: str | None = None, membership: dict[str, str] | None = None,
         membership_errors: dict[str, str] | None = None, cancel_error: str | None = None,
         status: int = 200) -> Response:
    """An organisation's page, with the forms and links the policy lets the viewer use."""
    changes = [org_service.history_out(c) for c in org.history]
    last = org.history[-1] if org.history else None
    records = org.kind is OrgKind.NATION and policy.allows(me, Permission.MEMBERSHIP_WRITE, org)
    return render(request, "organisation.html", {
        "org": org_service.organisation_out(org),
        "history": [c for c in reversed(changes) if not c.planned],
        "planned": [c for c in changes if c.planned],
        "institutions": [org_service.institution_out(i) for i in org.institutions],
        "pool_link": policy.allows(me, Permission.POOL_READ, org),
        "may_edit": policy.allows(me, Permission.ORGANISATIONS_CONTACT, org),
        "renames": policy.may(me, Permission.ORGANISATIONS_WRITE),
        "may_record": records, "moves": _moves(org) if records else [],
        "cancellable": last.public_id if records and last and last.is_planned else None,
        "may_institutions": policy.allows(me, Permission.INSTITUTIONS_WRITE, org),
        "saved": _(SAVED[saved][1]) if saved in SAVED else None,
        "saved_where": SAVED[saved][0] if saved in SAVED else None,
        "change": membership or {"membership": "", "note": "",
                                 "effective_on": clock.today().isoformat()},
        "change_errors": membership_errors or {}, "change_anchors": MEMBERSHIP_ANCHORS,
        "cancel_error": cancel_error, "today": clock.today()}, status=status)


@router.get("/{code}")
def organisation(request: Request, db: Db, me: SignedIn, code: str,
                 saved: str | None = None) -> Response:
    return show(request, db, me, org_service.get(db=db, actor=me, code=code), saved=saved)


@router.post("/{code}/membership")
def record_membership(request: Request, db: Db, me: SignedIn, code: str,
                      form: CheckedForm) -> Response:
    """Record a join, a role change or a departure on its day (planned if later); a refusal
    shows the page again with the form as typed and the problem by its field."""
    org = org_service.get(db=db, actor=me, code=code)
    policy.require(me, Permission.MEMBERSHIP_WRITE, org)
    shown = org_forms.values(form, org_forms.MEMBERSHIP_FIELDS)
    errors = org_forms.left_empty(shown, ("membership",))
    data: dict[str, Any] = {"note": shown["note"],
                            "membership": None if shown["membership"] in
                            ("", org_forms.NO_MEMBERSHIP) else shown["membership"]}
    if shown["effective_on"]:
        data["effective_on"] = shown["effective_on"]
    try:
        patch = OrganisationPatch.model_validate(data)
    except ValidationError as exc:
        errors = {**org_forms.field_messages(exc), **errors}
    if not errors:
        recorded = len(org.history)
        try:
            org_service.update(db=db, actor=me, code=code, data=patch)
        except (Conflict, Invalid) as exc:
            db.rollback()
            errors = org_forms.membership_refusal(db, me, exc, patch.effective_on)
        else:
            if len(org.history) > recorded:
                planned = org.history[-1].is_planned
                return RedirectResponse(
                    f"/organisations/{org.code}?saved={'planned' if planned else 'membership'}"
                    "#membership-history", status_code=303)
            errors = {"membership": _("That is the membership already; choose another "
                                      "change.")}
    org = org_service.get(db=db, actor=me, code=code)
    ordered = {f: errors[f] for f in sorted(errors, key=_order(org_forms.MEMBERSHIP_FIELDS))}
    return show(request, db, me, org, membership=shown, membership_errors=ordered, status=422)


@router.post("/{code}/history/{change_id}/cancel")
def cancel_change(request: Request, db: Db, me: SignedIn, code: str,
                  change_id: PublicIdParam, form: CheckedForm) -> Response:
    """Cancel the last planned change; a refusal (another nation is to lead) is said on the
    page."""
    org = org_service.get(db=db, actor=me, code=code)
    policy.require(me, Permission.MEMBERSHIP_WRITE, org)
    change = next((c for c in org.history if c.public_id == change_id), None)
    day = change.effective_on if change is not None else None
    try:
        org_service.cancel_planned(db=db, actor=me, code=code, change_id=change_id)
    except Conflict as exc:
        db.rollback()
        refusal = org_forms.membership_refusal(db, me, exc, day)
        return show(request, db, me, org_service.get(db=db, actor=me, code=code),
                    cancel_error=next(iter(refusal.values())), status=409)
    return RedirectResponse(f"/organisations/{org.code}?saved=cancelled#membership-history",
                            status_code=303)


# --- the name and the contact card --------------------------------------------------------------

def _card_values(org: Organisation) -> dict[str, str]:
    card = org_service.contact_out(org)
    fingerprint = card.pgp_fingerprint or ""
    return {"name": org.name, "hotline": card.hotline or "", "email": card.email or "",
            "pgp_fingerprint": " ".join(fingerprint[i:i + 4]
                                        for i in range(0, len(fingerprint), 4)),
            "messenger": card.messenger or "",
            "default_tlp": card.default_tlp.value if card.default_tlp else ""}


def _edit_form(request: Request, me: Principal, org: Organisation, values: dict[str, str],
               errors: dict[str, str], status: int = 200) -> Response:
    return render(request, "organisation_edit.html", {
        "org": org_service.organisation_out(org), "values": values, "errors": errors,
        "anchors": EDIT_ANCHORS, "tlps": list(Tlp),
        "renames": policy.may(me, Permission.ORGANISATIONS_WRITE)}, status=status)


def _editable(db: Session, me: Principal, code: str) -> Organisation:
    org = org_service.get(db=db, actor=me, code=code)
    policy.require(me, Permission.ORGANISATIONS_CONTACT, org,
                   refusal=_("You may keep the contact card of your own nation only.")
                   if policy.may(me, Permission.ORGANISATIONS_CONTACT) else None)
    return org


@router.get("/{code}/edit")
def edit_form(request: Request, db: Db, me: SignedIn, code: str) -> Response:
    org = _editable(db, me, code)
    return _edit_form(request, me, org, _card_values(org), {})


@router.post("/{code}/edit")
def save(request: Request, db: Db, me: SignedIn, code: str, form: CheckedForm) -> Response:
    """Save the card (and the name, for whom may rename); each field left empty clears it."""
    org = _editable(db, me, code)
    renames = policy.may(me, Permission.ORGANISATIONS_WRITE)
    shown = org_forms.values(form, ("name", *org_forms.CONTACT_FIELDS))
    data: dict[str, Any] = {"contact": {name: shown[name] or None
                                        for name in org_forms.CONTACT_FIELDS}}
    errors: dict[str, str] = {}
    if renames:
        data["name"] = shown["name"]
        errors = org_forms.left_empty(shown, ("name",))
    else:
        shown["name"] = org.name
    try:
        patch = OrganisationPatch.model_validate(data)
    except ValidationError as exc:
        errors = {**org_forms.field_messages(exc), **errors}
    else:
        if not errors:
            org_service.update(db=db, actor=me, code=code, data=patch)
            return RedirectResponse(f"/organisations/{org.code}?saved=details#contact",
                                    status_code=303)
    order = _order(("name", *org_forms.CONTACT_FIELDS))
    return _edit_form(request, me, org, shown, {f: errors[f] for f in sorted(errors, key=order)},
                      status=422)


router.include_router(institution_router)
