"""The organisation pages' forms: posted fields to service input, and every refusal (of
validation or of the service) to a translated message beside the field a person would change.

The services word their refusals in English for the API; the pages say the same in the
viewer's language, from what the refusal carries (the field, the date, the nation that leads),
not by reading its English.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from crrt.access.principal import Principal
from crrt.core import clock
from crrt.core.errors import Conflict, FieldError, Invalid, NotFound
from crrt.organisations import service as org_service
from crrt.organisations.enums import OrgKind
from crrt.organisations.schemas import EARLIEST, SLUG
from crrt.web import forms
from crrt.web.i18n import N_, _, format_day

CONTACT_FIELDS = ("hotline", "email", "messenger", "pgp_fingerprint", "default_tlp")
MEMBERSHIP_FIELDS = ("membership", "effective_on", "note")
NEW_FIELDS = ("kind", "code", "name", "membership", "effective_on")
INSTITUTION_FIELDS = ("name", "kind")
NO_MEMBERSHIP = "none"

# What a field holds, said in the viewer's language when a value does not fit it (the
# validators' own words are English, for the API).
EXPLAINED = {
    "name": N_("Enter a name of at most 200 characters, on one line."),
    "code": N_("Enter the code: a nation's two letters (LT, EE), or a lowercase slug for "
               "others (cert-eu)."),
    "hotline": N_("Enter a phone number of 6 to 40 digits, spaces, +, - and brackets, such as "
                  "+370 5 000 0000."),
    "email": N_("Enter an email address such as cert@example.org."),
    "pgp_fingerprint": N_("A PGP key fingerprint is 40 or 64 hexadecimal digits (0-9, A-F); "
                          "spaces between groups are fine."),
    "messenger": N_("Enter the app and the handle on one line, in at most 200 characters."),
    "note": N_("Keep the note to 2,000 characters, without control characters."),
}
MISSING = {
    "name": N_("Enter the organisation's name."),
    "code": N_("Enter the organisation's code."),
    "kind": N_("Choose the kind of organisation."),
    "membership": N_("Choose the change to record."),
}
# The service's fixed words for a refusal, marked here so the pages show them translated.
TAKEN_EFFECT = N_("This change has taken effect; record a new one instead.")
NOT_LAST = N_("Only the last planned change can be cancelled; cancel the later ones first.")
ONLY_NATIONS = N_("Only a nation holds a membership in the project.")


def values(form: FormData, names: tuple[str, ...]) -> dict[str, str]:
    """The posted fields as the form shows them again."""
    return {name: forms.text(form, name) for name in names}


def _day_range() -> str:
    return _("Choose a day from %(first)s to %(last)s.", first=format_day(EARLIEST),
             last=format_day(clock.today() + timedelta(days=366)))


def field_messages(exc: ValidationError) -> dict[str, str]:
    """Validation errors by the form field's name (a card field's too), each in words a person
    can act on, in their language."""
    found: dict[str, str] = {}
    for error in exc.errors():
        loc = [part for part in error["loc"] if part not in ("body", "contact")]
        field = str(loc[0]) if loc else "_form"
        kind = error["type"]
        if kind == "missing" and field in MISSING:
            message = _(MISSING[field])
        elif kind in forms.TYPE_MESSAGES:
            message = _(forms.TYPE_MESSAGES[kind])
        elif field == "effective_on":
            message = _day_range()
        elif field in EXPLAINED:
            message = _(EXPLAINED[field])
        else:
            message = forms.messages([FieldError(loc or ["_form"], error["msg"], kind)])[field]
        found.setdefault(field, message)
    return found


def left_empty(shown: Mapping[str, str], names: tuple[str, ...]) -> dict[str, str]:
    return {name: _(MISSING[name]) for name in names if not shown.get(name)}


def _nation_name(db: Session, me: Principal, code: str) -> str:
    try:
        return org_service.get(db=db, actor=me, code=code).name
    except NotFound:
        return code


def membership_refusal(db: Session, me: Principal, exc: Conflict | Invalid,
                       day: date | None) -> dict[str, str]:
    """A refused membership change (or cancellation) by the field it is about."""
    extra = exc.extra
    if "lead" in extra:
        return {"membership": _(
            "%(nation)s leads the project on %(day)s or later; record its change of role "
            "first.", nation=_nation_name(db, me, str(extra["lead"])),
            day=format_day(day or clock.today()))}
    if "planned_on" in extra:
        return {"effective_on": _(
            "This change is planned from %(day)s already; cancel that planned change to "
            "record another date.", day=format_day(date.fromisoformat(extra["planned_on"])))}
    if "last_on" in extra:
        return {"effective_on": _(
            "A membership change cannot come before the last one (%(day)s); cancel a planned "
            "one first.", day=format_day(date.fromisoformat(extra["last_on"])))}
    if isinstance(exc, Invalid) and exc.errors:
        field = str(exc.errors[0].loc[-1])
        return {field: _(ONLY_NATIONS) if field == "membership" else _(exc.detail)}
    return {"_form": _(exc.detail)}


def new_organisation(form: FormData) -> tuple[dict[str, Any], dict[str, str]]:
    """The posted new organisation as (data for ``OrganisationIn``, values to show again).

    A nation's code is taken in capitals and another's in small letters, as each is written,
    whichever way it was typed."""
    shown = values(form, NEW_FIELDS)
    code = shown["code"]
    code = code.upper() if shown["kind"] == OrgKind.NATION.value else code.lower()
    data: dict[str, Any] = {"code": code, "name": shown["name"], "kind": shown["kind"]}
    if shown["membership"] and shown["membership"] != NO_MEMBERSHIP:
        data["membership"] = shown["membership"]
    if shown["effective_on"]:
        data["effective_on"] = shown["effective_on"]
    return {k: v for k, v in data.items() if v}, shown


def creation_messages(exc: ValidationError, shown: Mapping[str, str]) -> dict[str, str]:
    """Validation errors of a new organisation; the checks across fields (the code against the
    kind, a membership for a nation only) told by the field a person would change."""
    found = field_messages(exc)
    if "_form" in found:
        del found["_form"]
        kind = shown.get("kind")
        if kind == OrgKind.NATION.value:
            found.setdefault("code", _("'%(code)s' is not a country's two-letter code "
                                       "(ISO 3166-1), such as LT or EE.",
                                       code=shown.get("code", "").upper()))
        elif not SLUG.match(shown.get("code", "").lower()):
            found.setdefault("code", _("The code of an EU institution or a partner is a "
                                       "lowercase slug of letters, digits and hyphens, such as "
                                       "cert-eu."))
        else:
            found.setdefault("membership", _(ONLY_NATIONS))
    return found
