"""From posted forms to service input, and from validation errors to messages beside fields."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlencode

from pydantic import ValidationError
from starlette.datastructures import FormData

from crrt.core.errors import FieldError
from crrt.experts.enums import Skill
from crrt.web.i18n import N_, _

REQUIRED = {
    "org": N_("Choose the nation that nominates the expert."),
    "name": N_("Enter the expert's full name."),
    "email": N_("Enter the expert's email address."),
    "skills": N_("Give at least one skill with its level."),
    "deployability": N_("Choose remote, on site, or both."),
    "starts_on": N_("Enter the first day of the period."),
    "ends_on": N_("Enter the last day of the period."),
}

SHORT = {
    "skills": REQUIRED["skills"],
    "deployability": REQUIRED["deployability"],
    "name": REQUIRED["name"],
}

TYPE_MESSAGES = {
    "int_parsing": N_("Choose one of the listed options."),
    "uuid_parsing": N_("Choose one of the listed options."),
    "enum": N_("Choose one of the listed options."),
    "date_from_datetime_parsing": N_("Enter a date as YYYY-MM-DD."),
    "date_parsing": N_("Enter a date as YYYY-MM-DD."),
}


def text(form: FormData | Mapping[str, Any], name: str) -> str:
    """A form or query value as stripped text ('' when absent or not text)."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def page_links(path: str, query: dict[str, str], cursor: str | None,
               next_cursor: str | None) -> dict[str, str | None]:
    """A list's pager: the first page (when this is a later one) and the next, each with the
    list's filters (the ``pager`` macro draws them)."""
    return {"first_url": f"{path}?{urlencode(query)}" if cursor else None,
            "next_url": f"{path}?{urlencode({**query, 'cursor': next_cursor})}"
            if next_cursor else None}


def _sentence(message: str) -> str:
    message = message.removeprefix("Value error, ")
    if message.startswith("value is not a valid email address"):
        return _("Enter an email address such as name@example.org.")
    message = message[:1].upper() + message[1:]
    # A message of the services or of validation is translated when its catalogue has it.
    return _(message if message.endswith((".", ")")) else message + ".")


def message_for(field: str, kind: str, raw: str) -> str:
    """One validation error of ``field`` (Pydantic's ``kind`` and English ``raw`` words) as a
    form shows it, in the reader's language."""
    if kind == "missing" and field in REQUIRED:
        return _(REQUIRED[field])
    if kind in ("too_short", "string_too_short") and field in SHORT:
        return _(SHORT[field])
    if kind in TYPE_MESSAGES:
        return _(TYPE_MESSAGES[kind])
    return _sentence(raw)


def _across_fields(raw: str) -> tuple[str, str] | None:
    """A schema's check across fields (its message in English), told by the field a person
    would change."""
    if raw.endswith("ends_on must not be before starts_on"):
        return "ends_on", _("The last day must not be before the first day.")
    return None


def _field_of(loc: Iterable[Any]) -> str:
    parts = [p for p in loc if p not in ("body", "query")]
    return str(parts[0]) if parts else "_form"


def messages(errors: ValidationError | Iterable[FieldError]) -> dict[str, str]:
    """One message per field (the first wins), keyed by the form field's name."""
    found: dict[str, str] = {}
    items: list[tuple[Iterable[Any], str, str]]
    if isinstance(errors, ValidationError):
        items = [(e["loc"], e["type"], e["msg"]) for e in errors.errors()]
    else:
        items = [(e.loc, e.type, e.msg) for e in errors]
    for loc, kind, raw in items:
        field = _field_of(loc)
        across = _across_fields(raw)
        if across is not None:
            found.setdefault(*across)
        else:
            found.setdefault(field, message_for(field, kind, raw))
    return found


def left_empty(shown: Mapping[str, Any], names: Iterable[str]) -> dict[str, str]:
    """The message of each required field in ``names`` left empty."""
    return {name: _(REQUIRED[name]) for name in names if not shown.get(name)}


# How a responder is reached beyond mail and phone, and until when their clearance holds.
REACHED_BY = ("messenger", "pgp_fingerprint", "clearance_expires_on")


def nomination(form: FormData) -> tuple[dict[str, Any], dict[str, Any]]:
    """The posted nomination as (data for ``ExpertIn``, values to show again in the form)."""
    skills = {}
    for skill in Skill:
        level = text(form, f"skill.{skill.value}")
        if level:
            skills[skill.value] = level
    languages = [code for code in re.split(r"[\s,;]+", text(form, "languages")) if code]
    deployability = [v for v in form.getlist("deployability") if isinstance(v, str) and v]
    data: dict[str, Any] = {
        "org": text(form, "org"),
        "name": text(form, "name"),
        "skills": [{"skill": skill, "level": level} for skill, level in skills.items()],
        "languages": languages,
        "deployability": deployability,
        "notes": text(form, "notes"),
    }
    for optional in ("institution_id", "email", "phone", "clearance", "time_zone",
                     "user_email", *REACHED_BY):
        value = text(form, optional)
        if value:
            data[optional] = value
    if not data["org"]:
        del data["org"]
    shown = {**{k: text(form, k) for k in ("org", "institution_id", "name", "email", "phone",
                                           "clearance", "time_zone", "notes", "user_email",
                                           "languages", *REACHED_BY)},
             "skills": skills, "deployability": deployability}
    return data, shown


def expert_changes(form: FormData) -> tuple[dict[str, Any], dict[str, Any]]:
    """The posted edit of an expert as (data for ``ExpertPatch``, values to show again).

    Every field the form shows is sent, so one left empty clears what may be cleared (the
    phone, the institution, the notes, the languages); an empty email is left out, for the
    page to ask for it (see :func:`left_empty`); the nation and the linked account are left
    to the page, which sends them only for whom may change them.
    """
    data, shown = nomination(form)
    for not_edited in ("org", "user_email"):
        data.pop(not_edited, None)
    data.setdefault("institution_id", None)
    data.setdefault("phone", None)
    for cleared in REACHED_BY:
        data.setdefault(cleared, None)
    data.setdefault("time_zone", "UTC")
    return data, shown


def period(form: FormData) -> tuple[dict[str, str], dict[str, str]]:
    """The posted unavailability period as (data for ``UnavailabilityIn``, values to show
    again); an empty date is left out, so it is reported as missing."""
    shown = {name: text(form, name) for name in ("starts_on", "ends_on", "reason")}
    return {name: value for name, value in shown.items() if value}, shown
