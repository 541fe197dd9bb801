"""Web pages of intel sharing: the collections the viewer reads (and, for the coordination
cell, a new one), a collection's objects searched and filtered, one object with its versions,
relationships and correlation, and values pasted to correlate.

What the viewer may see is decided below, in :mod:`crrt.intel.browse` and the intel service,
by the rules the API uses; the pages only ask and show.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from crrt.access import policy
from crrt.access.enums import Tlp
from crrt.access.policy import Permission
from crrt.access.principal import Principal
from crrt.core.errors import Conflict, Invalid, NotFound
from crrt.core.http import Db, PublicIdParam
from crrt.intel import browse, imports, stix
from crrt.intel import service as intel
from crrt.intel.schemas import CollectionIn, CorrelateIn, Observed
from crrt.organisations import service as org_service
from crrt.web import forms, i18n
from crrt.web.i18n import N_, _, ngettext
from crrt.web.session import CheckedForm, SignedIn
from crrt.web.templating import render

router = APIRouter(prefix="/intel", include_in_schema=False)

PAGE_SIZE = 25
FILTERS = ("q", "type", "tlp", "added_after")
MAX_SEARCH = 300
MAX_VALUES = 1000
CARRIED = [t for t in Tlp if t is not Tlp.RED]  # what a collection may carry
CREATE_ANCHORS = {"title": "title", "description": "description", "members": "members-legend",
                  "readers": "readers-legend", "max_tlp": "max_tlp"}
EMPTY_COLLECTION = {"title": "", "description": "", "members": [], "readers": [],
                    "max_tlp": Tlp.GREEN.value}
# The service's and the schema's words about a new collection, by the field to change.
COLLECTION_MESSAGES = {
    "TLP:RED": ("max_tlp", N_("A collection never carries TLP:RED: it is for named people, "
                              "not for organisations' systems.")),
    "TLP:AMBER+STRICT": ("max_tlp", N_("TLP:AMBER+STRICT stays in one organisation: a "
                                       "collection that carries it has one member.")),
    "has a title": ("title", N_("Enter the collection's title.")),
}
# How a correlation hit matches the value asked.
HOW = {
    # Translators: a correlation hit: the very same value
    "same": N_("the same value"),
    # Translators: a correlation hit: a network that holds the address asked
    "within": N_("a network holding it"),
    # Translators: a correlation hit: an address or network inside the network asked
    "contains": N_("inside the network asked"),
    # Translators: a correlation hit: a domain above the one asked (example.org for a.example.org)
    "above": N_("a parent domain"),
    # Translators: a correlation hit: a subdomain of the one asked
    "below": N_("a subdomain"),
}
# An object's fields shown in words, in this order; the rest is in its JSON.
FIELDS = {
    "name": N_("Name"),
    "description": N_("Description"),
    "pattern": N_("Pattern"),
    "value": N_("Value"),
    "indicator_types": N_("Indicator types"),
    "labels": N_("Labels"),
    "relationship_type": N_("Relationship"),
    "source_ref": N_("Source"),
    "target_ref": N_("Target"),
    "sighting_of_ref": N_("Sighting of"),
    "where_sighted_refs": N_("Seen by"),
    "count": N_("Count"),
    "first_seen": N_("First seen"),
    "last_seen": N_("Last seen"),
    "valid_from": N_("Valid from"),
    "valid_until": N_("Valid until"),
    "created": N_("Created"),
    "modified": N_("Modified"),
    "created_by_ref": N_("Created by"),
}
FIELD_CHARS = 2000


# --- the collections ----------------------------------------------------------------------------

def _collections_page(request: Request, db: Session, me: Principal, values: dict[str, Any],
                      errors: dict[str, str], status: int = 200) -> Response:
    found = intel.list_collections(db=db, actor=me)
    numbers = browse.counts(db=db, actor=me, collections=found)
    rows = [{"collection": intel.collection_out(db, me, c), "count": numbers.get(c.id, 0)}
            for c in found]
    may_create = policy.may(me, Permission.INTEL_MANAGE)
    return render(request, "intel_collections.html", {
        "rows": rows, "may_create": may_create, "values": values, "errors": errors,
        "anchors": CREATE_ANCHORS, "tlps": CARRIED,
        "may_import": policy.may(me, Permission.INTEL_WRITE),
        "organisations": org_service.all_organisations(db=db, actor=me) if may_create else []},
        status=status)


@router.get("")
def collections(request: Request, db: Db, me: SignedIn) -> Response:
    """The collections the viewer reads, with what each holds for it."""
    policy.require_some(me, Permission.INTEL_READ)
    return _collections_page(request, db, me, EMPTY_COLLECTION, {})


def _collection_problems(exc: ValidationError) -> dict[str, str]:
    """The schema's refusals, each by the field to change."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        where = next((v for k, v in COLLECTION_MESSAGES.items() if k in error["msg"]), None)
        field = str(error["loc"][0]) if error["loc"] else ""
        if where is not None:
            errors.setdefault(where[0], _(where[1]))
        elif field == "members" and error["type"] == "too_short":
            errors.setdefault("members", _("Choose at least one member organisation."))
        elif field == "title" and error["type"] in ("missing", "string_too_short"):
            errors.setdefault("title", _("Enter the collection's title."))
    general = forms.messages(exc)
    if errors:
        general.pop("_form", None)
    return {**general, **errors}


@router.post("")
def create_collection(request: Request, db: Db, me: SignedIn, form: CheckedForm) -> Response:
    """A new sharing group; a refusal shows the form again, each problem by its field."""
    policy.require(me, Permission.INTEL_MANAGE)
    values = {"title": forms.text(form, "title"), "description": forms.text(form, "description"),
              "members": [v for v in form.getlist("members") if isinstance(v, str)][:100],
              "readers": [v for v in form.getlist("readers") if isinstance(v, str)][:100],
              "max_tlp": forms.text(form, "max_tlp") or Tlp.GREEN.value}
    readers = [code for code in values["readers"] if code not in values["members"]]
    errors: dict[str, str] = {}
    try:
        data = CollectionIn.model_validate({**values, "readers": readers})
        made = intel.create_collection(db=db, actor=me, data=data)
    except ValidationError as exc:
        errors = _collection_problems(exc)
    except Conflict:
        db.rollback()
        errors = {"title": _("Another collection has this title: choose another.")}
    except (Invalid, NotFound) as exc:
        db.rollback()
        errors = {"members": _("Choose the organisations from the list.")} \
            if isinstance(exc, NotFound) else forms.messages(exc.errors)
    else:
        return RedirectResponse(f"/intel/collections/{made.public_id}?created=1",
                                status_code=303)
    return _collections_page(request, db, me, values, errors, status=422)


# --- one collection's objects -------------------------------------------------------------------

def _filters(values: dict[str, str]) -> tuple[browse.ObjectFilter, dict[str, str]]:
    """The form's values as the list's filter, and a message for each value refused. A day is
    the viewer's: from the start of it."""
    errors: dict[str, str] = {}
    if len(values["q"]) > MAX_SEARCH:
        errors["q"] = ngettext("Enter at most %(num)s character.",
                               "Enter at most %(num)s characters.", MAX_SEARCH)
    if values["type"] and values["type"] not in browse.TYPES:
        errors["type"] = _("Choose one of the listed options.")
    if values["tlp"] and values["tlp"] not in {t.value for t in Tlp}:
        errors["tlp"] = _("Choose one of the listed options.")
    after = None
    if values["added_after"]:
        try:
            after = datetime.combine(date.fromisoformat(values["added_after"]), time.min,
                                     tzinfo=i18n.current().tzinfo)
        except ValueError:
            errors["added_after"] = _("Enter a date as YYYY-MM-DD.")
    if errors:
        return browse.ObjectFilter(), errors
    return browse.ObjectFilter(q=values["q"], type=values["type"],
                               tlp=Tlp(values["tlp"]) if values["tlp"] else None,
                               added_after=after), {}


@router.get("/collections/{collection_id}")
def collection_page(request: Request, db: Db, me: SignedIn, collection_id: PublicIdParam,
                    cursor: str | None = None, created: str | None = None) -> Response:
    """A collection's objects (their latest versions), the newest first, with the GET form's
    search and filters."""
    collection = intel.get_collection(db=db, actor=me, collection_id=collection_id)
    values = {name: forms.text(request.query_params, name) for name in FILTERS}
    filters, errors = _filters(values)
    rows: list[dict[str, Any]] = []
    next_cursor = None
    if not errors:
        try:
            rows, next_cursor = browse.objects(db=db, actor=me, collection=collection,
                                               filters=filters, limit=PAGE_SIZE,
                                               cursor=cursor or None)
        except Invalid as exc:
            errors = {"_form": _(exc.detail)}
    query = {k: v for k, v in values.items() if v}
    path = f"/intel/collections/{collection.public_id}"
    return render(request, "intel_collection.html", {
        "collection": intel.collection_out(db, me, collection), "rows": rows,
        "values": values, "errors": errors, "filtered": bool(query), "here": path,
        "types": browse.TYPES, "tlps": CARRIED, "created": created == "1",
        **forms.page_links(path, query, cursor, next_cursor)},
        status=422 if errors else 200)


# --- one object ---------------------------------------------------------------------------------

def _shown(value: Any) -> dict[str, Any]:
    """A field's value for reading: text (cut short), or the ids it refers to, as links."""
    refs = value if isinstance(value, list) else [value]
    if refs and all(isinstance(r, str) and stix.ID.fullmatch(r) for r in refs):
        return {"refs": refs[:50]}
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    text = str(value)
    return {"text": text if len(text) <= FIELD_CHARS else text[:FIELD_CHARS - 1] + "…"}


@router.get("/objects/{stix_id}")
def object_page(request: Request, db: Db, me: SignedIn, stix_id: str,
                version: str | None = None) -> Response:
    """An object as the viewer may see it: its fields, its JSON, its versions and where each
    is held, its relationships, and where else its values were seen."""
    policy.require_some(me, Permission.INTEL_READ)
    if not stix.ID.fullmatch(stix_id):
        raise NotFound(N_("No such object."))
    found = browse.versions(db=db, actor=me, stix_id=stix_id)
    shown = next((v for v in found if v.version == version), found[0])
    body = browse.body_of(db=db, version=shown)
    text, cut = browse.raw(body)
    fields = [(_(label), _shown(body[key])) for key, label in FIELDS.items()
              if key in body and body[key] not in (None, "", [])]
    hits = browse.hits(db=db, actor=me, stix_id=stix_id, body=body)
    return render(request, "intel_object.html", {
        "stix_id": stix_id, "type": body.get("type", ""), "title": browse.title_of(body),
        "shown": shown, "latest": shown is found[0], "versions": found, "fields": fields,
        "raw": text, "cut": cut,
        "related": browse.relationships(db=db, actor=me, stix_id=stix_id, body=body),
        "hits": [{**h, "how": _(HOW.get(h["hit"].how, h["hit"].how))} for h in hits]})


# --- correlation --------------------------------------------------------------------------------

def _correlate_page(request: Request, values: str, errors: dict[str, str],
                    results: list[dict[str, Any]] | None, status: int = 200) -> Response:
    return render(request, "intel_correlate.html", {
        "values": values, "errors": errors, "results": results, "max_values": MAX_VALUES,
        "anchors": {"values": "values"}}, status=status)


@router.get("/correlate")
def correlate_form(request: Request, me: SignedIn) -> Response:
    policy.require_some(me, Permission.INTEL_READ)
    return _correlate_page(request, "", {}, None)


@router.post("/correlate")
def correlate(request: Request, db: Db, me: SignedIn, form: CheckedForm) -> Response:
    """Values pasted one a line (each one's type recognised), and where each was seen, as far
    as the viewer may know. A POST: what is pasted stays out of addresses and logs."""
    policy.require_some(me, Permission.INTEL_READ)
    text = forms.text(form, "values")
    lines = list(dict.fromkeys(v.strip() for v in re.split(r"[\r\n]+", text) if v.strip()))
    if not lines:
        return _correlate_page(request, text, {"values": _(
            "Paste at least one value: an address, a domain, a URL, an e-mail address or a "
            "hash.")}, None, status=422)
    if len(lines) > MAX_VALUES or any(len(v) > 2048 for v in lines):
        return _correlate_page(request, text, {"values": _(
            "Paste at most %(num)s values, each of at most 2,048 characters.",
            num=i18n.format_count(MAX_VALUES))}, None, status=422)
    out = intel.correlate_values(db=db, actor=me, data=CorrelateIn(observables=[
        Observed(type=imports.guess(v), value=v) for v in lines]))
    results = [{"result": r, "error": _("Not a value of a known type.") if r.error else None,
                "hits": [{"hit": h, "how": _(HOW.get(h.how, h.how))} for h in r.hits]}
               for r in out.results]
    return _correlate_page(request, text, {}, results)
