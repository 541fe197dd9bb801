"""Web pages of the expert pool: the filtered list, one expert, and the nomination form.

Changing an expert (editing, withdrawing, unavailability) is :mod:`crrt.web.expert_edit_pages`,
which shares the expert page and the form's fields from here.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import date
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from crrt.access import policy
from crrt.access.policy import Permission
from crrt.access.principal import Principal
from crrt.core import clock
from crrt.core.errors import Conflict, Invalid, NotFound
from crrt.core.http import Db, PublicIdParam
from crrt.experts import service as expert_service
from crrt.experts.enums import Clearance, Deployability, Skill
from crrt.experts.schemas import ExpertFilter, ExpertIn, ExpertOut
from crrt.organisations import service as org_service
from crrt.web import forms
from crrt.web.i18n import N_, _, format_count, ngettext
from crrt.web.session import CheckedForm, SignedIn
from crrt.web.templating import render

if TYPE_CHECKING:
    from crrt.experts.models import Expert
    from crrt.organisations.models import Organisation

router = APIRouter(prefix="/experts", include_in_schema=False)

PAGE_SIZE = 25
FILTERS = ("org", "skill", "min_level", "language", "clearance", "deployability",
           "available_on", "available_until", "stale", "q")
TIME_ZONES = ["UTC", "Europe/Amsterdam", "Europe/Athens", "Europe/Berlin", "Europe/Brussels",
              "Europe/Bucharest", "Europe/Helsinki", "Europe/Lisbon", "Europe/Ljubljana",
              "Europe/Madrid", "Europe/Paris", "Europe/Riga", "Europe/Rome", "Europe/Tallinn",
              "Europe/Vilnius", "Europe/Warsaw", "Europe/Zagreb"]

CHOICES = {"skills": list(Skill), "clearances": list(Clearance),
           "deployabilities": list(Deployability)}
# Where each field's error in the summary leads (a group's legend for skills and deployability).
FORM_ANCHORS = {"org": "org", "institution_id": "institution_id", "name": "name",
                "email": "email", "phone": "phone", "skills": "skills-legend",
                "languages": "languages", "clearance": "clearance",
                "deployability": "deployability-legend", "time_zone": "time_zone",
                "notes": "notes", "user_email": "user_email"}
PERIOD_ANCHORS = {"starts_on": "starts_on", "ends_on": "ends_on", "reason": "reason"}
EMPTY_PERIOD = {"starts_on": "", "ends_on": "", "reason": ""}
# The confirmations an expert's page shows after a change (?saved=...), and where.
SAVED = {
    "details": ("top", N_("Your changes are saved.")),
    "period": ("unavailability", N_("The period of unavailability is recorded.")),
    "removed": ("unavailability", N_("The period of unavailability is removed.")),
    "confirmed": ("top", N_("The record is confirmed current for another year.")),
    "erased": ("top", N_("The personal data is erased from every part of the platform; the "
                         "audit log records the erasure.")),
}


def _count(params: Any, name: str) -> int:
    value = params.get(name, "")
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 6 else 0


def import_notice(params: Any) -> str | None:
    """What the pool says after an import (``?imported=1&added=…&updated=…``): only counts
    come from the address, and only the viewer who follows it reads them."""
    if params.get("imported") != "1":
        return None
    added, updated = _count(params, "added"), _count(params, "updated")
    return " ".join((
        _("The spreadsheet is imported."),
        ngettext("%(num)s expert was added.", "%(num)s experts were added.", added,
                 num=format_count(added)),
        ngettext("%(num)s expert was updated.", "%(num)s experts were updated.", updated,
                 num=format_count(updated))))


def _unavailable_until(expert: ExpertOut, today: date) -> date | None:
    """The last day of the unavailability period covering today, if one does."""
    for period in expert.unavailability:
        if period.starts_on <= today <= period.ends_on:
            return period.ends_on
    return None


# The orders the pool's list offers (the Name heading switches between them).
SORTS = {"": None, "name": True, "-name": False}


@router.get("")
def pool(request: Request, db: Db, me: SignedIn, cursor: str | None = None,
         withdrawn: str | None = None, sort: str = "") -> Response:
    """The pool, narrowed by the GET form; the service keeps it to what the viewer may see."""
    policy.require_some(me, Permission.EXPERTS_READ)
    params = request.query_params
    values = {name: forms.text(params, name) for name in FILTERS}
    errors: dict[str, str] = {}
    rows: list[dict[str, Any]] = []
    next_cursor = None
    nations = org_service.pool_nations(db=db, actor=me)
    # A nation outside the viewer's pool is told by its field, beside any other problem,
    # rather than answered with an empty list.
    outside = bool(values["org"]) and values["org"].upper() not in {n.code for n in nations}
    day, total = None, 0
    try:
        filters = ExpertFilter.model_validate({k: v for k, v in values.items() if v})
    except ValidationError as exc:
        errors = forms.messages(exc)
    else:
        day = filters.available_on
        if not outside:
            try:
                experts, next_cursor = expert_service.list_experts(
                    db=db, actor=me, filters=filters, limit=PAGE_SIZE, cursor=cursor or None,
                    by_name=SORTS.get(sort))
            except Invalid as exc:
                errors = forms.messages(exc.errors) or {"_form": _(exc.detail)}
            else:
                total = len(experts) if not next_cursor and not cursor else \
                    expert_service.count_experts(db=db, actor=me, filters=filters)
                for expert in experts:
                    out = expert_service.expert_out(db, me, expert)
                    away = _unavailable_until(out, day or clock.today())
                    rows.append({"expert": out, "unavailable_until": away,
                                 "available": away is None})
    if outside:
        errors["org"] = _("Choose one of the listed nations: you see the experts of "
                          "%(nations)s.", nations=", ".join(n.name for n in nations))
    query = {k: v for k, v in values.items() if v}
    sort = sort if sort in SORTS else ""
    ordered = {**query, "sort": sort} if sort else query
    # The Name heading's link: A to Z first, then Z to A, then back to A to Z.
    sort_url = f"/experts?{urlencode({**query, 'sort': '-name' if sort == 'name' else 'name'})}"
    can_nominate = bool(expert_service.nominating_nations(db=db, actor=me))
    return render(request, "experts.html", {
        "rows": rows, "values": values, "errors": errors, "nations": nations,
        **forms.page_links("/experts", ordered, cursor, next_cursor), "filtered": bool(query),
        "can_nominate": can_nominate, "withdrawn": withdrawn == "1",
        "imported": import_notice(request.query_params),
        "availability_day": day if day and day != clock.today() else None, "total": total,
        "sort": sort, "sort_url": sort_url,
        **CHOICES},
        status=422 if errors else 200)


def _nomination_nations(db: Session, me: Principal) -> list[Organisation]:
    """The nations this viewer may nominate for (its own, or any for central roles)."""
    policy.require_some(me, Permission.EXPERTS_WRITE)
    return expert_service.nominating_nations(db=db, actor=me)


def form_context(db: Session, me: Principal, nations: list[Organisation]) -> dict[str, Any]:
    """What the expert form's fields (``_expert_fields.html``) choose from."""
    institutions = [(nation, org_service.list_institutions(db=db, actor=me, code=nation.code))
                    for nation in nations]
    return {"nations": nations, "institutions": [(n, i) for n, i in institutions if i],
            "time_zones": TIME_ZONES, "anchors": FORM_ANCHORS, **CHOICES}


def _nomination_form(request: Request, db: Session, me: Principal, nations: list[Organisation],
                     values: dict[str, Any], errors: dict[str, str],
                     status: int = 200) -> Response:
    return render(request, "expert_form.html", {
        **form_context(db, me, nations), "values": values, "errors": errors,
        "links_accounts": policy.may(me, Permission.EXPERTS_LINK_USER)}, status=status)


def institution_problem(db: Session, me: Principal, nations: list[Organisation],
                        org: str | None, institution_id: str | None) -> dict[str, str]:
    """An institution chosen for a nation it does not belong to, told by both names (the
    service would only say the nation has no such institution)."""
    chosen = next((n for n in nations if org and n.code == org.upper()), None)
    if not institution_id or chosen is None:
        return {}
    for nation in nations:
        for inst in org_service.list_institutions(db=db, actor=me, code=nation.code):
            if str(inst.public_id) == institution_id:
                return {} if nation is chosen else {"institution_id": _(
                    "%(institution)s belongs to %(other)s, not %(nation)s. Choose one of "
                    "%(nation)s's institutions, or none.", institution=inst.name,
                    other=nation.name, nation=chosen.name)}
    return {"institution_id": _("Choose one of %(nation)s's institutions from the list, or "
                                "none.", nation=chosen.name)}


def conflict_field(detail: str) -> str:
    """Which field a clash is about: the linked account, the expert's email, or the form."""
    lowered = detail.lower()
    if "user" in lowered:
        return "user_email"
    return "email" if "email" in lowered else "_form"


def _check_nation(db: Session, me: Principal, nations: list[Organisation], code: str) -> None:
    policy.require(me, Permission.EXPERTS_WRITE, org_service.get(db=db, actor=me, code=code),
                   refusal=_("You may nominate experts only for %(nations)s.",
                             nations=", ".join(n.name for n in nations)))


@router.get("/new")
def nomination_form(request: Request, db: Db, me: SignedIn, org: str | None = None) -> Response:
    nations = _nomination_nations(db, me)
    errors: dict[str, str] = {}
    if org and org.upper() not in {n.code for n in nations}:
        with suppress(NotFound):  # a code no nation has: the form, told by its field
            _check_nation(db, me, nations, org)  # a nation this viewer may not nominate for
        errors["org"] = _("No nation has the code '%(code)s'. Choose one from the list.",
                          code=org[:8])
        org = None
    chosen = org.upper() if org else (nations[0].code if len(nations) == 1 else "")
    values = {"org": chosen, "skills": {}, "deployability": ["remote"], "time_zone": "UTC",
              "clearance": "none"}
    return _nomination_form(request, db, me, nations, values, errors,
                            status=422 if errors else 200)


@router.post("/new")
def nominate(request: Request, db: Db, me: SignedIn, form: CheckedForm) -> Response:
    """Nominate; a refusal shows the form again with each problem beside its field."""
    nations = _nomination_nations(db, me)
    data, shown = forms.nomination(form)
    if data.get("org"):
        _check_nation(db, me, nations, data["org"])
    if len(nations) == 1:
        data["org"] = shown["org"] = nations[0].code
    # the problems that depend on two fields come with the others, all at once
    errors = institution_problem(db, me, nations, data.get("org"), data.get("institution_id"))
    try:
        incoming = ExpertIn.model_validate(data)
        if errors:
            return _nomination_form(request, db, me, nations, shown, errors, status=422)
        expert = expert_service.nominate(db=db, actor=me, data=incoming)
    except ValidationError as exc:
        errors = {**forms.messages(exc), **errors}
    except Invalid as exc:
        db.rollback()
        errors = forms.messages(exc.errors) or {"_form": _(exc.detail)}
    except Conflict as exc:
        db.rollback()
        errors = {conflict_field(exc.detail): _(exc.detail)}
    else:
        return RedirectResponse(f"/experts/{expert.public_id}?nominated=1", status_code=303)
    return _nomination_form(request, db, me, nations, shown, errors, status=422)


def show_expert(request: Request, db: Session, me: Principal, expert: Expert, *,
                nominated: bool = False, saved: str | None = None,
                period: dict[str, str] | None = None, period_errors: dict[str, str] | None = None,
                status: int = 200) -> Response:
    """An expert's page, with what the viewer may do there as the policy answers for it: edit
    and withdraw (``EXPERTS_WRITE``), record and remove unavailability
    (``EXPERTS_AVAILABILITY``, a responder's own record too); an erased record changes no more.
    """
    out = expert_service.expert_out(db, me, expert)
    where, message = SAVED.get(saved or "", (None, None))
    writes = policy.allows(me, Permission.EXPERTS_WRITE, expert)
    return render(request, "expert.html", {
        "expert": out, "nominated": nominated,
        "unavailable_until": _unavailable_until(out, clock.today()),
        "may_edit": writes and not out.erased, "may_withdraw": writes,
        "may_record": policy.allows(me, Permission.EXPERTS_AVAILABILITY, expert)
        and not out.erased,
        "may_personal_data": policy.allows(me, Permission.EXPERTS_PERSONAL_DATA, expert),
        "saved": _(message) if message and where == "top" else None,
        "period_saved": _(message) if message and where == "unavailability" else None,
        "period": period or EMPTY_PERIOD, "period_errors": period_errors or {},
        "period_anchors": PERIOD_ANCHORS, "today": clock.today()}, status=status)


@router.get("/{expert_id}")
def expert_page(request: Request, db: Db, me: SignedIn, expert_id: PublicIdParam,
                nominated: str | None = None, saved: str | None = None) -> Response:
    expert = expert_service.get(db=db, actor=me, expert_id=expert_id)
    return show_expert(request, db, me, expert, nominated=nominated == "1", saved=saved)
